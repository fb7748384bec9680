// Azure's built-in roles by name and by GUID (the table is generated from spec/).
import { BUILTIN_ROLE_ROWS } from "./builtin-roles.generated.js";

export interface BuiltinRole {
  name: string;
  /** The role definition GUID, lowercase. */
  guid: string;
  /** Its actions cover Microsoft.Authorization/roleAssignments/write (see role-permissions.ts). */
  privileged: boolean;
}

const ROLES: readonly BuiltinRole[] = BUILTIN_ROLE_ROWS.map(([name, guid, privileged]) => ({
  name,
  guid,
  privileged,
}));
const BY_NAME = new Map(ROLES.map((role) => [role.name.toLowerCase(), role]));
const BY_GUID = new Map(ROLES.map((role) => [role.guid, role]));

/** A built-in role by its name, ignoring case as Azure does. */
export function builtinRoleByName(name: string): BuiltinRole | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function builtinRoleByGuid(guid: string): BuiltinRole | undefined {
  return BY_GUID.get(guid.toLowerCase());
}

export function builtinRoles(): readonly BuiltinRole[] {
  return ROLES;
}
