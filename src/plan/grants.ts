// Role assignments and Graph app roles of one principal: shared by user- and system-assigned
// identities. Deterministic names, adoption of an existing assignment with the same scope, role
// and principal, removal only of what azid owns, and grants of earlier principals cleaned up.
import type {
  GraphAppRoleSpec,
  GraphAppRoleStatus,
  RoleAssignmentSpec,
  RoleAssignmentStatus,
} from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { Phase, WriteAction } from "./actions.js";
import { type GraphOutcome, planGraphAppRoles } from "./graph-app-roles.js";
import type { Observer } from "./observer.js";
import { itemViolation, type PolicyDecision, type PolicyViolation } from "./policy.js";
import { planRoleAssignments, type RoleOutcome } from "./role-assignments.js";
import type { WriteGate } from "./skeleton.js";

export type { GraphOutcome } from "./graph-app-roles.js";
export type { RoleOutcome } from "./role-assignments.js";

export interface GrantsInput {
  obs: Observer;
  /** The current principal, once known (undefined while the identity does not exist). */
  principal?: { id: string; tenantId: string };
  roleAssignments: readonly RoleAssignmentSpec[];
  graphAppRoles: readonly GraphAppRoleSpec[];
  previous: {
    roleAssignments?: readonly RoleAssignmentStatus[];
    graphAppRoles?: readonly GraphAppRoleStatus[];
  };
  customRoles: readonly CustomRole[];
  /** manage: converge; observe: report drift, no writes; delete: remove everything azid owns. */
  mode: "manage" | "observe" | "delete";
  /** False when something (policy, tenant mismatch) forbids writes; items are reported only. */
  writable: boolean;
  /** Why writes are blocked, for the items' messages. */
  blockedBecause?: string;
  refused: (list: "roleAssignments" | "graphAppRoles", index: number) => PolicyViolation | undefined;
  /** Whether owned grants of earlier principals may be removed now (after the new ones are in place). */
  cleanupEarlierPrincipals: boolean;
  /** The phase of removals (teardown when deleting, cleanup otherwise). */
  removalPhase: Phase;
}

export interface GrantsResult {
  writes: WriteAction[];
  roleAssignments: RoleOutcome[];
  graphAppRoles: GraphOutcome[];
  /** Every declared grant is in place for the current principal. */
  converged: boolean;
  /** Owned grants of earlier principals that still exist (or may: not read yet). */
  earlierPrincipalsLeft: number;
}

export function planGrants(input: GrantsInput): GrantsResult {
  const writes: WriteAction[] = [];
  const roles = planRoleAssignments(input, writes);
  const graph = planGraphAppRoles(input, writes);
  return {
    writes,
    roleAssignments: roles.outcomes,
    graphAppRoles: graph.outcomes,
    converged: roles.converged && graph.converged,
    earlierPrincipalsLeft: roles.earlierLeft + graph.earlierLeft,
  };
}

type Principal = GrantsInput["principal"];
type Previous = GrantsInput["previous"];

/** What a planner that converges a resource's grants knows of it. */
export interface DeclaredGrants {
  obs: Observer;
  principal: Principal;
  spec: { roleAssignments?: RoleAssignmentSpec[]; graphAppRoles?: GraphAppRoleSpec[] };
  previous: Previous;
  customRoles: readonly CustomRole[];
  policy: PolicyDecision;
  observeOnly: boolean;
  gate: WriteGate;
}

/**
 * The declared grants of a resource for its principal, items refused by its policy; grants of
 * earlier principals go only with `cleanupEarlierPrincipals` (once the new ones are in place).
 */
export function planDeclaredGrants(input: DeclaredGrants, cleanupEarlierPrincipals: boolean): GrantsResult {
  return planGrants({
    obs: input.obs,
    ...(input.principal ? { principal: input.principal } : {}),
    roleAssignments: input.spec.roleAssignments ?? [],
    graphAppRoles: input.spec.graphAppRoles ?? [],
    previous: input.previous,
    customRoles: input.customRoles,
    mode: input.observeOnly ? "observe" : "manage",
    writable: input.gate.writable,
    blockedBecause: input.gate.blockedBecause,
    refused: (list, index) => itemViolation(input.policy, list, index),
    cleanupEarlierPrincipals,
    removalPhase: "cleanup",
  });
}

/** Removing every grant azid owns, of this principal and earlier ones: a resource being deleted. */
export function planGrantRemoval(
  obs: Observer,
  principal: Principal,
  previous: Previous,
  customRoles: readonly CustomRole[],
): GrantsResult {
  return planGrants({
    obs,
    ...(principal ? { principal } : {}),
    roleAssignments: [],
    graphAppRoles: [],
    previous,
    customRoles,
    mode: "delete",
    writable: true,
    refused: () => undefined,
    cleanupEarlierPrincipals: true,
    removalPhase: "teardown",
  });
}
