// An inventory of Azure turned into azid manifests: one UserAssignedIdentity per user-assigned
// identity (its grants, credentials, attachments and Graph app roles), one
// SystemAssignedIdentity per resource with a system-assigned identity, and one CustomRole per
// custom role those grants use. Pure, so that what export writes is easy to test.
import { parseResourceId, resourceNameOf, resourceTypeOf, roleDefinitionGuid } from "../api/arm-id.js";
import { builtinRoleByGuid } from "../api/builtin-roles.js";
import { API_VERSION, type GraphAppRoleSpec, type RoleAssignmentSpec } from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import {
  CERTIFICATE_PERMISSIONS,
  KEY_PERMISSIONS,
  type KeyVaultAccessPolicySpec,
  type KeyVaultPermissions,
  SECRET_PERMISSIONS,
  STORAGE_PERMISSIONS,
} from "../api/schemas/key-vault.js";
import type { SystemAssignedIdentity } from "../api/schemas/system-assigned-identity.js";
import type { FederatedCredentialSpec, UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import type { IdentityBearingResource } from "../azure/inventory.js";
import type {
  ObservedFederatedCredential,
  ObservedIdentity,
  ObservedRoleAssignment,
  ObservedRoleDefinition,
  ObservedVault,
} from "../plan/observed.js";

/** A Graph app role granted to a principal, with the API's application id and the role's value. */
export interface GrantedAppRole {
  principalId: string;
  resourceAppId: string;
  appRoleId: string;
  appRoleValue?: string;
}

export interface AzureInventory {
  subscriptionId: string;
  identities: ObservedIdentity[];
  credentials: Map<string, ObservedFederatedCredential[]>;
  /** Resources with an identity block; those outside the exported group only for their attachments. */
  resources: IdentityBearingResource[];
  roleAssignments: ObservedRoleAssignment[];
  customRoles: ObservedRoleDefinition[];
  appRoles: GrantedAppRole[];
  /** Key Vaults of the subscription (issue 14): the access-policy entries of the exported principals. */
  vaults?: ObservedVault[];
}

export interface ExportOptions {
  namespace: string;
  deletionPolicy: "Delete" | "Orphan";
  /** Only system-assigned identities of resources in this group (all identities listed are exported). */
  resourceGroup?: string;
}

export type ExportedManifest = CustomRole | UserAssignedIdentity | SystemAssignedIdentity;

/** A DNS subdomain made of an Azure name, unique among `taken`. */
export function kubernetesName(name: string, taken: Set<string>): string {
  const base =
    name
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, "-")
      .replace(/\.{2,}/g, ".")
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
      .slice(0, 240) || "unnamed";
  let candidate = base;
  for (let n = 2; taken.has(candidate); n++) candidate = `${base}-${n}`;
  taken.add(candidate);
  return candidate;
}

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function exportManifests(inventory: AzureInventory, options: ExportOptions): ExportedManifest[] {
  const exportedAt = new Date().toISOString();
  const metadata = (name: string, annotations: Record<string, string>) => ({
    name,
    namespace: options.namespace,
    annotations: { "azid.dev/exported-at": exportedAt, ...annotations },
  });
  const principals = new Set<string>([
    ...inventory.identities.map((i) => i.principalId.toLowerCase()),
    ...systemAssignedResources(inventory, options).map((r) =>
      (r.identity.principalId as string).toLowerCase(),
    ),
  ]);
  const grants = inventory.roleAssignments.filter((a) => principals.has(a.principalId.toLowerCase()));

  // Custom roles first: the grants refer to them by CustomRole name.
  const roleNames = new Set<string>();
  const customRoles = new Map<string, CustomRole>();
  for (const definition of inventory.customRoles) {
    const guid = definition.name.toLowerCase();
    if (!grants.some((a) => roleDefinitionGuid(a.roleDefinitionId) === guid)) continue;
    customRoles.set(guid, {
      apiVersion: API_VERSION,
      kind: "CustomRole",
      metadata: metadata(kubernetesName(definition.roleName, roleNames), {
        "azid.dev/exported-role-definition": guid,
      }),
      spec: {
        subscriptionId: inventory.subscriptionId,
        roleName: definition.roleName,
        ...(definition.description ? { description: definition.description } : {}),
        permissions: definition.permissions.map((p) => ({
          ...(p.actions?.length ? { actions: [...p.actions] } : {}),
          ...(p.notActions?.length ? { notActions: [...p.notActions] } : {}),
          ...(p.dataActions?.length ? { dataActions: [...p.dataActions] } : {}),
          ...(p.notDataActions?.length ? { notDataActions: [...p.notDataActions] } : {}),
        })),
        assignableScopes: [...definition.assignableScopes],
        deletionPolicy: options.deletionPolicy,
      },
    });
  }
  const roleAssignmentsOf = (principalId: string): RoleAssignmentSpec[] =>
    grants
      .filter((a) => sameId(a.principalId, principalId))
      .map((a) => roleAssignmentSpec(a, customRoles))
      .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  const vaultsOf = (principalId: string) => keyVaultAccessPoliciesOf(inventory.vaults ?? [], principalId);
  const appRolesOf = (principalId: string): GraphAppRoleSpec[] =>
    inventory.appRoles
      .filter((r) => sameId(r.principalId, principalId))
      .map((r) => ({ resourceAppId: r.resourceAppId, appRole: r.appRoleValue ?? r.appRoleId }));

  const identityNames = new Set<string>();
  const userAssigned = [...inventory.identities]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((identity): UserAssignedIdentity => {
      const name = kubernetesName(identity.name, identityNames);
      const parsed = parseResourceId(identity.id);
      const credentials = inventory.credentials.get(identity.id.toLowerCase()) ?? [];
      const attachTo = inventory.resources
        .filter((r) =>
          Object.keys(r.identity.userAssignedIdentities ?? {}).some((id) => sameId(id, identity.id)),
        )
        .map((r) => r.id)
        .sort();
      const roleAssignments = roleAssignmentsOf(identity.principalId);
      const graphAppRoles = appRolesOf(identity.principalId);
      const keyVaultAccessPolicies = vaultsOf(identity.principalId);
      return {
        apiVersion: API_VERSION,
        kind: "UserAssignedIdentity",
        metadata: metadata(name, { "azid.dev/exported-principal-id": identity.principalId }),
        spec: {
          subscriptionId: parsed.subscriptionId,
          resourceGroup: parsed.resourceGroup as string,
          ...(name !== identity.name ? { name: identity.name } : {}),
          location: identity.location,
          ...(Object.keys(identity.tags).length > 0 ? { tags: { ...identity.tags } } : {}),
          ...(roleAssignments.length > 0 ? { roleAssignments } : {}),
          ...(credentials.length > 0 ? { federatedCredentials: credentials.map(credentialSpec) } : {}),
          ...(attachTo.length > 0 ? { attachTo } : {}),
          ...(graphAppRoles.length > 0 ? { graphAppRoles } : {}),
          ...(keyVaultAccessPolicies.length > 0 ? { keyVaultAccessPolicies } : {}),
          deletionPolicy: options.deletionPolicy,
        },
      };
    });

  const systemNames = new Set<string>();
  const systemAssigned = systemAssignedResources(inventory, options).map(
    (resource): SystemAssignedIdentity => {
      const parsed = parseResourceId(resource.id);
      const type = resourceTypeOf(parsed).split("/").pop() as string;
      const principalId = resource.identity.principalId as string;
      const roleAssignments = roleAssignmentsOf(principalId);
      const graphAppRoles = appRolesOf(principalId);
      const keyVaultAccessPolicies = vaultsOf(principalId);
      return {
        apiVersion: API_VERSION,
        kind: "SystemAssignedIdentity",
        metadata: metadata(kubernetesName(`${resourceNameOf(parsed)}-${type}`, systemNames), {
          "azid.dev/exported-principal-id": principalId,
        }),
        spec: {
          resourceId: resource.id,
          ...(roleAssignments.length > 0 ? { roleAssignments } : {}),
          ...(graphAppRoles.length > 0 ? { graphAppRoles } : {}),
          ...(keyVaultAccessPolicies.length > 0 ? { keyVaultAccessPolicies } : {}),
          deletionPolicy: options.deletionPolicy,
        },
      };
    },
  );
  return [...customRoles.values(), ...userAssigned, ...systemAssigned];
}

