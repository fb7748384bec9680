// The namespace controller: once a namespace is deleting, it deletes everything in it
// (objects with finalizers stay until those are removed), then removes the namespace's
// "kubernetes" finalizer, which lets the namespace go.
import { serviceAccountUser } from "../admission/user-info.js";
import type { ResourceType } from "../api/resource-type.js";
import { clone, deepEqual, isObject } from "../json.js";
import { metaOf } from "../objects.js";
import type { ApiContext } from "../rest/scope.js";
import type { GenericStore } from "../rest/store.js";
import { rfc3339 } from "../time.js";
import { namespaceConditions, type RemainingContent } from "./namespace-conditions.js";
import { ReconcileQueue, systemScope, systemWriteOptions } from "./reconcile-queue.js";

const NAMESPACE_STORE = "/namespaces";
const MANAGER = "kube-controller-manager";
const NAMESPACE_CONTROLLER = serviceAccountUser("kube-system", "namespace-controller");

export class NamespaceController {
  private readonly queue = new ReconcileQueue((name) => this.reconcile(name));
  private readonly namespaceType: ResourceType;
  /** When this controller first saw each namespace deleting (the Terminating window starts). */
  private readonly terminatingSince = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  /**
   * @param terminatingMs the least time a deleted namespace stays Terminating: a real namespace
   *   controller takes at least a discovery round and a list per resource, and clients (kubectl
   *   wait, test harnesses, controllers refusing writes with NamespaceTerminating) meet that window.
   */
  constructor(
    private readonly ctx: ApiContext,
    private readonly store: GenericStore,
    private readonly terminatingMs = 0,
  ) {
    this.namespaceType = ctx.registry.typeForStore(NAMESPACE_STORE)!;
    ctx.storage.onCommit((changed, event) => {
      if (changed.id === NAMESPACE_STORE) {
        if (metaOf(event.object.object).deletionTimestamp) this.queue.add(event.object.name);
      } else if (changed.namespaced && this.terminating(event.object.namespace)) {
        this.queue.add(event.object.namespace);
      }
    });
  }

  /** Resumes deleting the namespaces that were terminating (start-up with restored state). */
  resumeAll(): void {
    for (const stored of this.ctx.storage.store(NAMESPACE_STORE, false).scan()) {
      if (metaOf(stored.object).deletionTimestamp) this.queue.add(stored.name);
    }
  }

  stop(): void {
    this.queue.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private terminating(namespace: string): boolean {
    const ns = this.ctx.storage.store(NAMESPACE_STORE, false).get(namespace);
    return ns !== undefined && metaOf(ns.object).deletionTimestamp !== undefined;
  }

  private reconcile(name: string): void {
    const live = this.ctx.storage.store(NAMESPACE_STORE, false).get(name);
    if (!live || !metaOf(live.object).deletionTimestamp) {
      this.terminatingSince.delete(name);
      return;
    }
    for (const store of this.ctx.storage.allStores()) {
      if (!store.namespaced) continue;
      const type = this.ctx.registry.typeForStore(store.id);
      if (!type) continue;
      for (const stored of [...store.scan(name)]) {
        if (metaOf(stored.object).deletionTimestamp) continue;
        this.store.delete(
          systemScope(this.ctx, type, name),
          systemWriteOptions(MANAGER, NAMESPACE_CONTROLLER),
          stored.name,
          {},
        );
      }
    }
    this.reportConditions(name);
    if (this.hasContent(name)) return;
    if (this.stillInWindow(name)) return;
    this.terminatingSince.delete(name);
    // The conditions just written changed the namespace: finalize its current state.
    const current = this.ctx.storage.store(NAMESPACE_STORE, false).get(name) ?? live;
    const next = clone(current.object);
    if (isObject(next.spec)) next.spec.finalizers = [];
    this.store.finishUpdate(
      systemScope(this.ctx, this.namespaceType, "", "finalize"),
      systemWriteOptions(MANAGER, NAMESPACE_CONTROLLER),
      current,
      next,
      "update",
    );
  }

  /** Writes the Terminating namespace's conditions (what remains, which finalizers hold it) when they change. */
  private reportConditions(name: string): void {
    const live = this.ctx.storage.store(NAMESPACE_STORE, false).get(name);
    if (!live) return;
    const remaining: RemainingContent = { resources: new Map(), finalizers: new Map() };
    for (const store of this.ctx.storage.allStores()) {
      if (!store.namespaced || store.namespaceSize(name) === 0) continue;
      const type = this.ctx.registry.typeForStore(store.id);
      const resource = type ? (type.group ? `${type.resource}.${type.group}` : type.resource) : store.id;
      remaining.resources.set(resource, store.namespaceSize(name));
      for (const stored of store.scan(name)) {
        for (const finalizer of metaOf(stored.object).finalizers ?? []) {
          remaining.finalizers.set(finalizer, (remaining.finalizers.get(finalizer) ?? 0) + 1);
        }
      }
    }
    const status = isObject(live.object.status) ? live.object.status : {};
    const previous = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
    const conditions = namespaceConditions(remaining, previous, rfc3339(this.ctx.now()));
    if (deepEqual(conditions, previous)) return;
    const next = clone(live.object);
    next.status = { ...status, conditions };
    this.store.finishUpdate(
      systemScope(this.ctx, this.namespaceType, "", "status"),
      systemWriteOptions(MANAGER, NAMESPACE_CONTROLLER),
      live,
      next,
      "update",
    );
  }

  /** True (and a later reconcile scheduled) while the namespace's least Terminating time has not passed. */
  private stillInWindow(name: string): boolean {
    const now = Date.now();
    const since = this.terminatingSince.get(name) ?? now;
    this.terminatingSince.set(name, since);
    const left = since + this.terminatingMs - now;
    if (left <= 0) return false;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queue.add(name);
    }, left);
    this.timers.add(timer);
    return true;
  }

  private hasContent(namespace: string): boolean {
    return this.ctx.storage
      .allStores()
      .some((store) => store.namespaced && store.namespaceSize(namespace) > 0);
  }
}
