// Role assignments and Graph app roles of one principal: shared by user- and system-assigned
// identities. Deterministic names, adoption of an existing assignment with the same scope, role
// and principal, removal only of what azid owns, and grants of earlier principals cleaned up.
import {
  armIdKey,
  canonicalScope,
  isWithin,
  parseScope,
  roleDefinitionGuid,
  roleDefinitionIdFor,
  sameId,
} from "../api/arm-id.js";
import { Reason } from "../api/conditions.js";
import { roleAssignmentName } from "../api/names.js";
import {
  type GraphAppRoleSpec,
  type GraphAppRoleStatus,
  MICROSOFT_GRAPH_APP_ID,
  type RoleAssignmentSpec,
  type RoleAssignmentStatus,
} from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { Phase, WriteAction } from "./actions.js";
import * as build from "./build.js";
import { listingScopeFor } from "./build.js";
import { type ItemOutcome, pending } from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import { listingKey, type ObservedRoleDefinition } from "./observed.js";
import type { Observer } from "./observer.js";
import type { PolicyViolation } from "./policy.js";
import { customRoleDefinitionGuid, resolveRole, roleLabel } from "./roles.js";

export type RoleOutcome = RoleAssignmentStatus & ItemOutcome;
export type GraphOutcome = GraphAppRoleStatus & ItemOutcome;

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

const guidOf = (roleDefinitionId: string) => {
  try {
    return roleDefinitionGuid(roleDefinitionId);
  } catch {
    return roleDefinitionId.toLowerCase();
  }
};

const ready = (message?: string) => ({
  state: "Ready" as const,
  reason: Reason.Reconciled,
  ...(message ? { message } : {}),
});
const failed = (message: string, reason: Reason) => ({ state: "Failed" as const, reason, message });

