// The planner of a SystemAssignedIdentity: turn the resource's system-assigned identity on
// (keeping its user-assigned identities), grant roles and Graph app roles to its principal,
// and on deletion revoke what azid granted and turn it off only if azid turned it on.
import { sameId } from "../api/arm-id.js";
import { ConditionType, Reason } from "../api/conditions.js";
import type {
  SystemAssignedIdentity,
  SystemAssignedIdentityStatus,
} from "../api/schemas/system-assigned-identity.js";
import type { PatchResourceIdentity } from "./actions.js";
import * as build from "./build.js";
import { subscriptionOfId } from "./build.js";
import {
  type ItemOutcome,
  itemsCondition,
  type PlannedCondition,
  policyCondition,
  readyCondition,
  statusEntry,
  summaryCondition,
  tenantCondition,
} from "./conditions.js";
import { type DeclaredGrants, planDeclaredGrants, planGrantRemoval } from "./grants.js";
import {
  disableSystemChange,
  enableSystemChange,
  hasSystemAssigned,
  type IdentityChange,
  unsupportedTargetReason,
} from "./identity-block.js";
import { planKeyVaultAccess, planKeyVaultRemoval } from "./key-vault-access.js";
import type { ObservedState, ResourceIdentity } from "./observed.js";
import type { PlanContext, PlanResult } from "./plan-types.js";
import { PlanFrame, policyNotices, tenantMismatch, type WriteGate } from "./skeleton.js";

type Status = SystemAssignedIdentityStatus;

