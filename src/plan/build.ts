// Constructors for actions: each computes the action's key, its ARM limit charges and a
// description, so planners only say what they want done.
import { armIdKey, listingScopeOf, parseScope, roleAssignmentId } from "../api/arm-id.js";
import type {
  CreateIdentity,
  DeleteFederatedCredential,
  DeleteIdentity,
  DeleteRoleAssignment,
  DeleteRoleDefinition,
  FindRoleDefinitions,
  GrantAppRole,
  IdentityIntent,
  LimitCharge,
  LimitClass,
  ListAppRoleAssignments,
  ListFederatedCredentials,
  ListRoleAssignments,
  PatchResourceIdentity,
  Phase,
  PutFederatedCredential,
  PutRoleAssignment,
  PutRoleDefinition,
  ReadIdentity,
  ReadRoleDefinition,
  ReadServicePrincipal,
  ReadSubscription,
  ReadTarget,
  ReadVault,
  ResourceRef,
  RevokeAppRole,
  SetVaultTenant,
  UpdateIdentityTags,
  UpdateVaultAccessPolicy,
} from "./actions.js";
import type { ObservedAccessPolicyEntry, ResourceIdentity, VaultPermissions } from "./observed.js";

/** The subscription an ARM id belongs to, lowercase, or undefined (management groups, tenant level). */
export function subscriptionOfId(id: string): string | undefined {
  return /^\/subscriptions\/([^/]+)/.exec(armIdKey(id))?.[1];
}

const charge = (cls: LimitClass, id: string, extra: Partial<LimitCharge> = {}): LimitCharge => {
  const subscriptionId = subscriptionOfId(id);
  return { class: cls, ...(subscriptionId ? { subscriptionId } : {}), ...extra };
};

const arm = (phase: Phase, limits: LimitCharge[]) => ({ api: "arm" as const, phase, limits });
const graph = (phase: Phase) => ({ api: "graph" as const, phase, limits: [] });

// Reads.

export const readSubscription = (owner: ResourceRef, subscriptionId: string): ReadSubscription => ({
  kind: "ReadSubscription",
  key: `ReadSubscription:${subscriptionId.toLowerCase()}`,
  owner,
  description: `read subscription ${subscriptionId}`,
  ...arm("observe", [charge("read", `/subscriptions/${subscriptionId}`)]),
  subscriptionId,
});

export const readIdentity = (owner: ResourceRef, identityId: string): ReadIdentity => ({
  kind: "ReadIdentity",
  key: `ReadIdentity:${armIdKey(identityId)}`,
  owner,
  description: `read identity ${identityId}`,
  ...arm("observe", [charge("read", identityId)]),
  identityId,
});

export const listFederatedCredentials = (
  owner: ResourceRef,
  identityId: string,
): ListFederatedCredentials => ({
  kind: "ListFederatedCredentials",
  key: `ListFederatedCredentials:${armIdKey(identityId)}`,
  owner,
  description: `list federated credentials of ${identityId}`,
  ...arm("observe", [charge("read", identityId)]),
  identityId,
});

export const listRoleAssignments = (
  owner: ResourceRef,
  listingScope: string,
  principalId: string,
): ListRoleAssignments => ({
  kind: "ListRoleAssignments",
  key: `ListRoleAssignments:${armIdKey(listingScope)}|${principalId.toLowerCase()}`,
  owner,
  description: `list role assignments of principal ${principalId} in ${listingScope}`,
  ...arm("observe", [charge("read", listingScope)]),
  listingScope,
  principalId,
});

export const readTarget = (owner: ResourceRef, resourceId: string): ReadTarget => ({
  kind: "ReadTarget",
  key: `ReadTarget:${armIdKey(resourceId)}`,
  owner,
  description: `read the identity of ${resourceId}`,
  ...arm("observe", [charge("read", resourceId)]),
  resourceId,
});

