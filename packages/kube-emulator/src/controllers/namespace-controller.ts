// The namespace controller: once a namespace is deleting, it deletes everything in it
// (objects with finalizers stay until those are removed), then removes the namespace's
// "kubernetes" finalizer, which lets the namespace go.
import { serviceAccountUser } from "../admission/user-info.js";
import type { ResourceType } from "../api/resource-type.js";
import { clone, isObject } from "../json.js";
import { metaOf } from "../objects.js";
import type { ApiContext } from "../rest/scope.js";
import type { GenericStore } from "../rest/store.js";
import { ReconcileQueue, systemScope, systemWriteOptions } from "./reconcile-queue.js";

const NAMESPACE_STORE = "/namespaces";
const MANAGER = "kube-controller-manager";
const NAMESPACE_CONTROLLER = serviceAccountUser("kube-system", "namespace-controller");

export class NamespaceController {
  private readonly queue = new ReconcileQueue((name) => this.reconcile(name));
  private readonly namespaceType: ResourceType;

  constructor(
    private readonly ctx: ApiContext,
    private readonly store: GenericStore,
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
  }

  private terminating(namespace: string): boolean {
    const ns = this.ctx.storage.store(NAMESPACE_STORE, false).get(namespace);
    return ns !== undefined && metaOf(ns.object).deletionTimestamp !== undefined;
  }

  private reconcile(name: string): void {
    const live = this.ctx.storage.store(NAMESPACE_STORE, false).get(name);
    if (!live || !metaOf(live.object).deletionTimestamp) return;
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
    if (this.hasContent(name)) return;
    const next = clone(live.object);
    if (isObject(next.spec)) next.spec.finalizers = [];
    this.store.finishUpdate(
      systemScope(this.ctx, this.namespaceType, "", "finalize"),
      systemWriteOptions(MANAGER, NAMESPACE_CONTROLLER),
      live,
      next,
      "update",
    );
  }

  private hasContent(namespace: string): boolean {
    return this.ctx.storage
      .allStores()
      .some((store) => store.namespaced && store.namespaceSize(namespace) > 0);
  }
}
