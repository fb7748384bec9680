// The planner of a SystemAssignedIdentity: turn the resource's system-assigned identity on
// (keeping its user-assigned identities), grant roles and Graph app roles to its principal,
// and on deletion revoke what azid granted and turn it off only if azid turned it on.
import { ConditionType, Reason } from "../api/conditions.js";
import type {
  SystemAssignedIdentity,
  SystemAssignedIdentityStatus,
} from "../api/schemas/system-assigned-identity.js";
import type { ResourceRef, WriteAction } from "./actions.js";
import * as build from "./build.js";
import { subscriptionOfId } from "./build.js";
import {
  invalidSpec,
  policyCondition,
  policyNotices,
  readyCondition,
  type TenantMismatch,
  tenantCondition,
  tokenNotices,
  unsupportedTargetReason,
} from "./common-status.js";
import {
  buildConditions,
  type ConditionState,
  type ItemOutcome,
  itemsCondition,
  statusEntry,
} from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import { planGrants } from "./grants.js";
import { disableSystemChange, enableSystemChange, hasSystemAssigned } from "./identity-block.js";
import type { ObservedState, ResourceIdentity } from "./observed.js";
import { Observer } from "./observer.js";
import type { Notice, PlanContext, PlanResult } from "./plan-types.js";
import { itemViolation, resourceViolations } from "./policy.js";

type Status = SystemAssignedIdentityStatus;

const sameId = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

