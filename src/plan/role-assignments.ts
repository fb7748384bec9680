// The role assignments of one principal: declared roles resolved (built-in, custom, by name)
// and put under deterministic names, an existing assignment of the same scope, role and
// principal adopted, and only what azid owns removed, including grants of earlier principals.
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
import type { RoleAssignmentSpec, RoleAssignmentStatus } from "../api/schemas/common.js";
import type { WriteAction } from "./actions.js";
import * as build from "./build.js";
import { listingScopeFor } from "./build.js";
import { type ItemOutcome, pending } from "./conditions.js";
import { failed, ready, removeOrReport, writeOrReport } from "./grant-items.js";
import type { GrantsInput } from "./grants.js";
import { listingKey, type ObservedRoleDefinition } from "./observed.js";
import { customRoleDefinitionGuid, resolveRole, roleLabel } from "./roles.js";

export type RoleOutcome = RoleAssignmentStatus & ItemOutcome;

const guidOf = (roleDefinitionId: string) => {
  try {
    return roleDefinitionGuid(roleDefinitionId);
  } catch {
    return roleDefinitionId.toLowerCase();
  }
};

interface DesiredAssignment {
  spec: RoleAssignmentSpec;
  scope: string;
  label: string;
  guid?: string;
  /** Set when the item is decided before looking at Azure's assignments. */
  outcome?: ItemOutcome;
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
  // Not a verdict: the grant waits, and is made as soon as the CustomRole appears (watched).
  if (role.missing)
    return {
      spec,
      scope,
      label,
      outcome: pending(`${role.missing}: waiting for it`, Reason.CustomRoleNotFound),
    };
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

export function planRoleAssignments(input: GrantsInput, writes: WriteAction[]) {
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
