// The planner of a UserAssignedIdentity: from the declared spec, what Azure looks like and the
// previous status, the next actions and the status they imply. Pure. The identity resource,
// its federated credentials, attachments and grants are planned in modules of their own.
import { armIdKey, userAssignedIdentityId } from "../api/arm-id.js";
import { ConditionType, Reason } from "../api/conditions.js";
import type {
  UserAssignedIdentity,
  UserAssignedIdentityStatus,
} from "../api/schemas/user-assigned-identity.js";
import { type AttachmentOutcome, Attachments } from "./attachments.js";
import * as build from "./build.js";
import {
  itemsCondition,
  type PlannedCondition,
  policyCondition,
  readyCondition,
  statusEntry,
  summaryCondition,
  type TenantMismatch,
  tenantCondition,
} from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import { planFederatedCredentials } from "./federated-credentials.js";
import { type DeclaredGrants, planDeclaredGrants, planGrantRemoval } from "./grants.js";
import { unsupportedTargetReason } from "./identity-block.js";
import { identityFields, managedTags, planIdentityResource } from "./identity-resource.js";
import { planKeyVaultAccess, planKeyVaultRemoval } from "./key-vault-access.js";
import type { ObservedIdentity, ObservedState } from "./observed.js";
import type { PlanContext, PlanResult } from "./plan-types.js";
import { PlanFrame, policyNotices, tenantMismatch, type WriteGate } from "./skeleton.js";
import { desiredCredentials } from "./workload-credentials.js";

type Status = UserAssignedIdentityStatus;
/** An identity this resource made before a change of resource group or name, and what Azure has of it. */
type Earlier = { id: string; identity: ObservedIdentity | null | undefined };

export function planUserAssignedIdentity(
  resource: UserAssignedIdentity,
  observed: ObservedState,
  context: PlanContext,
): PlanResult<Status> {
  return new UserAssignedPlanner(resource, observed, context).plan();
}

class UserAssignedPlanner {
  readonly frame: PlanFrame<UserAssignedIdentity>;
  readonly identityId: string;
  readonly observeOnly: boolean;
  readonly attachments: Attachments;

  constructor(
    readonly resource: UserAssignedIdentity,
    observed: ObservedState,
    readonly context: PlanContext,
  ) {
    const { metadata, spec } = resource;
    this.frame = new PlanFrame(resource, observed, context);
    this.identityId = userAssignedIdentityId(
      spec.subscriptionId,
      spec.resourceGroup,
      spec.name ?? metadata.name,
    );
    this.observeOnly = spec.managementPolicy === "ObserveOnly";
    this.attachments = new Attachments(this.frame, this.observeOnly);
  }

  plan(): PlanResult<Status> {
    const { spec } = this.resource;
    const { frame } = this;
    const stopped = frame.open({ orphans: spec.deletionPolicy === "Orphan" || this.observeOnly });
    if (stopped) return stopped;
    const subscription = frame.obs.subscription(spec.subscriptionId);
    const identity = frame.obs.identity(this.identityId);
    const earlier = this.earlierIdentityIds().map((id) => ({ id, identity: frame.obs.identity(id) }));
    const mismatch =
      subscription && identity
        ? tenantMismatch({
            subscriptionTenantId: subscription.tenantId,
            principalTenantId: identity.tenantId,
            principalId: identity.principalId,
            previous: frame.prev,
          })
        : undefined;
    if (mismatch) frame.noticeTenantMove(mismatch, spec.subscriptionId);
    if (frame.deleting) return this.planDeletion(identity, earlier, mismatch !== undefined);
    const unknown = frame.unknownRoles(spec.roleAssignments, this.context.customRoles);
    if (unknown) return unknown;
    if (mismatch && this.context.allowTenantRepair && !this.observeOnly) {
      return this.planRepair(identity as ObservedIdentity, mismatch);
    }
    return this.planConverge(subscription !== undefined, identity, earlier, mismatch);
  }

  /** Identities this resource made before a change of resource group or name, still to delete. */
  earlierIdentityIds(): string[] {
    if (this.observeOnly) return [];
    const { prev } = this.frame;
    const ids = [...(prev.previousIdentities ?? []).map((p) => p.resourceId)];
    if (prev.resourceId) ids.push(prev.resourceId);
    const unique = new Map<string, string>();
    for (const id of ids) if (armIdKey(id) !== armIdKey(this.identityId)) unique.set(armIdKey(id), id);
    return [...unique.values()];
  }