export function planSystemAssignedIdentity(
  resource: SystemAssignedIdentity,
  observed: ObservedState,
  context: PlanContext,
): PlanResult<Status> {
  const { metadata, spec } = resource;
  const owner: ResourceRef = {
    kind: "SystemAssignedIdentity",
    namespace: metadata.namespace ?? "default",
    name: metadata.name,
  };
  const obs = new Observer(observed, owner);
  const prev: Status = resource.status ?? {};
  const writes: WriteAction[] = [];
  const notices: Notice[] = [];
  const observeOnly = spec.managementPolicy === "ObserveOnly";
  const deleting = metadata.deletionTimestamp !== undefined;
  const policy = context.policy;

  const finish = (status: Status, conditions: ConditionState[], deleted = false): PlanResult<Status> => ({
    actions: [...obs.reads, ...writes],
    status: {
      ...status,
      ...(metadata.generation !== undefined ? { observedGeneration: metadata.generation } : {}),
      conditions: buildConditions(prev.conditions, conditions, context.now, metadata.generation),
    },
    notices: [...notices, ...tokenNotices(writes)],
    deleted,
  });
  /** Only a Ready condition; when deleting, nothing more is to be done in Azure. */
  const readyOnly = (status: ConditionState["status"], reason: Reason, message: string) =>
    finish(
      { ...prev },
      [{ type: ConditionType.Ready, status, reason, message }, policyCondition(policy)],
      deleting,
    );

  const invalid = invalidSpec(resource);
  if (invalid)
    return readyOnly(
      "False",
      Reason.InvalidSpec,
      `the spec is invalid, nothing is done in Azure: ${invalid}`,
    );
  notices.push(...policyNotices(policy));
  if (resourceViolations(policy).length > 0) {
    const what = deleting ? "deleted without touching Azure" : "nothing is written to Azure";
    return readyOnly(
      "False",
      Reason.PolicyDenied,
      `refused by policy, ${what}: ${policy.violations[0]?.message}`,
    );
  }
  if (deleting && (spec.deletionPolicy === "Orphan" || observeOnly)) {
    return readyOnly("False", Reason.Orphaned, "deleted; Azure is left as it is");
  }
  const unsupported = unsupportedTargetReason(spec.resourceId);
  if (unsupported) return readyOnly("False", Reason.UnsupportedTarget, unsupported);

  const subscription = obs.subscription(subscriptionOfId(spec.resourceId) as string);
  const target = obs.target(spec.resourceId);
  if (target === undefined) {
    // The read failed (azid's credential refused after a tenant move, a permission): say why.
    const reading: ConditionState =
      obs.failures.length > 0
        ? readyCondition({
            details: [],
            writes: 0,
            policy,
            mismatch: undefined,
            observeOnly,
            readFailures: obs.failures,
          })
        : {
            type: ConditionType.Ready,
            status: "Unknown",
            reason: Reason.Progressing,
            message: "reading the resource",
          };
    return finish({ ...prev }, [reading, policyCondition(policy)]);
  }
  if (target.state === "absent") {
    return deleting
      ? readyOnly("False", Reason.Deleting, "the resource is gone")
      : readyOnly("False", Reason.TargetNotFound, `${spec.resourceId} does not exist`);
  }
  if (target.state === "unsupported") return readyOnly("False", Reason.UnsupportedTarget, target.reason);

  const identity: ResourceIdentity | undefined = target.identity;
  const enabled = hasSystemAssigned(identity) && identity?.principalId !== undefined;
  const principal = enabled
    ? { id: identity?.principalId as string, tenantId: identity?.tenantId ?? subscription?.tenantId ?? "" }
    : undefined;
  const mismatch: TenantMismatch | undefined =
    subscription && principal
      ? (identity?.tenantId !== undefined && !sameId(identity.tenantId, subscription.tenantId)) ||
        (prev.tenantId !== undefined &&
          !sameId(prev.tenantId, subscription.tenantId) &&
          sameId(prev.principalId, principal.id))
        ? {
            from:
              identity?.tenantId && !sameId(identity.tenantId, subscription.tenantId)
                ? identity.tenantId
                : (prev.tenantId as string),
            to: subscription.tenantId,
          }
        : undefined
      : undefined;
  if (mismatch) {
    notices.push({
      type: "Warning",
      reason: Reason.TenantMoved,
      message: `subscription moved from tenant ${mismatch.from} to ${mismatch.to}`,
    });
  }
  const patch = (
    change: ReturnType<typeof enableSystemChange>,
    what: string,
    phase: "teardown" | "identities",
  ) =>
    build.patchResourceIdentity(
      owner,
      spec.resourceId,
      what,
      change.identity,
      change.expected,
      phase,
      change.intent,
    );
  const tryWrite = (action: WriteAction): ItemOutcome => {
    const failure = obs.failureOf(action.key);
    if (failure)
      return { state: "Failed", reason: reasonForFailure(failure), message: describeFailure(failure) };
    writes.push(action);
    return { state: "Pending", reason: Reason.Progressing, message: action.description };
  };

  if (deleting) {
    const grants = planGrants({
      obs,
      ...(principal ? { principal } : {}),
      roleAssignments: [],
      graphAppRoles: [],
      previous: prev,
      customRoles: context.customRoles,
      mode: "delete",
      writable: true,
      refused: () => undefined,
      cleanupEarlierPrincipals: true,
      removalPhase: "teardown",
    });
    writes.push(...grants.writes);
    const grantsLeft = grants.roleAssignments.length + grants.graphAppRoles.length;
    const disable = prev.enabledByAzid === true && hasSystemAssigned(identity);
    if (grantsLeft === 0 && disable) {
      tryWrite(patch(disableSystemChange(identity), "disable the system-assigned identity", "teardown"));
    }
    return finish(
      {
        ...prev,
        roleAssignments: grants.roleAssignments.map(statusEntry),
        graphAppRoles: grants.graphAppRoles.map(statusEntry),
      },
      [
        {
          type: ConditionType.Ready,
          status: "False",
          reason: Reason.Deleting,
          message: "revoking owned grants",
        },
      ],
      grantsLeft === 0 && !disable,
    );
  }

  if (mismatch && context.allowTenantRepair && !observeOnly) {
    tryWrite(
      patch(
        disableSystemChange(identity),
        "disable the system-assigned identity (tenant move repair)",
        "teardown",
      ),
    );
    const message = `repairing after the move to tenant ${mismatch.to}: the system-assigned identity is turned off and on`;
    return finish({ ...prev }, [
      { type: ConditionType.Ready, status: "False", reason: Reason.Repairing, message },
      { type: ConditionType.IdentityReady, status: "False", reason: Reason.Repairing, message },
      tenantCondition(mismatch),
      policyCondition(policy),
    ]);
  }

  const writable = !observeOnly && subscription !== undefined && policy.allowed && !mismatch;
  const blockedBecause = mismatch
    ? `the subscription moved to tenant ${mismatch.to}: the repair waits for approval`
    : "an IdentityPolicy refuses part of this resource";
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
  } else if (!writable) {
    identityOutcome = { state: "Pending", reason: Reason.Waiting, message: `off; ${blockedBecause}` };
  } else {
    identityOutcome = tryWrite(
      patch(enableSystemChange(identity), "enable the system-assigned identity", "identities"),
    );
    if (identityOutcome.state === "Pending" && !reEnabling) enabledByAzid = true;
  }

  const grantsWith = (cleanupEarlierPrincipals: boolean) =>
    planGrants({
      obs,
      ...(principal && !mismatch ? { principal } : {}),
      roleAssignments: spec.roleAssignments ?? [],
      graphAppRoles: spec.graphAppRoles ?? [],
      previous: prev,
      customRoles: context.customRoles,
      mode: observeOnly ? "observe" : "manage",
      writable,
      blockedBecause,
      refused: (list, index) => itemViolation(policy, list, index),
      cleanupEarlierPrincipals,
      removalPhase: "cleanup",
    });
  const first = grantsWith(false);
  const grants = first.converged && identityOutcome.state === "Ready" ? grantsWith(true) : first;
  writes.push(...grants.writes);

  const details: ConditionState[] = [
    {
      type: ConditionType.IdentityReady,
      status: identityOutcome.state === "Ready" ? "True" : "False",
      reason: identityOutcome.reason,
      message: identityOutcome.message ?? "",
    },
    itemsCondition(ConditionType.RolesGranted, grants.roleAssignments, "role assignments"),
    itemsCondition(ConditionType.GraphRolesGranted, grants.graphAppRoles, "Graph app roles"),
  ];
  const ready = readyCondition({
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
  };
  return finish(status, [
    ready,
    ...details,
    tenantCondition(mismatch, subscription !== undefined),
    policyCondition(policy),
  ]);
}