export const readRoleDefinition = (
  owner: ResourceRef,
  subscriptionId: string,
  guid: string,
): ReadRoleDefinition => ({
  kind: "ReadRoleDefinition",
  key: `ReadRoleDefinition:${guid.toLowerCase()}`,
  owner,
  description: `read role definition ${guid}`,
  ...arm("observe", [charge("read", `/subscriptions/${subscriptionId}`)]),
  subscriptionId,
  guid,
});

export const findRoleDefinitions = (
  owner: ResourceRef,
  subscriptionId: string,
  roleName: string,
): FindRoleDefinitions => ({
  kind: "FindRoleDefinitions",
  key: `FindRoleDefinitions:${subscriptionId.toLowerCase()}|${roleName.toLowerCase()}`,
  owner,
  description: `find role "${roleName}" in subscription ${subscriptionId}`,
  ...arm("observe", [charge("read", `/subscriptions/${subscriptionId}`)]),
  subscriptionId,
  roleName,
});

export const readServicePrincipal = (
  owner: ResourceRef,
  tenantId: string,
  appId: string,
): ReadServicePrincipal => ({
  kind: "ReadServicePrincipal",
  key: `ReadServicePrincipal:${tenantId.toLowerCase()}|${appId.toLowerCase()}`,
  owner,
  description: `read the service principal of application ${appId}`,
  ...graph("observe"),
  tenantId,
  appId,
});

export const listAppRoleAssignments = (
  owner: ResourceRef,
  tenantId: string,
  principalId: string,
): ListAppRoleAssignments => ({
  kind: "ListAppRoleAssignments",
  key: `ListAppRoleAssignments:${principalId.toLowerCase()}`,
  owner,
  description: `list app role assignments of principal ${principalId}`,
  ...graph("observe"),
  tenantId,
  principalId,
});

// Writes.

export const createIdentity = (
  owner: ResourceRef,
  identityId: string,
  location: string,
  tags: Record<string, string>,
): CreateIdentity => ({
  kind: "CreateIdentity",
  key: `CreateIdentity:${armIdKey(identityId)}`,
  owner,
  description: `create identity ${identityId} in ${location}`,
  ...arm("identities", [
    charge("write", identityId),
    charge("identityCreate", identityId, { region: normalizeLocation(location) }),
  ]),
  identityId,
  location,
  tags,
});

export const updateIdentityTags = (
  owner: ResourceRef,
  identityId: string,
  tags: Record<string, string>,
): UpdateIdentityTags => ({
  kind: "UpdateIdentityTags",
  key: `UpdateIdentityTags:${armIdKey(identityId)}`,
  owner,
  description: `update the tags of identity ${identityId}`,
  ...arm("identities", [charge("write", identityId)]),
  identityId,
  tags,
});

export const deleteIdentity = (owner: ResourceRef, identityId: string, phase: Phase): DeleteIdentity => ({
  kind: "DeleteIdentity",
  key: `DeleteIdentity:${armIdKey(identityId)}`,
  owner,
  description: `delete identity ${identityId}`,
  ...arm(phase, [charge("delete", identityId)]),
  identityId,
});

export const putFederatedCredential = (
  owner: ResourceRef,
  identityId: string,
  credential: { name: string; issuer: string; subject: string; audiences: string[] },
): PutFederatedCredential => ({
  kind: "PutFederatedCredential",
  key: `PutFederatedCredential:${armIdKey(identityId)}/${credential.name.toLowerCase()}`,
  owner,
  description: `write federated credential ${credential.name} (${credential.issuer}, ${credential.subject}) on ${identityId}`,
  ...arm("identities", [
    charge("write", identityId),
    charge("ficWrite", identityId, { resourceId: identityId }),
  ]),
  serialKey: `federatedCredentials:${armIdKey(identityId)}`,
  identityId,
  ...credential,
});

