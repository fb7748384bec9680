// The apiextensions controllers: accepts a CRD's names (NamesAccepted), establishes it
// (Established) and serves its resource, and on deletion removes every custom resource
// before it lets the CRD go (the customresourcecleanup finalizer).
import { APISERVER_USER } from "../admission/user-info.js";
import {
  CRD_CLEANUP_FINALIZER,
  crdCondition,
  customResourceTypeOf,
  requestedNames,
  setCrdCondition,
} from "../api/crd.js";
import type { ResourceType } from "../api/resource-type.js";
import type { JsonObject } from "../json.js";
import { clone, deepEqual, isObject } from "../json.js";
import { metaOf } from "../objects.js";
import type { ApiContext } from "../rest/scope.js";
import type { GenericStore } from "../rest/store.js";
import type { ResourceStore } from "../storage/resource-store.js";
import { rfc3339 } from "../time.js";
import { ReconcileQueue, systemScope, systemWriteOptions } from "./reconcile-queue.js";

const CRD_STORE = "apiextensions.k8s.io/customresourcedefinitions";
const MANAGER = "kube-apiserver";

export class CrdController {
  private readonly queue = new ReconcileQueue((name) => this.reconcile(name));
  private readonly crdType: ResourceType;
  /** The CRD generation each served resource type was made from. */
  private readonly served = new Map<string, number>();

  constructor(
    private readonly ctx: ApiContext,
    private readonly store: GenericStore,
  ) {
    this.crdType = ctx.registry.typeForStore(CRD_STORE)!;
    ctx.storage.onCommit((changed, event) => {
      if (changed.id === CRD_STORE) {
        this.queue.add(event.object.name);
        return;
      }
      const type = ctx.registry.typeForStore(changed.id);
      if (type?.crdName !== undefined) this.queue.add(type.crdName);
    });
  }

  /** Serves every stored CRD at once (start-up with restored state). */
  serveAll(): void {
    for (const stored of this.crdStore().scan()) this.serve(stored.object);
    for (const stored of this.crdStore().scan()) this.queue.add(stored.name);
  }

  stop(): void {
    this.queue.stop();
  }

  private crdStore(): ResourceStore {
    return this.ctx.storage.store(CRD_STORE, false);
  }

  private reconcile(name: string): void {
    const live = this.crdStore().get(name);
    if (!live) {
      this.unserve(name);
      return;
    }
    const crd = live.object;
    if (metaOf(crd).deletionTimestamp) {
      this.cleanUp(crd);
      return;
    }
    const now = rfc3339(this.ctx.now());
    const next = clone(crd);
    const conflict = this.namesConflict(crd);
    if (conflict) {
      setCrdCondition(
        next,
        { type: "NamesAccepted", status: "False", reason: conflict.reason, message: conflict.message },
        now,
      );
    } else if (
      crdCondition(crd, "NamesAccepted")?.status !== "True" ||
      !deepEqual(statusOf(crd).acceptedNames, requestedNames(crd))
    ) {
      statusOf(next).acceptedNames = requestedNames(crd);
      setCrdCondition(
        next,
        { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found" },
        now,
      );
    } else if (crdCondition(crd, "Established")?.status !== "True") {
      setCrdCondition(
        next,
        {
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
        },
        now,
      );
    }
    if (crdCondition(next, "Established")?.status === "True") this.serve(next);
    if (!deepEqual(next, crd)) {
      this.store.finishUpdate(
        systemScope(this.ctx, this.crdType, "", "status"),
        systemWriteOptions(MANAGER, APISERVER_USER),
        live,
        next,
        "update",
      );
    }
  }

  /** Another CRD already serves the plural or kind in this group. */
  private namesConflict(crd: JsonObject): { reason: string; message: string } | undefined {
    const names = requestedNames(crd);
    const group = String((crd.spec as JsonObject).group ?? "");
    const name = metaOf(crd).name;
    for (const type of this.ctx.registry.all()) {
      if (type.group !== group || type.crdName === name) continue;
      if (type.resource === names.plural) {
        return { reason: "PluralConflict", message: `"${String(names.plural)}" is already in use` };
      }
      if (type.kind === names.kind)
        return { reason: "KindConflict", message: `"${String(names.kind)}" is already in use` };
    }
    return undefined;
  }

  private serve(crd: JsonObject): void {
    if (crdCondition(crd, "Established")?.status !== "True") return;
    const meta = metaOf(crd);
    if (this.served.get(meta.name!) === meta.generation) return;
    const type = customResourceTypeOf(crd);
    const existing = this.ctx.registry.get(type.group, type.resource);
    if (existing && existing.crdName !== type.crdName) return;
    for (const old of this.ctx.registry.all()) {
      if (old.crdName === meta.name && old.resource !== type.resource)
        this.ctx.registry.remove(old.group, old.resource);
    }
    this.served.set(meta.name!, meta.generation ?? 0);
    this.ctx.registry.set(type);
    this.ctx.storage.store(type.storeId, type.namespaced);
  }

  private unserve(name: string): void {
    this.served.delete(name);
    for (const type of this.ctx.registry.all()) {
      if (type.crdName !== name) continue;
      this.ctx.registry.remove(type.group, type.resource);
      this.ctx.storage.removeStore(type.storeId);
    }
  }

  /** Deletes the custom resources (their own finalizers still hold them), then the CRD's finalizer. */
  private cleanUp(crd: JsonObject): void {
    const name = metaOf(crd).name!;
    const type = this.ctx.registry.all().find((t) => t.crdName === name);
    const store = type && this.ctx.storage.existingStore(type.storeId);
    if (type && store && store.size > 0) {
      for (const stored of [...store.scan()]) {
        if (metaOf(stored.object).deletionTimestamp) continue;
        this.store.delete(
          systemScope(this.ctx, type, stored.namespace),
          systemWriteOptions(MANAGER, APISERVER_USER),
          stored.name,
          {},
        );
      }
      if (store.size > 0) return;
    }
    const live = this.crdStore().get(name)!;
    const finalizers = metaOf(live.object).finalizers ?? [];
    if (!finalizers.includes(CRD_CLEANUP_FINALIZER)) return;
    const next = clone(live.object);
    metaOf(next).finalizers = finalizers.filter((f) => f !== CRD_CLEANUP_FINALIZER);
    this.store.finishUpdate(
      systemScope(this.ctx, this.crdType, ""),
      systemWriteOptions(MANAGER, APISERVER_USER),
      live,
      next,
      "update",
    );
  }
}

function statusOf(crd: JsonObject): JsonObject {
  if (!isObject(crd.status)) crd.status = {};
  return crd.status as JsonObject;
}
