// What every planner takes and returns.
import type { Reason } from "../api/conditions.js";
import type { ManagedResource } from "../api/managed-resource.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { ClusterIssuer } from "../api/workload-identity.js";
import type { Action } from "./actions.js";
import type { ObservedState } from "./observed.js";
import type { PolicyDecision } from "./policy.js";

export interface PlanContext {
  /** The time conditions are stamped with when they change (RFC 3339). */
  now: string;
  /** evaluatePolicy() for this resource: nothing is written while it refuses anything. */
  policy: PolicyDecision;
  /** CustomRoles declared in the resource's namespace (customRoleRef and custom role names). */
  customRoles: readonly CustomRole[];
  /**
   * Whether a tenant move may be repaired now (delete and re-create identities): the chart's
   * Auto mode, an Auto IdentityPolicy, or an approved TenantMigration. Otherwise it is reported.
   */
  allowTenantRepair: boolean;
  /** The cluster's service-account issuer: the issuer of the ServiceAccounts' federated credentials. */
  serviceAccountIssuer?: ClusterIssuer;
}

/** Something the controller should turn into a Kubernetes event. */
export interface Notice {
  type: "Normal" | "Warning";
  reason: Reason;
  message: string;
}

export interface PlanResult<Status> {
  /** Reads and writes whose inputs are known, to run now (see actions.ts for the contract). */
  actions: Action[];
  /**
   * The status this plan implies. Pass it as the resource's status to the next planner call
   * of the same reconcile and write it at the end: it records what azid owns (what it created
   * or is creating), which later removals rely on.
   */
  status: Status;
  notices: Notice[];
  /**
   * True once deletion was asked for (deletionTimestamp) and nothing is left for azid to do
   * in Azure: the finalizer may be removed. An empty plan alone does not mean that (a removal
   * may have failed in this reconcile).
   */
  deleted: boolean;
}

/**
 * A resource's planner as reconcile loops call it: with the status of the previous round. The
 * engine's kind registry (src/engine/kinds.ts) is the one implementation; planners that compose
 * others (the tenant-move repair plan) take it as an input, so plan/ holds no dispatch.
 */
export type PlannerOf = (
  resource: ManagedResource,
  context: PlanContext,
) => (observed: ObservedState, status: unknown) => PlanResult<unknown>;