  planDeletion(
    identity: ObservedIdentity | null | undefined,
    earlier: Earlier[],
    tenantMoved: boolean,
  ): PlanResult<Status> {
    const { frame } = this;
    const { prev } = frame;
    // After a tenant move the old principal's grants are gone (role assignments) or out of reach
    // (Graph, in the old tenant): only detaching and deleting are left to do.
    const principal = identity ? { id: identity.principalId, tenantId: identity.tenantId } : undefined;
    const grants = tenantMoved
      ? planGrantRemoval(frame.obs, undefined, {}, this.context.customRoles)
      : planGrantRemoval(frame.obs, principal, prev, this.context.customRoles);
    frame.writes.push(...grants.writes);
    // Access-policy entries name the principal by object id: removed before the identity goes,
    // or they would stay on the vault as unknown entries (counting against its 1024).
    const vaults = tenantMoved ? [] : planKeyVaultRemoval(frame, { writable: true, blockedBecause: "" });
    const grantsLeft = grants.roleAssignments.length + grants.graphAppRoles.length + vaults.length;
    let remaining = 0;
    let adoptedKept = false;
    for (const { id, identity: current } of [{ id: this.identityId, identity }, ...earlier]) {
      if (current === null) continue;
      // An identity azid found rather than made is left in Azure: only what azid made goes.
      const adopted = id === this.identityId && !prev.identityOwned;
      if (!adopted) remaining++;
      if (current === undefined) continue;
      const attachedSomewhere = this.attachments.detachEverywhere(id, "teardown");
      if (adopted) {
        if (attachedSomewhere > 0) remaining++;
        adoptedKept = true;
        continue;
      }
      if (attachedSomewhere === 0 && grantsLeft === 0)
        frame.tryWrite(build.deleteIdentity(frame.owner, id, "teardown"));
    }
    if (adoptedKept && remaining === 0 && grantsLeft === 0) {
      frame.notices.push({
        type: "Normal",
        reason: Reason.Deleting,
        message: `identity ${this.identityId} stays in Azure: azid adopted it and did not create it`,
      });
    }
    const message =
      remaining === 0
        ? "everything azid made in Azure is gone"
        : "detaching, revoking owned grants, then deleting the identity";
    const status: Status = {
      ...prev,
      roleAssignments: grants.roleAssignments.map(statusEntry),
      graphAppRoles: grants.graphAppRoles.map(statusEntry),
      keyVaultAccessPolicies: vaults.map(statusEntry),
    };
    const failure = frame.obs.failures[0] ?? Object.values(frame.obs.observed.failures)[0];
    const ready = failure
      ? readyCondition("False", reasonForFailure(failure), `${message}; ${describeFailure(failure)}`)
      : readyCondition("False", Reason.Deleting, message);
    return frame.finish(status, [ready], remaining === 0 && grantsLeft === 0);
  }

  /** The tenant moved and repair is allowed: detach everywhere and delete; the next plans re-create. */
  planRepair(identity: ObservedIdentity, mismatch: TenantMismatch): PlanResult<Status> {
    const { frame } = this;
    const left = this.attachments.detachEverywhere(this.identityId, "teardown");
    if (left === 0) frame.tryWrite(build.deleteIdentity(frame.owner, this.identityId, "teardown"));
    const message = `repairing after the move to tenant ${mismatch.to}: the identity is deleted and re-created`;
    return frame.finish({ ...frame.prev, resourceId: identity.id }, [
      readyCondition("False", Reason.Repairing, message),
      { type: ConditionType.IdentityReady, status: "False", reason: Reason.Repairing, message },
      tenantCondition(mismatch),
      policyCondition(this.context.policy),
    ]);
  }

