import { type ManagedResource, subscriptionOfResource } from "../api/managed-resource.js";
import { CredentialTenantError } from "../azure/errors.js";
import type { ActionExecutor } from "../azure/executor.js";
import { type Action, isRead } from "../plan/actions.js";
import { emptyObserved, type ObservedState, subscriptionKey } from "../plan/observed.js";
import type { Notice, PlanContext, PlanResult } from "../plan/plan-types.js";
import { evaluatePolicy, type PolicyContext, type PolicyDecision } from "../plan/policy.js";
import { converge } from "./converge.js";
import { judgeAll, type Verdict } from "./error-policy.js";
import { plannerOf } from "./kinds.js";
import type { ObservationCache } from "./observation-cache.js";
import type { PermissionGuard } from "./permission-guard.js";

type StatusOf<R extends ManagedResource> = NonNullable<R["status"]>;

export interface SyncDependencies {
  executor: ActionExecutor;
  cache: ObservationCache;
  /** What the IdentityPolicies need besides the resource: namespace labels, policies, custom roles, the cluster's issuer. */
  policyContext: PolicyContext;
  /**
   * Whether a tenant move of this resource may be repaired now: Auto mode, an approved
   * TenantMigration, or (given the policy decision) an IdentityPolicy asking for Auto.
   */
  allowTenantRepair: boolean | ((policy: PolicyDecision) => boolean);
  now?: () => Date;
  /** Called before each wave of writes (the TenantMigration pacer, a lost lease check). */
  beforeWrites?: (writes: readonly Action[]) => void | Promise<void>;
  /** azid's own permissions, checked before writes are sent (see PermissionGuard). */
  permissions?: PermissionGuard;
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
  /** The writes Azure accepted in this reconcile, in order. */
  writesDone: Action[];
  /** The plan did not settle within the round limit: reconcile again soon. */
  unsettled: boolean;
  /** ARM refused azid's credential as from another tenant than the subscription's. */
  credentialRefused: boolean;
}

/**
 * One reconcile of one azid resource against Azure, independent of Kubernetes: evaluate the
 * policy, plan to a fixpoint with the executor (reads served from the observation cache where
 * fresh), and judge the failures. The controller runs it; the CLI (src/cli/reconcile.ts) runs the
 * same converge and error policy around its state file, many resources at a time.
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
    allowTenantRepair:
      typeof deps.allowTenantRepair === "function" ? deps.allowTenantRepair(policy) : deps.allowTenantRepair,
    ...(deps.policyContext.serviceAccountIssuer
      ? { serviceAccountIssuer: deps.policyContext.serviceAccountIssuer }
      : {}),
  };
  const plan = plannerOf(resource, context) as (
    observed: ObservedState,
    status: StatusOf<R> | undefined,
  ) => PlanResult<StatusOf<R>>;
  const subscriptionId = subscriptionOfResource(resource);
  const prefilled = deps.cache.prefill(emptyObserved());
  const run = await converge(plan, prefilled, {
    executor: deps.executor,
    subscriptionId,
    initialStatus: resource.status as StatusOf<R> | undefined,
    beforeWrites: deps.beforeWrites,
    ...(deps.permissions
      ? {
          vetWrites: (writes: readonly Action[]) =>
            deps.permissions!.vet(writes, subscriptionOfResource(resource)),
        }
      : {}),
  });
  deps.cache.harvest(run.observed, prefilled);
  // ARM refused the token as from another tenant: the subscription moved, its cached tenant is stale.
  const credentialRefused = run.errors.some((error) => error instanceof CredentialTenantError);
  if (credentialRefused) deps.cache.forgetSubscription(subscriptionKey(subscriptionId));
  const writes = run.executed.filter((action) => !isRead(action)).length;
  return {
    status: run.final.status,
    notices: run.notices,
    deleted: run.final.deleted,
    policy,
    verdict: judgeAll(run.errors),
    writes,
    reads: run.executed.length - writes,
    writesDone: run.writesDone,
    unsettled: run.cutShort,
    credentialRefused,
  };
}
