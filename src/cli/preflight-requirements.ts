// What azid's own credential must be allowed to do for the declared resources, scope by scope,
// as Microsoft's managed-identity FAQ lists it: Managed Identity Contributor's actions where
// identities are created and deleted, Managed Identity Operator's assign action to attach them,
// write on each target resource (attachments, system-assigned identities), Role Based Access
// Control Administrator's actions where roles are granted, role definition writes for custom roles.
import {
  armIdKey,
  listingScopeOf,
  parseResourceId,
  parseScope,
  resourceGroupScope,
  resourceTypeOf,
  roleDefinitionGuid,
} from "../api/arm-id.js";
import { builtinRoleByGuid, builtinRoleByName } from "../api/builtin-roles.js";
import type { RoleAssignmentSpec } from "../api/schemas/common.js";
import { type ManagedResource, resourceKey } from "./manifests.js";
import { subscriptionOfResource } from "./resources.js";

export interface Requirement {
  scope: string;
  /** The subscription whose credential asks (the first resource's that needs it). */
  subscriptionId: string;
  action: string;
  /** Why azid needs it, for people. */
  why: string;
  /** The resources that need it (`Kind/namespace/name`). */
  resources: string[];
}

const MSI = "Microsoft.ManagedIdentity/userAssignedIdentities";
const ASSIGN = `${MSI}/assign/action`;
const ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments";
const ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions";
const KEY_VAULTS = "Microsoft.KeyVault/vaults";

/** Every (scope, action) the resources need, merged per scope and action. */
export function requirementsOf(resources: readonly ManagedResource[]): Requirement[] {
  const merged = new Map<string, Requirement>();
  const need = (scope: string, action: string, why: string, resource: ManagedResource) => {
    const key = `${armIdKey(scope)}|${action.toLowerCase()}`;
    const entry = merged.get(key) ?? {
      scope,
      subscriptionId: subscriptionOfResource(resource),
      action,
      why,
      resources: [],
    };
    const name = resourceKey(resource);
    if (!entry.resources.includes(name)) entry.resources.push(name);
    merged.set(key, entry);
  };
  const grants = (resource: ManagedResource, assignments: readonly RoleAssignmentSpec[] = []) => {
    for (const assignment of assignments) {
      const { scope } = assignment;
      // A principal's grants are listed once per subscription (or management group).
      need(
        listingScopeOf(parseScope(scope)),
        `${ROLE_ASSIGNMENTS}/read`,
        "list the principal's grants",
        resource,
      );
      for (const verb of ["write", "delete"]) {
        need(scope, `${ROLE_ASSIGNMENTS}/${verb}`, "grant and revoke roles", resource);
      }
      if (
        !(assignment.role && builtinRoleByName(assignment.role)) &&
        !builtinRoleId(assignment.roleDefinitionId)
      ) {
        need(
          `/subscriptions/${subscriptionOfResource(resource)}`,
          `${ROLE_DEFINITIONS}/read`,
          "look up roles that are not built-in",
          resource,
        );
      }
    }
  };
  const target = (resourceId: string, why: string, resource: ManagedResource) => {
    const type = resourceTypeOf(parseResourceId(resourceId));
    need(resourceId, `${type}/read`, `read ${why}`, resource);
    need(resourceId, `${type}/write`, `change the identity of ${why}`, resource);
  };
  // Key Vault access policies (issue 14): read the vault's mode, tenant and entries; write entries.
  const vaults = (resource: ManagedResource, items: readonly { vaultId: string }[] = []) => {
    for (const { vaultId } of items) {
      need(vaultId, `${KEY_VAULTS}/read`, "read vaults' mode, tenant and access policies", resource);
      need(
        vaultId,
        `${KEY_VAULTS}/accessPolicies/write`,
        "set and remove the identity's access-policy entries",
        resource,
      );
      // Only a tenant-move repair uses it; Key Vault Contributor, which preflight suggests, has it.
      need(vaultId, `${KEY_VAULTS}/write`, "reset the vault's tenant in a tenant-move repair", resource);
    }
  };
  for (const resource of resources) {
    switch (resource.kind) {
      case "UserAssignedIdentity": {
        const { spec } = resource;
        const group = resourceGroupScope(spec.subscriptionId, spec.resourceGroup);
        for (const verb of ["read", "write", "delete"]) {
          need(group, `${MSI}/${verb}`, "create, update and delete identities", resource);
        }
        if ((spec.federatedCredentials ?? []).length > 0) {
          for (const verb of ["read", "write", "delete"]) {
            need(
              group,
              `${MSI}/federatedIdentityCredentials/${verb}`,
              "write federated credentials",
              resource,
            );
          }
        }
        if ((spec.attachTo ?? []).length > 0) need(group, ASSIGN, "attach identities to resources", resource);
        for (const id of spec.attachTo ?? []) target(id, "attach targets", resource);
        grants(resource, spec.roleAssignments);
        vaults(resource, spec.keyVaultAccessPolicies);
        break;
      }
      case "SystemAssignedIdentity":
        target(resource.spec.resourceId, "resources with a system-assigned identity", resource);
        grants(resource, resource.spec.roleAssignments);
        vaults(resource, resource.spec.keyVaultAccessPolicies);
        break;
      case "CustomRole":
        for (const scope of [
          `/subscriptions/${resource.spec.subscriptionId}`,
          ...resource.spec.assignableScopes,
        ]) {
          for (const verb of ["read", "write", "delete"]) {
            need(scope, `${ROLE_DEFINITIONS}/${verb}`, "create, update and delete custom roles", resource);
          }
        }
        break;
    }
  }
  return [...merged.values()];
}

const builtinRoleId = (id: string | undefined) =>
  id !== undefined && builtinRoleByGuid(roleDefinitionGuid(id));
