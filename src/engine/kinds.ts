// The engine's kind registry: which planner plans each kind azid syncs to Azure. The controller
// (through syncResource), the CLI (apply, plan) and the tenant-move repair plan all dispatch here.
import type { ManagedResource } from "../api/managed-resource.js";
import { planCustomRole } from "../plan/custom-role.js";
import type { ObservedState } from "../plan/observed.js";
import type { PlanContext, PlannerOf, PlanResult } from "../plan/plan-types.js";
import { planSystemAssignedIdentity } from "../plan/system-assigned.js";
import { planUserAssignedIdentity } from "../plan/user-assigned.js";

type Planner<R> = (resource: R, observed: ObservedState, context: PlanContext) => PlanResult<unknown>;

/** The planner of each kind; a kind of ManagedResource without one does not compile. */
export const PLANNERS: { [K in ManagedResource["kind"]]: Planner<Extract<ManagedResource, { kind: K }>> } = {
  CustomRole: planCustomRole,
  UserAssignedIdentity: planUserAssignedIdentity,
  SystemAssignedIdentity: planSystemAssignedIdentity,
};

/** A resource's planner as reconcile loops call it: with the status of the previous round. */
export const plannerOf: PlannerOf = (resource, context) => {
  const plan = PLANNERS[resource.kind] as Planner<ManagedResource>;
  return (observed, status) =>
    plan({ ...resource, ...(status ? { status } : {}) } as ManagedResource, observed, context);
};
