// kube-controller-manager's validatingadmissionpolicy-status controller: when a
// ValidatingAdmissionPolicy's generation moves past status.observedGeneration, it type-checks the
// policy and applies status.observedGeneration and status.typeChecking (server-side apply, forced).

import { POLICY_STORE, type ValidatingAdmissionPolicy } from "../admission/policy-types.js";
import { typeCheckPolicy } from "../admission/type-checking.js";
import { serviceAccountUser } from "../admission/user-info.js";
import type { ResourceType } from "../api/resource-type.js";
import { APPLY_PATCH, patch } from "../rest/patch.js";
import type { ApiContext } from "../rest/scope.js";
import type { GenericStore } from "../rest/store.js";
import { ReconcileQueue, systemScope, systemWriteOptions } from "./reconcile-queue.js";

const MANAGER = "validatingadmissionpolicy-status-controller";
const USER = serviceAccountUser("kube-system", MANAGER);

export class PolicyStatusController {
  private readonly queue = new ReconcileQueue((name) => this.reconcile(name));
  private readonly policyType: ResourceType;

  constructor(
    private readonly ctx: ApiContext,
    private readonly store: GenericStore,
  ) {
    this.policyType = ctx.registry.typeForStore(POLICY_STORE)!;
    ctx.storage.onCommit((changed, event) => {
      if (changed.id === POLICY_STORE && event.type !== "DELETED") this.queue.add(event.object.name);
    });
  }

  /** Checks the policies whose status is behind (start-up with restored state). */
  resumeAll(): void {
    for (const stored of this.ctx.storage.store(POLICY_STORE, false).scan()) this.queue.add(stored.name);
  }

  stop(): void {
    this.queue.stop();
  }

  private reconcile(name: string): void {
    const live = this.ctx.storage.store(POLICY_STORE, false).get(name);
    if (!live) return;
    const policy = live.object as unknown as ValidatingAdmissionPolicy;
    const generation = policy.metadata.generation ?? 0;
    if (generation <= (policy.status?.observedGeneration ?? 0)) return;
    const expressionWarnings = typeCheckPolicy(this.ctx.registry, policy.spec);
    const status = {
      observedGeneration: generation,
      typeChecking: expressionWarnings.length > 0 ? { expressionWarnings } : {},
    };
    const body = JSON.stringify({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name },
      status,
    });
    patch(
      this.store,
      systemScope(this.ctx, this.policyType, "", "status"),
      systemWriteOptions(MANAGER, USER),
      name,
      {
        contentType: APPLY_PATCH,
        body,
        force: true,
        fieldManagerGiven: true,
      },
    );
  }
}
