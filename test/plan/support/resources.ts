// Builders of declared resources and planner contexts for the planner tests.
import type { CustomRole } from "../../../src/api/schemas/custom-role.js";
import type { SystemAssignedIdentity } from "../../../src/api/schemas/system-assigned-identity.js";
import type {
  UserAssignedIdentity,
  UserAssignedIdentitySpec,
} from "../../../src/api/schemas/user-assigned-identity.js";
import { planCustomRole } from "../../../src/plan/custom-role.js";
import type { ObservedState } from "../../../src/plan/observed.js";
import type { PlanContext } from "../../../src/plan/plan-types.js";
import type { PolicyDecision } from "../../../src/plan/policy.js";
import { planSystemAssignedIdentity } from "../../../src/plan/system-assigned.js";
import { planUserAssignedIdentity } from "../../../src/plan/user-assigned.js";
import { SUB, vmId } from "./world.js";

export const NOW = "2026-11-27T10:00:00Z";

export const ALLOWED: PolicyDecision = {
  allowed: true,
  violations: [],
  policies: ["test"],
  tenantMoveRemediation: "Manual",
};

export function context(overrides: Partial<PlanContext> = {}): PlanContext {
  return { now: NOW, policy: ALLOWED, customRoles: [], allowTenantRepair: false, ...overrides };
}

export function uai(spec: Partial<UserAssignedIdentitySpec> = {}, name = "orders"): UserAssignedIdentity {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: { name, namespace: "team-a", generation: 1 },
    spec: { subscriptionId: SUB, resourceGroup: "app-rg", location: "westeurope", ...spec },
  };
}

export function sai(
  spec: Partial<SystemAssignedIdentity["spec"]> = {},
  name = "vm-1",
): SystemAssignedIdentity {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "SystemAssignedIdentity",
    metadata: { name, namespace: "team-a", generation: 1 },
    spec: { resourceId: vmId("vm-1"), ...spec },
  };
}

export function customRole(spec: Partial<CustomRole["spec"]> = {}, name = "orders-reader"): CustomRole {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "CustomRole",
    metadata: { name, namespace: "team-a", generation: 1 },
    spec: {
      subscriptionId: SUB,
      roleName: "Orders Reader",
      permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
      assignableScopes: [`/subscriptions/${SUB}`],
      ...spec,
    },
  };
}

/** A planner closure for simulate(): the resource with the status of the previous round. */
export const uaiPlan =
  (resource: UserAssignedIdentity, ctx: PlanContext = context()) =>
  (observed: ObservedState, status: UserAssignedIdentity["status"]) =>
    planUserAssignedIdentity({ ...resource, ...(status ? { status } : {}) }, observed, ctx);

export const saiPlan =
  (resource: SystemAssignedIdentity, ctx: PlanContext = context()) =>
  (observed: ObservedState, status: SystemAssignedIdentity["status"]) =>
    planSystemAssignedIdentity({ ...resource, ...(status ? { status } : {}) }, observed, ctx);

export const customRolePlan =
  (resource: CustomRole, ctx: PlanContext = context()) =>
  (observed: ObservedState, status: CustomRole["status"]) =>
    planCustomRole({ ...resource, ...(status ? { status } : {}) }, observed, ctx);

export function condition(
  status: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> },
  type: string,
) {
  return status.conditions?.find((c) => c.type === type);
}