const PERMISSION_ENUMS: Record<keyof KeyVaultPermissions, readonly string[]> = {
  keys: KEY_PERMISSIONS,
  secrets: SECRET_PERMISSIONS,
  certificates: CERTIFICATE_PERMISSIONS,
  storage: STORAGE_PERMISSIONS,
};

/**
 * A principal's access-policy entries, one per vault in access-policy mode, with the permissions
 * spelled as the schema's enums (Azure compares them without case and may return `Get`).
 */
function keyVaultAccessPoliciesOf(
  vaults: readonly ObservedVault[],
  principalId: string,
): KeyVaultAccessPolicySpec[] {
  const out: KeyVaultAccessPolicySpec[] = [];
  for (const vault of [...vaults].sort((a, b) => a.id.localeCompare(b.id))) {
    if (vault.rbac) continue;
    const entry = vault.accessPolicies.find(
      (e) => sameId(e.objectId, principalId) && sameId(e.tenantId, vault.tenantId) && !e.applicationId,
    );
    if (!entry) continue;
    const permissions: KeyVaultPermissions = {};
    for (const kind of Object.keys(PERMISSION_ENUMS) as Array<keyof KeyVaultPermissions>) {
      const known = (entry.permissions[kind] ?? []).flatMap((p) => {
        const spelled = PERMISSION_ENUMS[kind].find((value) => value.toLowerCase() === p.toLowerCase());
        return spelled ? [spelled] : [];
      });
      if (known.length > 0) (permissions as Record<string, string[]>)[kind] = [...new Set(known)];
    }
    out.push({ vaultId: vault.id, permissions });
  }
  return out;
}