export const deleteFederatedCredential = (
  owner: ResourceRef,
  identityId: string,
  name: string,
): DeleteFederatedCredential => ({
  kind: "DeleteFederatedCredential",
  key: `DeleteFederatedCredential:${armIdKey(identityId)}/${name.toLowerCase()}`,
  owner,
  description: `delete federated credential ${name} of ${identityId}`,
  ...arm("cleanup", [
    charge("delete", identityId),
    charge("ficWrite", identityId, { resourceId: identityId }),
  ]),
  serialKey: `federatedCredentials:${armIdKey(identityId)}`,
  identityId,
  name,
});

export const putRoleAssignment = (
  owner: ResourceRef,
  assignment: {
    scope: string;
    name: string;
    roleDefinitionId: string;
    principalId: string;
    roleName?: string;
    condition?: string;
    description?: string;
  },
): PutRoleAssignment => ({
  kind: "PutRoleAssignment",
  key: `PutRoleAssignment:${armIdKey(roleAssignmentId(assignment.scope, assignment.name))}`,
  owner,
  description: `grant ${assignment.roleName ?? assignment.roleDefinitionId} to ${assignment.principalId} at ${assignment.scope}`,
  ...arm("grants", [charge("write", assignment.scope)]),
  scope: assignment.scope,
  name: assignment.name,
  roleDefinitionId: assignment.roleDefinitionId,
  principalId: assignment.principalId,
  principalType: "ServicePrincipal",
  ...(assignment.condition ? { condition: assignment.condition, conditionVersion: "2.0" as const } : {}),
  ...(assignment.description ? { assignmentDescription: assignment.description } : {}),
});

export const deleteRoleAssignment = (
  owner: ResourceRef,
  assignment: { id: string; scope: string; principalId: string },
  phase: Phase,
): DeleteRoleAssignment => ({
  kind: "DeleteRoleAssignment",
  key: `DeleteRoleAssignment:${armIdKey(assignment.id)}`,
  owner,
  description: `delete role assignment ${assignment.id}`,
  ...arm(phase, [charge("delete", assignment.scope)]),
  roleAssignmentId: assignment.id,
  scope: assignment.scope,
  principalId: assignment.principalId,
});

export const patchResourceIdentity = (
  owner: ResourceRef,
  resourceId: string,
  change: string,
  identity: PatchResourceIdentity["identity"],
  expected: ResourceIdentity,
  phase: Phase,
  intent?: IdentityIntent,
): PatchResourceIdentity => ({
  kind: "PatchResourceIdentity",
  key: `PatchResourceIdentity:${armIdKey(resourceId)}|${change}`,
  owner,
  description: `${change} on ${resourceId}`,
  ...arm(phase, [charge("write", resourceId)]),
  serialKey: `identity:${armIdKey(resourceId)}`,
  resourceId,
  identity,
  expected,
  ...(intent ? { intent } : {}),
});

export const putRoleDefinition = (
  owner: ResourceRef,
  definition: Pick<
    PutRoleDefinition,
    "subscriptionId" | "guid" | "roleName" | "roleDescription" | "permissions" | "assignableScopes"
  >,
): PutRoleDefinition => ({
  kind: "PutRoleDefinition",
  key: `PutRoleDefinition:${definition.guid.toLowerCase()}`,
  owner,
  ...arm("customRoles", [charge("write", `/subscriptions/${definition.subscriptionId}`)]),
  ...definition,
  description: `write custom role "${definition.roleName}" (${definition.guid})`,
});

export const deleteRoleDefinition = (
  owner: ResourceRef,
  subscriptionId: string,
  guid: string,
): DeleteRoleDefinition => ({
  kind: "DeleteRoleDefinition",
  key: `DeleteRoleDefinition:${guid.toLowerCase()}`,
  owner,
  description: `delete custom role ${guid}`,
  ...arm("cleanup", [charge("delete", `/subscriptions/${subscriptionId}`)]),
  subscriptionId,
  guid,
});

