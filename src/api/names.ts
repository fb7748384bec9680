// Deterministic names: the same inputs give the same Azure name on every run and replica, so
// a retried create finds its own earlier work instead of making a duplicate, and the name
// itself proves that azid made the object.
import { AZID_NAMESPACE, uuidV5 } from "./uuid.js";

/**
 * The name (a GUID) of the role assignment azid makes for a principal, a role definition and a
 * scope: UUID v5 over the lowercased scope, role definition GUID and principal id.
 */
export function roleAssignmentName(scope: string, roleDefinitionGuid: string, principalId: string): string {
  return uuidV5(AZID_NAMESPACE, [scope, roleDefinitionGuid, principalId].join("|").toLowerCase());
}

/**
 * The GUID of the custom role definition declared by a CustomRole: stable across renames of the
 * role and across a tenant move (the re-created definition gets the same id), derived from the
 * subscription and the CustomRole's namespace and name.
 */
export function customRoleGuid(subscriptionId: string, namespace: string, name: string): string {
  return uuidV5(AZID_NAMESPACE, `customRole|${subscriptionId.toLowerCase()}|${namespace}/${name}`);
}
