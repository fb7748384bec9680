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
    if (this.hasContent(name)) return;
    if (this.stillInWindow(name)) return;
    this.terminatingSince.delete(name);
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
