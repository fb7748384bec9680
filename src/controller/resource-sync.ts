import type { CustomRole } from "../api/schemas/custom-role.js";
import type { SystemAssignedIdentity } from "../api/schemas/system-assigned-identity.js";
import type { UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import type { ActionExecutor } from "../azure/executor.js";
import { type Action, isRead } from "../plan/actions.js";
import { planCustomRole } from "../plan/custom-role.js";
import { emptyObserved } from "../plan/observed.js";
import type { Notice, PlanContext, PlanResult } from "../plan/plan-types.js";
import { evaluatePolicy, type PolicyContext, type PolicyDecision } from "../plan/policy.js";
import { planSystemAssignedIdentity } from "../plan/system-assigned.js";
import { planUserAssignedIdentity } from "../plan/user-assigned.js";
import { converge } from "./converge.js";
import { judgeAll, type Verdict } from "./error-policy.js";
import type { ObservationCache } from "./observation-cache.js";

export type ManagedResource = UserAssignedIdentity | SystemAssignedIdentity | CustomRole;
type StatusOf<R extends ManagedResource> = NonNullable<R["status"]>;

export interface SyncDependencies {
  executor: ActionExecutor;
  cache: ObservationCache;
  /** What the IdentityPolicies need besides the resource: namespace labels, policies, custom roles. */
  policyContext: PolicyContext;
  /** Whether a tenant move of this resource may be repaired now (Auto mode or an approved migration). */
  allowTenantRepair: boolean;
  now?: () => Date;
  /** Called before each wave of writes (the TenantMigration pacer, a lost lease check). */
  beforeWrites?: (writes: readonly Action[]) => void | Promise<void>;
}

export interface SyncOutcome<Status> {
  status: Status;
  notices: Notice[];
  /** The resource is being deleted and nothing is left in Azure: remove the finalizer. */
  deleted: boolean;
  policy: PolicyDecision;
  /** The verdict on this reconcile's failures, if any (the error policy's). */
  verdict?: Verdict;
  writes: number;
  reads: number;
  /** The plan did not settle within the round limit: reconcile again soon. */
  unsettled: boolean;
}

/**
 * One reconcile of one azid resource against Azure, independent of Kubernetes: evaluate the
 * policy, plan to a fixpoint with the executor (reads served from the observation cache where
 * fresh), and judge the failures. The controller and the CLI both run it.
 */
export async function syncResource<R extends ManagedResource>(
  resource: R,
  deps: SyncDependencies,
): Promise<SyncOutcome<StatusOf<R>>> {
  const policy = evaluatePolicy(resource, deps.policyContext);
  const context: PlanContext = {
    now: (deps.now?.() ?? new Date()).toISOString(),
    policy,
    customRoles: deps.policyContext.customRoles,
    allowTenantRepair: deps.allowTenantRepair,
  };
  const plan = plannerFor(resource, context);
  const run = await converge(plan, deps.cache.prefill(emptyObserved()), {
    executor: deps.executor,
    subscriptionId: subscriptionOf(resource),
    initialStatus: resource.status as StatusOf<R> | undefined,
    beforeWrites: deps.beforeWrites,
  });
  deps.cache.harvest(run.observed);
  const writes = run.executed.filter((action) => !isRead(action)).length;
  return {
    status: run.final.status,
    notices: run.notices,
    deleted: run.final.deleted,
    policy,
    verdict: judgeAll(run.errors),
    writes,
    reads: run.executed.length - writes,
    unsettled: run.cutShort,
  };
}

function plannerFor<R extends ManagedResource>(resource: R, context: PlanContext) {
  type S = StatusOf<R>;
  return (observed: Parameters<typeof planUserAssignedIdentity>[1], status: S | undefined): PlanResult<S> => {
    const current = { ...resource, ...(status ? { status } : {}) };
    switch (current.kind) {
      case "UserAssignedIdentity":
        return planUserAssignedIdentity(current as UserAssignedIdentity, observed, context) as PlanResult<S>;
      case "SystemAssignedIdentity":
        return planSystemAssignedIdentity(
          current as SystemAssignedIdentity,
          observed,
          context,
        ) as PlanResult<S>;
      case "CustomRole":
        return planCustomRole(current as CustomRole, observed, context) as PlanResult<S>;
    }
  };
}

/** The subscription whose credential acts for the resource. */
export function subscriptionOf(resource: ManagedResource): string {
  if (resource.kind === "SystemAssignedIdentity") {
    return /^\/subscriptions\/([^/]+)/i.exec(resource.spec.resourceId)?.[1] ?? "";
  }
  return resource.spec.subscriptionId;
}
