// What role a role assignment names, as far as it can be told without asking Azure.

import { distance } from "fastest-levenshtein";
import { roleDefinitionGuid } from "../api/arm-id.js";
import { builtinRoleByGuid, builtinRoleByName, builtinRoles } from "../api/builtin-roles.js";
import { customRoleGuid } from "../api/names.js";
import { isPrivileged } from "../api/role-permissions.js";
import type { RoleAssignmentSpec } from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { ObservedRoleDefinition } from "./observed.js";

export interface ResolvedRole {
  /** The role definition GUID (lowercase), when known without a lookup in Azure. */
  guid?: string;
  /** Names the role goes by (a built-in name, a custom roleName), for messages and policy rules. */
  names: string[];
  source: "builtin" | "customRole" | "azure" | "definitionId";
  /** undefined when the permissions are not known (a role only Azure knows). */
  privileged?: boolean;
  /** The declared CustomRole, when the role is one. */
  customRole?: CustomRole;
  /** Set when the role cannot be resolved at all (e.g. a customRoleRef to a missing CustomRole). */
  missing?: string;
}

/** The GUID azid gives the role definition of a declared CustomRole. */
export function customRoleDefinitionGuid(role: CustomRole): string {
  return customRoleGuid(role.spec.subscriptionId, role.metadata.namespace ?? "default", role.metadata.name);
}

function fromCustomRole(role: CustomRole): ResolvedRole {
  return {
    guid: customRoleDefinitionGuid(role),
    names: [role.spec.roleName],
    source: "customRole",
    privileged: isPrivileged(role.spec.permissions),
    customRole: role,
  };
}

function fromDefinition(definition: ObservedRoleDefinition, source: ResolvedRole["source"]): ResolvedRole {
  return {
    guid: definition.name.toLowerCase(),
    names: [definition.roleName],
    source,
    privileged: isPrivileged(definition.permissions),
  };
}

/**
 * Resolves the role of a role assignment from the built-in table, the CustomRoles declared in
 * the namespace, and role definitions already read from Azure (optional).
 */
export function resolveRole(
  spec: Pick<RoleAssignmentSpec, "role" | "roleDefinitionId" | "customRoleRef">,
  customRoles: readonly CustomRole[],
  knownDefinitions: readonly ObservedRoleDefinition[] = [],
): ResolvedRole {
  if (spec.customRoleRef) {
    const role = customRoles.find((candidate) => candidate.metadata.name === spec.customRoleRef?.name);
    return role
      ? fromCustomRole(role)
      : {
          names: [spec.customRoleRef.name],
          source: "customRole",
          missing: `CustomRole ${spec.customRoleRef.name} does not exist in this namespace`,
        };
  }
  if (spec.roleDefinitionId) {
    const guid = roleDefinitionGuid(spec.roleDefinitionId);
    const builtin = builtinRoleByGuid(guid);
    if (builtin) return { guid, names: [builtin.name], source: "builtin", privileged: builtin.privileged };
    const declared = customRoles.find((role) => customRoleDefinitionGuid(role) === guid);
    if (declared) return fromCustomRole(declared);
    const known = knownDefinitions.find((definition) => definition.name.toLowerCase() === guid);
    return known ? fromDefinition(known, "definitionId") : { guid, names: [], source: "definitionId" };
  }
  const name = spec.role ?? "";
  const builtin = builtinRoleByName(name);
  if (builtin)
    return { guid: builtin.guid, names: [builtin.name], source: "builtin", privileged: builtin.privileged };
  const declared = customRoles.find((role) => role.spec.roleName.toLowerCase() === name.toLowerCase());
  if (declared) return fromCustomRole(declared);
  const known = knownDefinitions.filter(
    (definition) => definition.roleName.toLowerCase() === name.toLowerCase(),
  );
  if (known.length === 1) return fromDefinition(known[0] as ObservedRoleDefinition, "azure");
  return { names: [name], source: "azure" };
}

/** A label for messages: the role's name, or its GUID. */
export function roleLabel(role: ResolvedRole): string {
  return role.names[0] ?? role.guid ?? "an unknown role";
}

/**
 * The role names closest to `name` (a typo of a built-in or a declared custom role): at most
 * three, within a few edits, closest first. Case is ignored, as Azure ignores it.
 */
export function similarRoleNames(name: string, customRoles: readonly CustomRole[] = []): string[] {
  const wanted = name.toLowerCase();
  const candidates = [
    ...builtinRoles().map((role) => role.name),
    ...customRoles.map((role) => role.spec.roleName),
  ];
  // A slip of a key or two, a few more in a long name; and only the best of those.
  const allowed = Math.max(2, Math.floor(wanted.length / 8));
  const near = candidates
    .map((candidate) => ({ candidate, distance: distance(wanted, candidate.toLowerCase()) }))
    .filter(({ distance: d }) => d > 0 && d <= allowed);
  const best = Math.min(...near.map(({ distance: d }) => d));
  return near
    .filter(({ distance: d }) => d <= best + 1)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map(({ candidate }) => candidate);
}

/** ` (did you mean "A" or "B"?)`, or nothing. */
export function didYouMean(suggestions: readonly string[]): string {
  if (suggestions.length === 0) return "";
  const quoted = suggestions.map((s) => `"${s}"`);
  const last = quoted.pop();
  return ` (did you mean ${quoted.length > 0 ? `${quoted.join(", ")} or ${last}` : last}?)`;
}