  planConverge(
    subscriptionKnown: boolean,
    identity: ObservedIdentity | null | undefined,
    earlier: Earlier[],
    mismatch: TenantMismatch | undefined,
  ): PlanResult<Status> {
    const { spec } = this.resource;
    const { frame, observeOnly } = this;
    const policy = this.context.policy;
    // A target that can never carry an identity makes the whole spec impossible: nothing is
    // written (not even the identity) until it is removed, as for a SystemAssignedIdentity.
    const impossible = (spec.attachTo ?? []).find((id) => unsupportedTargetReason(id) !== undefined);
    const gate: WriteGate = {
      writable: !observeOnly && subscriptionKnown && policy.allowed && !mismatch && !impossible,
      blockedBecause: mismatch
        ? `the subscription moved to tenant ${mismatch.to}: the repair waits for approval`
        : !policy.allowed
          ? "an IdentityPolicy refuses part of this resource"
          : impossible
            ? `attachTo names ${impossible}, which cannot carry a managed identity: nothing is written until it is removed`
            : "reading the subscription",
    };

    const identityOutcome = planIdentityResource(frame, this.identityId, identity, observeOnly, gate);
    const identityComing = identityOutcome.state === "Pending";
    const desired = desiredCredentials(this.resource, this.context.serviceAccountIssuer, policy);
    const credentials = planFederatedCredentials(frame, identity, observeOnly, gate, desired);
    const attachments = this.attachments.plan(identity, gate, identityComing);
    const declared: DeclaredGrants = {
      obs: frame.obs,
      principal:
        identity && !mismatch ? { id: identity.principalId, tenantId: identity.tenantId } : undefined,
      spec,
      previous: frame.prev,
      customRoles: this.context.customRoles,
      policy,
      observeOnly,
      gate,
    };
    const grantsWith = (cleanupEarlierPrincipals: boolean) =>
      planDeclaredGrants(declared, cleanupEarlierPrincipals);
    const grants = grantsWith(false);
    const vaults = planKeyVaultAccess({
      frame,
      principal:
        identity && !mismatch ? { id: identity.principalId, tenantId: identity.tenantId } : undefined,
      observeOnly,
      gate,
      repair: this.context.allowTenantRepair,
    });
    const convergedHere =
      identityOutcome.state === "Ready" &&
      credentials.every((c) => c.state === "Ready") &&
      attachments.every((a) => a.state === "Ready") &&
      grants.converged;
    // Grants of earlier principals and earlier identities go only once the new one is complete.
    const cleanup = convergedHere ? grantsWith(true) : grants;
    frame.writes.push(...cleanup.writes);
    const earlierLeft = this.retireEarlier(
      earlier,
      convergedHere && gate.writable,
      cleanup.earlierPrincipalsLeft,
    );

    const creating = frame.writes.some(
      (action) =>
        action.kind === "CreateIdentity" && armIdKey(action.identityId) === armIdKey(this.identityId),
    );
    const status: Status = {
      observedGeneration: this.resource.metadata.generation,
      ...identityFields(frame.prev, this.identityId, identity, identityComing && !observeOnly, mismatch),
      ...(frame.prev.identityOwned || creating ? { identityOwned: true } : {}),
      roleAssignments: cleanup.roleAssignments.map(statusEntry),
      federatedCredentials: credentials.map(statusEntry),
      attachments: attachments.map(statusEntry),
      graphAppRoles: cleanup.graphAppRoles.map(statusEntry),
      keyVaultAccessPolicies: vaults.map(statusEntry),
      managedTags: managedTags(this.resource, identity),
      ...(earlierLeft.length > 0 ? { previousIdentities: earlierLeft } : {}),
    };
    const details: PlannedCondition[] = [
      {
        type: ConditionType.IdentityReady,
        status: identityOutcome.state === "Ready" ? "True" : "False",
        reason: identityOutcome.reason,
        message: identityOutcome.message ?? "as declared",
      },
      itemsCondition(ConditionType.CredentialsReady, credentials, "federated credentials"),
      itemsCondition(ConditionType.RolesGranted, cleanup.roleAssignments, "role assignments"),
      attachedCondition(attachments),
      itemsCondition(ConditionType.GraphRolesGranted, cleanup.graphAppRoles, "Graph app roles"),
      itemsCondition(ConditionType.KeyVaultAccessGranted, vaults, "Key Vault access grants"),
    ];
    const ready =
      impossible && policy.allowed && !mismatch
        ? readyCondition(
            "False",
            Reason.UnsupportedTarget,
            `${unsupportedTargetReason(impossible)}: nothing is written to Azure while attachTo names ${impossible}`,
          )
        : summaryCondition({
            details,
            writes: frame.writes.length,
            policy,
            mismatch,
            observeOnly,
            readFailures: frame.obs.failures,
            extraPending: earlierLeft.length > 0 ? "deleting the identity this one replaces" : undefined,
          });
    frame.notices.push(...policyNotices(policy));
    return frame.finish(status, [ready, ...details, tenantCondition(mismatch), policyCondition(policy)]);
  }

  /** Detach and delete identities this resource replaced; returns those still there. */
  retireEarlier(earlier: Earlier[], allowed: boolean, earlierGrantsLeft: number) {
    const left: Array<{ resourceId: string; principalId?: string }> = [];
    for (const { id, identity } of earlier) {
      if (identity === null) continue;
      left.push({ resourceId: id, ...(identity?.principalId ? { principalId: identity.principalId } : {}) });
      if (!allowed || identity === undefined) continue;
      const attached = this.attachments.detachEverywhere(id, "cleanup");
      if (attached === 0 && earlierGrantsLeft === 0) {
        this.frame.tryWrite(build.deleteIdentity(this.frame.owner, id, "cleanup"));
      }
    }
    return left;
  }
}

/** Attached, with the warning that a target has no default identity any more when all is attached. */
function attachedCondition(attachments: readonly AttachmentOutcome[]): PlannedCondition {
  const condition = itemsCondition(ConditionType.Attached, attachments, "attachments");
  const noDefault = attachments.find((a) => a.reason === Reason.NoDefaultIdentity);
  if (condition.status !== "True" || !noDefault) return condition;
  return { ...condition, reason: Reason.NoDefaultIdentity, message: noDefault.message as string };
}