interface DesiredAssignment {
  spec: RoleAssignmentSpec;
  scope: string;
  label: string;
  guid?: string;
  /** Set when the item is decided before looking at Azure's assignments. */
  outcome?: ItemOutcome;
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

function resolveDesired(input: GrantsInput, spec: RoleAssignmentSpec, index: number): DesiredAssignment {
  const { obs } = input;
  let scope: string;
  try {
    scope = canonicalScope(spec.scope);
  } catch (error) {
    return {
      spec,
      scope: spec.scope,
      label: "?",
      outcome: failed(String((error as Error).message), Reason.AzureError),
    };
  }
  const role = resolveRole(spec, input.customRoles);
  const label = roleLabel(role);
  const refusal = input.refused("roleAssignments", index);
  if (refusal)
    return {
      spec,
      scope,
      label,
      outcome: {
        state: "Refused",
        reason: Reason.PolicyDenied,
        message: `${refusal.rule}: ${refusal.message}`,
      },
    };
  if (role.missing) return { spec, scope, label, outcome: failed(role.missing, Reason.CustomRoleNotFound) };
  const parsed = parseScope(scope);
  const subscriptionId = parsed.kind === "managementGroup" ? undefined : parsed.subscriptionId;
  if (role.customRole) {
    const custom = role.customRole;
    const inside = custom.spec.assignableScopes.some((assignable) => isWithin(scope, assignable));
    if (!inside) {
      return {
        spec,
        scope,
        label,
        outcome: failed(
          `${scope} is outside the assignableScopes of CustomRole ${custom.metadata.name}`,
          Reason.RoleNotFound,
        ),
      };
    }
    const guid = customRoleDefinitionGuid(custom);
    const definition = obs.roleDefinition(custom.spec.subscriptionId, guid);
    if (definition === undefined)
      return { spec, scope, label, guid, outcome: pending(`looking up custom role ${label}`) };
    if (definition === null) {
      return {
        spec,
        scope,
        label,
        guid,
        outcome: pending(`waiting for CustomRole ${custom.metadata.name} to exist in Azure`, Reason.Waiting),
      };
    }
    return { spec, scope, label, guid };
  }
  if (role.guid) return { spec, scope, label, guid: role.guid };
  // A role name only Azure knows: look it up in the scope's subscription.
  if (!subscriptionId) {
    return {
      spec,
      scope,
      label,
      outcome: failed(
        `role "${label}" cannot be looked up at a management group: use roleDefinitionId`,
        Reason.RoleNotFound,
      ),
    };
  }
  const found = obs.roleDefinitionsByName(subscriptionId, label);
  if (found === undefined) return { spec, scope, label, outcome: pending(`looking up role "${label}"`) };
  if (found.length !== 1) {
    const why = found.length === 0 ? "does not exist" : "is ambiguous";
    return {
      spec,
      scope,
      label,
      outcome: failed(`role "${label}" ${why} in subscription ${subscriptionId}`, Reason.RoleNotFound),
    };
  }
  return { spec, scope, label, guid: (found[0] as ObservedRoleDefinition).name.toLowerCase() };
}

function planRoleAssignments(input: GrantsInput, writes: WriteAction[]) {
  const { obs, principal, mode } = input;
  const owner = obs.owner;
  const previous = input.previous.roleAssignments ?? [];
  const outcomes: RoleOutcome[] = [];
  const desired =
    mode === "delete" ? [] : input.roleAssignments.map((spec, index) => resolveDesired(input, spec, index));
  const desiredKeys = new Set<string>();
  let converged = true;

  for (const item of desired) {
    const base = {
      scope: item.scope,
      role: item.label,
      ...(item.guid ? { roleDefinitionId: roleDefinitionIdFor(parseScope(item.scope), item.guid) } : {}),
      ...(principal ? { principalId: principal.id } : {}),
    };
    const settle = (outcome: ItemOutcome, extra: { name?: string; owned?: boolean } = {}) => {
      if (outcome.state !== "Ready") converged = false;
      outcomes.push({ ...base, owned: false, ...extra, ...outcome });
    };
    if (item.guid) desiredKeys.add(`${armIdKey(item.scope)}|${item.guid}`);
    if (item.outcome) {
      settle(item.outcome);
      continue;
    }
    const guid = item.guid as string;
    if (!principal) {
      settle(pending("waiting for the identity's principal", Reason.Waiting));
      continue;
    }
    const listing = obs.roleAssignments(listingScopeFor(item.scope), principal.id);
    if (listing === undefined) {
      settle(pending("reading role assignments"));
      continue;
    }
    const name = roleAssignmentName(item.scope, guid, principal.id);
    const matches = listing.filter(
      (a) =>
        armIdKey(a.scope) === armIdKey(item.scope) &&
        guidOf(a.roleDefinitionId) === guid &&
        sameId(a.principalId, principal.id),
    );
    const existing = matches.find((a) => sameId(a.name, name)) ?? matches[0];
    const before = previous.find((entry) => sameId(entry.name, existing?.name ?? name));
    const wantCondition = item.spec.condition || undefined;
    const wantDescription = item.spec.description || undefined;
    const put = (assignmentName: string) =>
      build.putRoleAssignment(owner, {
        scope: item.scope,
        name: assignmentName,
        roleDefinitionId: base.roleDefinitionId as string,
        principalId: principal.id,
        roleName: item.label,
        ...(wantCondition ? { condition: wantCondition } : {}),
        ...(wantDescription ? { description: wantDescription } : {}),
      });
    if (existing) {
      const owned = sameId(existing.name, name) || (before?.owned ?? false);
      const drift =
        (existing.condition || undefined) !== wantCondition ||
        (existing.description || undefined) !== wantDescription;
      settle(
        drift
          ? writeOrReport(input, writes, put(existing.name), "condition or description differs")
          : ready(owned ? undefined : "adopted: it existed under another name"),
        { name: existing.name, owned },
      );
      continue;
    }
    settle(writeOrReport(input, writes, put(name), "missing"), { name, owned: true });
  }

  // Owned assignments that are no longer declared, or belong to an earlier principal.
  const candidates = new Map<
    string,
    { scope: string; principalId: string; name?: string; guid?: string; role?: string }
  >();
  for (const entry of previous) {
    if (!entry.owned || !entry.principalId) continue;
    const guid = entry.roleDefinitionId ? guidOf(entry.roleDefinitionId) : undefined;
    const current = principal && sameId(entry.principalId, principal.id);
    if (current && guid && desiredKeys.has(`${armIdKey(entry.scope)}|${guid}`)) continue;
    candidates.set(`${entry.principalId.toLowerCase()}|${entry.name ?? entry.scope}`.toLowerCase(), {
      scope: entry.scope,
      principalId: entry.principalId,
      ...(entry.name ? { name: entry.name } : {}),
      ...(guid ? { guid } : {}),
      ...(entry.role ? { role: entry.role } : {}),
    });
  }
  // Deterministic names prove azid made an assignment even if the status that said so was lost.
  if (principal) {
    const listed = new Set(desired.filter((item) => item.guid).map((item) => listingScopeFor(item.scope)));
    for (const entry of previous) listed.add(listingScopeFor(entry.scope));
    for (const listingScope of listed) {
      for (const assignment of obs.observed.roleAssignments[listingKey(listingScope, principal.id)] ?? []) {
        const guid = guidOf(assignment.roleDefinitionId);
        if (desiredKeys.has(`${armIdKey(assignment.scope)}|${guid}`)) continue;
        if (!sameId(assignment.name, roleAssignmentName(assignment.scope, guid, principal.id))) continue;
        candidates.set(`${principal.id}|${assignment.name}`.toLowerCase(), {
          scope: assignment.scope,
          principalId: principal.id,
          name: assignment.name,
          guid,
        });
      }
    }
  }

  // A declared role not resolved yet may be the very assignment a candidate is: keep those.
  const unresolvedScopes = new Set(desired.filter((item) => !item.guid).map((item) => armIdKey(item.scope)));
  let earlierLeft = 0;
  for (const candidate of candidates.values()) {
    const earlier = !principal || !sameId(candidate.principalId, principal.id);
    const base = {
      scope: candidate.scope,
      ...(candidate.role ? { role: candidate.role } : {}),
      ...(candidate.guid
        ? { roleDefinitionId: roleDefinitionIdFor(parseScope(candidate.scope), candidate.guid) }
        : {}),
      principalId: candidate.principalId,
      ...(candidate.name ? { name: candidate.name } : {}),
      owned: true,
    };
    if (!earlier && unresolvedScopes.has(armIdKey(candidate.scope))) {
      outcomes.push({
        ...base,
        ...pending("kept until the declared roles at this scope are resolved", Reason.Waiting),
      });
      continue;
    }
    if (earlier && !input.cleanupEarlierPrincipals && mode !== "delete") {
      earlierLeft++;
      outcomes.push({
        ...base,
        ...pending("of an earlier principal: removed once the new grants are in place"),
      });
      continue;
    }
    const listing = obs.roleAssignments(listingScopeFor(candidate.scope), candidate.principalId);
    if (listing === undefined) {
      if (earlier) earlierLeft++;
      outcomes.push({
        ...base,
        state: "Removing",
        reason: Reason.Progressing,
        message: "reading role assignments",
      });
      continue;
    }
    const found = listing.find((a) =>
      candidate.name
        ? sameId(a.name, candidate.name)
        : armIdKey(a.scope) === armIdKey(candidate.scope) && guidOf(a.roleDefinitionId) === candidate.guid,
    );
    if (!found) continue; // gone: forget it
    if (earlier) earlierLeft++;
    const removal = build.deleteRoleAssignment(
      owner,
      { id: found.id, scope: found.scope, principalId: found.principalId },
      input.removalPhase,
    );
    outcomes.push({ ...base, name: found.name, ...removeOrReport(input, writes, removal) });
  }

  return { outcomes, converged, earlierLeft };
}

/** A write for a declared item, unless writes are blocked, we only observe, or it failed already. */
function writeOrReport(
  input: GrantsInput,
  writes: WriteAction[],
  action: WriteAction,
  drift: string,
): ItemOutcome {
  if (input.mode === "observe") return { state: "Drifted", reason: Reason.Drifted, message: drift };
  if (!input.writable)
    return pending(`${drift}; ${input.blockedBecause ?? "writes are blocked"}`, Reason.Waiting);
  const failure = input.obs.failureOf(action.key);
  if (failure) return failed(describeFailure(failure), reasonForFailure(failure));
  writes.push(action);
  return pending(action.description);
}

/** A removal of an owned item, with the same exceptions (deletion may proceed under item refusals). */
function removeOrReport(input: GrantsInput, writes: WriteAction[], action: WriteAction): ItemOutcome {
  if (input.mode === "observe")
    return { state: "Drifted", reason: Reason.Drifted, message: "no longer declared" };
  if (!input.writable && input.mode !== "delete") {
    return {
      state: "Removing",
      reason: Reason.Waiting,
      message: input.blockedBecause ?? "writes are blocked",
    };
  }
  const failure = input.obs.failureOf(action.key);
  if (failure) return failed(describeFailure(failure), reasonForFailure(failure));
  writes.push(action);
  return { state: "Removing", reason: Reason.Progressing, message: action.description };
}

/** The outcome of one declared Graph app role; adds its resolved key to `desiredKeys`. */
function graphOutcome(
  input: GrantsInput,
  writes: WriteAction[],
  spec: GraphAppRoleSpec,
  index: number,
  desiredKeys: Set<string>,
): GraphOutcome {
  const { obs, principal } = input;
  const appId = spec.resourceAppId ?? MICROSOFT_GRAPH_APP_ID;
  // Graph names assignments itself, so only status remembers which ones azid made: an outcome
  // that waits for a read keeps that memory for the rounds after it.
  const before = (matches: (entry: GraphAppRoleStatus) => boolean) =>
    (input.previous.graphAppRoles ?? []).find(
      (entry) =>
        principal !== undefined &&
        sameId(entry.resourceAppId, appId) &&
        sameId(entry.principalId, principal.id) &&
        matches(entry),
    );
  const base = {
    resourceAppId: appId,
    appRole: spec.appRole,
    owned: before((entry) => entry.appRole.toLowerCase() === spec.appRole.toLowerCase())?.owned ?? false,
    ...(principal ? { principalId: principal.id } : {}),
  };
  const refusal = input.refused("graphAppRoles", index);
  if (refusal)
    return {
      ...base,
      state: "Refused",
      reason: Reason.PolicyDenied,
      message: `${refusal.rule}: ${refusal.message}`,
    };
  if (!principal) return { ...base, ...pending("waiting for the identity's principal", Reason.Waiting) };
  // Both reads in one round: they do not depend on each other.
  const assignments = obs.appRoleAssignments(principal.tenantId, principal.id);
  const api = obs.servicePrincipal(principal.tenantId, appId);
  if (api === undefined) return { ...base, ...pending(`reading the service principal of ${appId}`) };
  if (api === null) {
    return {
      ...base,
      ...failed(
        `application ${appId} has no service principal in tenant ${principal.tenantId}`,
        Reason.AppRoleNotFound,
      ),
    };
  }
  const wanted = spec.appRole.toLowerCase();
  const role = api.appRoles.find(
    (candidate) =>
      candidate.isEnabled !== false &&
      (candidate.id.toLowerCase() === wanted || candidate.value?.toLowerCase() === wanted),
  );
  if (!role)
    return {
      ...base,
      ...failed(`application ${appId} has no enabled app role ${spec.appRole}`, Reason.AppRoleNotFound),
    };
  desiredKeys.add(`${appId.toLowerCase()}|${role.id.toLowerCase()}`);
  if (assignments === undefined)
    return { ...base, appRoleId: role.id, ...pending("reading app role assignments") };
  const existing = assignments.find(
    (a) => sameId(a.resourceId, api.objectId) && sameId(a.appRoleId, role.id),
  );
  if (existing) {
    const owned = base.owned || (before((entry) => sameId(entry.appRoleId, role.id))?.owned ?? false);
    return {
      ...base,
      appRoleId: role.id,
      assignmentId: existing.id,
      owned,
      ...ready(owned ? undefined : "adopted: it was granted outside azid"),
    };
  }
  const grant = build.grantAppRole(obs.owner, {
    tenantId: principal.tenantId,
    principalId: principal.id,
    resourceServicePrincipalId: api.objectId,
    appRoleId: role.id,
    label: spec.appRole,
  });
  return { ...base, appRoleId: role.id, owned: true, ...writeOrReport(input, writes, grant, "missing") };
}

function planGraphAppRoles(input: GrantsInput, writes: WriteAction[]) {
  const { obs, principal, mode } = input;
  const owner = obs.owner;
  const previous = input.previous.graphAppRoles ?? [];
  const desiredKeys = new Set<string>();
  const declared = mode === "delete" ? [] : input.graphAppRoles;
  const outcomes = declared.map((spec, index) => graphOutcome(input, writes, spec, index, desiredKeys));
  const converged = outcomes.every((outcome) => outcome.state === "Ready");

  let earlierLeft = 0;
  for (const entry of previous) {
    if (!entry.owned || !entry.principalId) continue;
    const current = principal && sameId(entry.principalId, principal.id);
    if (
      current &&
      entry.appRoleId &&
      desiredKeys.has(`${entry.resourceAppId.toLowerCase()}|${entry.appRoleId.toLowerCase()}`)
    ) {
      continue;
    }
    if (!current && !input.cleanupEarlierPrincipals && mode !== "delete") {
      earlierLeft++;
      outcomes.push({
        ...entry,
        ...pending("of an earlier principal: removed once the new grants are in place"),
      });
      continue;
    }
    const tenantId = principal?.tenantId;
    if (!tenantId) {
      // Graph is asked in the current principal's tenant; until it is known, keep the entry.
      outcomes.push({
        ...entry,
        state: "Removing",
        reason: Reason.Waiting,
        message: "waiting for the identity's tenant",
      });
      continue;
    }
    const assignments = obs.appRoleAssignments(tenantId, entry.principalId);
    if (assignments === undefined) {
      if (!current) earlierLeft++;
      outcomes.push({
        ...entry,
        state: "Removing",
        reason: Reason.Progressing,
        message: "reading app role assignments",
      });
      continue;
    }
    const found = assignments.find((a) =>
      entry.assignmentId ? sameId(a.id, entry.assignmentId) : sameId(a.appRoleId, entry.appRoleId),
    );
    if (!found) continue;
    if (!current) earlierLeft++;
    const revoke = build.revokeAppRole(
      owner,
      { tenantId, principalId: entry.principalId, assignmentId: found.id, label: entry.appRole },
      input.removalPhase,
    );
    outcomes.push({ ...entry, assignmentId: found.id, ...removeOrReport(input, writes, revoke) });
  }
  return { outcomes, converged, earlierLeft };
}
