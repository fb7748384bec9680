// What azid's own credential must be allowed to do for one planned write, scope by scope, so
// that a missing permission is reported as a condition before the write is sent, naming the
// action (Microsoft's managed-identities FAQ lists these).
import { parseResourceId, resourceGroupScope, resourceTypeOf } from "../api/arm-id.js";
import type { WriteAction } from "./actions.js";

export interface RequiredPermission {
  scope: string;
  action: string;
}

const MSI = "Microsoft.ManagedIdentity/userAssignedIdentities";
const ASSIGN = `${MSI}/assign/action`;

function identityGroup(identityId: string): string {
  const parsed = parseResourceId(identityId);
  return parsed.resourceGroup ? resourceGroupScope(parsed.subscriptionId, parsed.resourceGroup) : identityId;
}

/** The ARM actions one write needs; Graph calls need Graph permissions, which ARM cannot tell. */
export function requiredPermissions(action: WriteAction): RequiredPermission[] {
  switch (action.kind) {
    case "CreateIdentity":
    case "UpdateIdentityTags":
      return [{ scope: identityGroup(action.identityId), action: `${MSI}/write` }];
    case "DeleteIdentity":
      return [{ scope: identityGroup(action.identityId), action: `${MSI}/delete` }];
    case "PutFederatedCredential":
      return [
        { scope: identityGroup(action.identityId), action: `${MSI}/federatedIdentityCredentials/write` },
      ];
    case "DeleteFederatedCredential":
      return [
        { scope: identityGroup(action.identityId), action: `${MSI}/federatedIdentityCredentials/delete` },
      ];
    case "PutRoleAssignment":
      return [{ scope: action.scope, action: "Microsoft.Authorization/roleAssignments/write" }];
    case "DeleteRoleAssignment":
      return [{ scope: action.scope, action: "Microsoft.Authorization/roleAssignments/delete" }];
    case "PutRoleDefinition":
      return [
        {
          scope: `/subscriptions/${action.subscriptionId}`,
          action: "Microsoft.Authorization/roleDefinitions/write",
        },
      ];
    case "DeleteRoleDefinition":
      return [
        {
          scope: `/subscriptions/${action.subscriptionId}`,
          action: "Microsoft.Authorization/roleDefinitions/delete",
        },
      ];
    case "PatchResourceIdentity": {
      const needs = [
        { scope: action.resourceId, action: `${resourceTypeOf(parseResourceId(action.resourceId))}/write` },
      ];
      // Attaching a user-assigned identity is a linked check on the identity itself.
      for (const [identityId, value] of Object.entries(action.identity.userAssignedIdentities ?? {})) {
        if (value !== null) needs.push({ scope: identityId, action: ASSIGN });
      }
      return needs;
    }
    case "GrantAppRole":
    case "RevokeAppRole":
      return [];
    case "SetVaultTenant":
      return [{ scope: action.vaultId, action: "Microsoft.KeyVault/vaults/write" }];
    case "UpdateVaultAccessPolicy":
      return [{ scope: action.vaultId, action: "Microsoft.KeyVault/vaults/accessPolicies/write" }];
  }
}