export const grantAppRole = (
  owner: ResourceRef,
  grant: {
    tenantId: string;
    principalId: string;
    resourceServicePrincipalId: string;
    appRoleId: string;
    label: string;
  },
): GrantAppRole => ({
  kind: "GrantAppRole",
  key: `GrantAppRole:${grant.principalId.toLowerCase()}|${grant.resourceServicePrincipalId.toLowerCase()}|${grant.appRoleId.toLowerCase()}`,
  owner,
  description: `grant app role ${grant.label} to ${grant.principalId}`,
  ...graph("grants"),
  tenantId: grant.tenantId,
  principalId: grant.principalId,
  resourceServicePrincipalId: grant.resourceServicePrincipalId,
  appRoleId: grant.appRoleId,
});

export const revokeAppRole = (
  owner: ResourceRef,
  revoke: { tenantId: string; principalId: string; assignmentId: string; label: string },
  phase: Phase,
): RevokeAppRole => ({
  kind: "RevokeAppRole",
  key: `RevokeAppRole:${revoke.principalId.toLowerCase()}|${revoke.assignmentId}`,
  owner,
  description: `revoke app role ${revoke.label} from ${revoke.principalId}`,
  ...graph(phase),
  tenantId: revoke.tenantId,
  principalId: revoke.principalId,
  assignmentId: revoke.assignmentId,
});

// Key Vault access policies.

export const readVault = (owner: ResourceRef, vaultId: string): ReadVault => ({
  kind: "ReadVault",
  key: `ReadVault:${armIdKey(vaultId)}`,
  owner,
  description: `read Key Vault ${vaultId}`,
  ...arm("observe", [charge("read", vaultId)]),
  vaultId,
});

/** Sets (replace) or removes (remove) the access-policy entry of one principal on one vault. */
export const updateVaultAccessPolicy = (
  owner: ResourceRef,
  vaultId: string,
  operation: "replace" | "remove",
  entry: ObservedAccessPolicyEntry,
  phase: Phase,
): UpdateVaultAccessPolicy => ({
  kind: "UpdateVaultAccessPolicy",
  key: `UpdateVaultAccessPolicy:${armIdKey(vaultId)}|${entry.tenantId.toLowerCase()}|${entry.objectId.toLowerCase()}|${operation}`,
  owner,
  description:
    operation === "replace"
      ? `set the access policy of ${entry.objectId} on Key Vault ${vaultId} to ${describePermissions(entry.permissions)}`
      : `remove the access policy of ${entry.objectId} from Key Vault ${vaultId}`,
  ...arm(phase, [charge("write", vaultId)]),
  // Concurrent access-policy writes to one vault conflict at Azure: one at a time per vault.
  serialKey: `vault:${armIdKey(vaultId)}`,
  vaultId,
  operation,
  entry,
});

/** A tenant-move repair of a vault: its tenantId set to the subscription's new tenant. */
export const setVaultTenant = (
  owner: ResourceRef,
  vaultId: string,
  fromTenantId: string,
  tenantId: string,
): SetVaultTenant => ({
  kind: "SetVaultTenant",
  key: `SetVaultTenant:${armIdKey(vaultId)}|${tenantId.toLowerCase()}`,
  owner,
  description: `set the tenant of Key Vault ${vaultId} from ${fromTenantId} to ${tenantId}, removing the old tenant's entries`,
  ...arm("grants", [charge("write", vaultId)]),
  serialKey: `vault:${armIdKey(vaultId)}`,
  vaultId,
  fromTenantId,
  tenantId,
});

/** "secrets: get, list; keys: wrapKey" (or "no permissions"). */
export function describePermissions(permissions: VaultPermissions): string {
  const parts = (["keys", "secrets", "certificates", "storage"] as const)
    .filter((kind) => (permissions[kind] ?? []).length > 0)
    .map((kind) => `${kind}: ${(permissions[kind] ?? []).join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "no permissions";
}

/** `West Europe` and `westeurope` are the same region. */
export function normalizeLocation(location: string): string {
  return location.toLowerCase().replace(/\s+/g, "");
}

/** Where the role assignments of a principal at `scope` are listed (see listingScopeOf). */
export function listingScopeFor(scope: string): string {
  return listingScopeOf(parseScope(scope));
}