export function planSystemAssignedIdentity(
  resource: SystemAssignedIdentity,
  observed: ObservedState,
  context: PlanContext,
): PlanResult<Status> {
  const { spec } = resource;
  const observeOnly = spec.managementPolicy === "ObserveOnly";
  const frame = new PlanFrame(resource, observed, context);
  const stopped = frame.open({ orphans: spec.deletionPolicy === "Orphan" || observeOnly });
  if (stopped) return stopped;
  const { obs, prev, writes, deleting } = frame;
  const policy = context.policy;
  frame.notices.push(...policyNotices(policy));

  /** Only a Ready condition; when deleting, nothing more is to be done in Azure. */
  const readyOnly = (reason: Reason, message: string) =>
    frame.finish({ ...prev }, [readyCondition("False", reason, message), policyCondition(policy)], deleting);
  const unsupported = unsupportedTargetReason(spec.resourceId);
  if (unsupported) return readyOnly(Reason.UnsupportedTarget, unsupported);

  const subscription = obs.subscription(subscriptionOfId(spec.resourceId) as string);
  const target = obs.target(spec.resourceId);
  if (target === undefined) {
    // The read failed (azid's credential refused after a tenant move, a permission): say why.
    const reading: PlannedCondition =
      obs.failures.length > 0
        ? summaryCondition({
            details: [],
            writes: 0,
            policy,
            mismatch: undefined,
            observeOnly,
            readFailures: obs.failures,
          })
        : readyCondition("Unknown", Reason.Progressing, "reading the resource");
    return frame.finish({ ...prev }, [reading, policyCondition(policy)]);
  }
  if (target.state === "absent") {
    return deleting
      ? readyOnly(Reason.Deleting, "the resource is gone")
      : readyOnly(Reason.TargetNotFound, `${spec.resourceId} does not exist`);
  }
  if (target.state === "unsupported") return readyOnly(Reason.UnsupportedTarget, target.reason);

  const identity: ResourceIdentity | undefined = target.identity;
  const enabled = hasSystemAssigned(identity) && identity?.principalId !== undefined;
  const principal = enabled
    ? { id: identity?.principalId as string, tenantId: identity?.tenantId ?? subscription?.tenantId ?? "" }
    : undefined;
  const mismatch =
    subscription && principal
      ? tenantMismatch({
          subscriptionTenantId: subscription.tenantId,
          principalTenantId: identity?.tenantId,
          principalId: principal.id,
          previous: prev,
        })
      : undefined;
  if (mismatch) frame.noticeTenantMove(mismatch);
  const patch = (change: IdentityChange, what: string, phase: PatchResourceIdentity["phase"]) =>
    build.patchResourceIdentity(
      frame.owner,
      spec.resourceId,
      what,
      change.identity,
      change.expected,
      phase,
      change.intent,
    );

  if (!deleting) {
    const unknown = frame.unknownRoles(spec.roleAssignments, context.customRoles);
    if (unknown) return unknown;
  }
  if (deleting) {
    const grants = planGrantRemoval(obs, principal, prev, context.customRoles);
    writes.push(...grants.writes);
    const vaults = mismatch ? [] : planKeyVaultRemoval(frame, { writable: true, blockedBecause: "" });
    const grantsLeft = grants.roleAssignments.length + grants.graphAppRoles.length + vaults.length;
    const disable = prev.enabledByAzid === true && hasSystemAssigned(identity);
    if (grantsLeft === 0 && disable) {
      frame.tryWrite(
        patch(disableSystemChange(identity), "disable the system-assigned identity", "teardown"),
      );
    }
    return frame.finish(
      {
        ...prev,
        roleAssignments: grants.roleAssignments.map(statusEntry),
        graphAppRoles: grants.graphAppRoles.map(statusEntry),
        keyVaultAccessPolicies: vaults.map(statusEntry),
      },
      [readyCondition("False", Reason.Deleting, "revoking owned grants")],
      grantsLeft === 0 && !disable,
    );
  }

  if (mismatch && context.allowTenantRepair && !observeOnly) {
    frame.tryWrite(
      patch(
        disableSystemChange(identity),
        "disable the system-assigned identity (tenant move repair)",
        "teardown",
      ),
    );
    const message = `repairing after the move to tenant ${mismatch.to}: the system-assigned identity is turned off and on`;
    return frame.finish({ ...prev }, [
      readyCondition("False", Reason.Repairing, message),
      { type: ConditionType.IdentityReady, status: "False", reason: Reason.Repairing, message },
      tenantCondition(mismatch),
      policyCondition(policy),
    ]);
  }

  const gate: WriteGate = {
    writable: !observeOnly && subscription !== undefined && policy.allowed && !mismatch,
    blockedBecause: mismatch
      ? `the subscription moved to tenant ${mismatch.to}: the repair waits for approval`
      : "an IdentityPolicy refuses part of this resource",
  };
  // Turning it back on after a tenant move is a repair, not a claim that azid owns it.
  const reEnabling =
    prev.tenantId !== undefined && !!subscription && !sameId(prev.tenantId, subscription.tenantId);
  let enabledByAzid = prev.enabledByAzid ?? false;
  let identityOutcome: ItemOutcome;
  if (enabled) {
    identityOutcome = { state: "Ready", reason: Reason.Reconciled, message: "enabled" };
  } else if (observeOnly) {
    identityOutcome = {
      state: "Failed",
      reason: Reason.IdentityNotFound,
      message: "the system-assigned identity is off",
    };
  } else {
    identityOutcome = frame.writeItem(
      patch(enableSystemChange(identity), "enable the system-assigned identity", "identities"),
      gate,
      "off",
    );
    if (identityOutcome.state === "Pending" && gate.writable && !reEnabling) enabledByAzid = true;
  }

  const declared: DeclaredGrants = {
    obs,
    principal: principal && !mismatch ? principal : undefined,
    spec,
    previous: prev,
    customRoles: context.customRoles,
    policy,
    observeOnly,
    gate,
  };
  const grantsWith = (cleanupEarlierPrincipals: boolean) =>
    planDeclaredGrants(declared, cleanupEarlierPrincipals);
  const first = grantsWith(false);
  const grants = first.converged && identityOutcome.state === "Ready" ? grantsWith(true) : first;
  writes.push(...grants.writes);
  const vaults = planKeyVaultAccess({
    frame,
    principal: principal && !mismatch ? principal : undefined,
    observeOnly,
    gate,
    repair: context.allowTenantRepair,
  });

  const details: PlannedCondition[] = [
    {
      type: ConditionType.IdentityReady,
      status: identityOutcome.state === "Ready" ? "True" : "False",
      reason: identityOutcome.reason,
      message: identityOutcome.message ?? "",
    },
    itemsCondition(ConditionType.RolesGranted, grants.roleAssignments, "role assignments"),
    itemsCondition(ConditionType.GraphRolesGranted, grants.graphAppRoles, "Graph app roles"),
    itemsCondition(ConditionType.KeyVaultAccessGranted, vaults, "Key Vault access grants"),
  ];
  const ready = summaryCondition({
    details,
    writes: writes.length,
    policy,
    mismatch,
    observeOnly,
    readFailures: obs.failures,
  });
  const status: Status = {
    ...(principal
      ? { principalId: principal.id, tenantId: principal.tenantId }
      : prev.tenantId
        ? { tenantId: prev.tenantId }
        : {}),
    enabledByAzid,
    roleAssignments: grants.roleAssignments.map(statusEntry),
    graphAppRoles: grants.graphAppRoles.map(statusEntry),
    keyVaultAccessPolicies: vaults.map(statusEntry),
  };
  return frame.finish(status, [
    ready,
    ...details,
    tenantCondition(mismatch, subscription !== undefined),
    policyCondition(policy),
  ]);
}