function systemAssignedResources(inventory: AzureInventory, options: ExportOptions) {
  return inventory.resources
    .filter(
      (r) =>
        r.identity.principalId !== undefined &&
        /systemassigned/i.test(r.identity.type) &&
        (options.resourceGroup === undefined ||
          sameId(parseResourceId(r.id).resourceGroup ?? "", options.resourceGroup)),
    )
    .sort((a, b) => a.id.localeCompare(b.id));
}

function roleAssignmentSpec(
  assignment: ObservedRoleAssignment,
  customRoles: ReadonlyMap<string, CustomRole>,
): RoleAssignmentSpec {
  const guid = roleDefinitionGuid(assignment.roleDefinitionId);
  const builtin = builtinRoleByGuid(guid);
  const custom = customRoles.get(guid);
  // A custom role is re-created with azid's own GUID after a move: refer to it by CustomRole.
  const role: Pick<RoleAssignmentSpec, "role" | "roleDefinitionId" | "customRoleRef"> = builtin
    ? { role: builtin.name }
    : custom
      ? { customRoleRef: { name: custom.metadata.name } }
      : { roleDefinitionId: assignment.roleDefinitionId };
  return {
    ...role,
    scope: assignment.scope,
    ...(assignment.condition ? { condition: assignment.condition } : {}),
    ...(assignment.condition && assignment.conditionVersion === "2.0"
      ? { conditionVersion: "2.0" as const }
      : {}),
    ...(assignment.description ? { description: assignment.description } : {}),
  };
}

function credentialSpec(credential: ObservedFederatedCredential): FederatedCredentialSpec {
  return {
    name: credential.name,
    issuer: credential.issuer,
    subject: credential.subject,
    audiences: [...credential.audiences],
  };
}
