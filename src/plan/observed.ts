// What the Azure layer reads, as the planner sees it. Every map knows two kinds of missing:
// "not read yet" (the key is absent: the planner asks for a read) and "read, absent" (null).
// Keys are lowercase (ARM ids compare case-insensitively); see the *Key functions.
import { armIdKey } from "../api/arm-id.js";
import type { Permission } from "../api/role-permissions.js";

export interface ObservedSubscription {
  subscriptionId: string;
  /** The subscription's tenant now (Subscriptions API). */
  tenantId: string;
}

/** A user-assigned identity (Microsoft.ManagedIdentity/userAssignedIdentities). */
export interface ObservedIdentity {
  id: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  principalId: string;
  clientId: string;
  tenantId: string;
}

export interface ObservedFederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface ObservedRoleAssignment {
  /** Full ARM id: {scope}/providers/Microsoft.Authorization/roleAssignments/{name}. */
  id: string;
  name: string;
  scope: string;
  /** As ARM returns it (tenant- or subscription-level id); compare with roleDefinitionGuid(). */
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  condition?: string;
  conditionVersion?: string;
  description?: string;
}

/** A resource's `identity` block (VMs, scale sets, sites, anything with managed identities). */
export interface ResourceIdentity {
  /** "None", "SystemAssigned", "UserAssigned" or "SystemAssigned, UserAssigned" (some providers omit the space). */
  type: string;
  principalId?: string;
  tenantId?: string;
  /** Keys are identity ids as the provider returns them (any case). */
  userAssignedIdentities?: Record<string, { principalId?: string; clientId?: string }>;
}

/** An attach target or a system-assigned identity's resource. */
export type ObservedTarget =
  | { state: "absent" }
  /** The resource exists but cannot carry managed identities (Cloud Services classic...). */
  | { state: "unsupported"; reason: string }
  /** identity is undefined when the resource has no identity block. */
  | { state: "present"; identity?: ResourceIdentity };

export interface ObservedRoleDefinition {
  id: string;
  /** The GUID. */
  name: string;
  roleName: string;
  type: "BuiltInRole" | "CustomRole";
  description?: string;
  permissions: Permission[];
  assignableScopes: string[];
}

/** A service principal of an API in a tenant (e.g. Microsoft Graph's), with its app roles. */
export interface ObservedServicePrincipal {
  objectId: string;
  appId: string;
  appRoles: Array<{ id: string; value?: string; isEnabled?: boolean }>;
}

export interface ObservedAppRoleAssignment {
  id: string;
  principalId: string;
  /** Object id of the resource API's service principal. */
  resourceId: string;
  appRoleId: string;
}

/** One access-policy entry of a vault (AccessPolicyEntry); permission lists as Azure returns them. */
export interface ObservedAccessPolicyEntry {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: VaultPermissions;
}
export type VaultPermissionKind = "keys" | "secrets" | "certificates" | "storage";
export type VaultPermissions = Partial<Record<VaultPermissionKind, string[]>>;

/** A Key Vault's management-plane state that access-policy grants depend on. */
export interface ObservedVault {
  id: string;
  /** The directory the vault authenticates against (properties.tenantId). */
  tenantId: string;
  /** enableRbacAuthorization: access policies are ignored when true. */
  rbac: boolean;
  accessPolicies: ObservedAccessPolicyEntry[];
}

/** A write or read that failed, as the act layer reports it. */
export interface ActionFailure {
  /** The ARM or Graph error code (e.g. RequestDisallowedByPolicy, AuthorizationFailed, TooManyRequests). */
  code: string;
  message: string;
  /** HTTP status when there was one. */
  status?: number;
}

export interface ObservedState {
  /** By subscriptionKey(). null: the subscription does not exist (or is not visible). */
  subscriptions: Record<string, ObservedSubscription | null>;
  /** User-assigned identities by armIdKey(id). */
  identities: Record<string, ObservedIdentity | null>;
  /** Federated credentials by armIdKey(identity id). */
  federatedCredentials: Record<string, ObservedFederatedCredential[]>;
  /** Role assignments of a principal under a listing scope, by listingKey(). */
  roleAssignments: Record<string, ObservedRoleAssignment[]>;
  /** Attach targets and system-assigned identity resources by armIdKey(id). */
  targets: Record<string, ObservedTarget>;
  /** Role definitions by GUID (lowercase). */
  roleDefinitions: Record<string, ObservedRoleDefinition | null>;
  /** Role definitions found by name in a subscription, by roleNameKey(). */
  roleDefinitionsByName: Record<string, ObservedRoleDefinition[]>;
  /** An API's service principal in a tenant, by servicePrincipalKey(). */
  servicePrincipals: Record<string, ObservedServicePrincipal | null>;
  /** App role assignments granted to a principal, by principalKey(). */
  appRoleAssignments: Record<string, ObservedAppRoleAssignment[]>;
  /** Key Vaults by armIdKey(id). null: the vault does not exist. */
  vaults: Record<string, ObservedVault | null>;
  /** Actions that failed in this reconcile, by Action.key: not retried until the next one. */
  failures: Record<string, ActionFailure>;
}

export function emptyObserved(): ObservedState {
  return {
    subscriptions: {},
    identities: {},
    federatedCredentials: {},
    roleAssignments: {},
    targets: {},
    roleDefinitions: {},
    roleDefinitionsByName: {},
    servicePrincipals: {},
    appRoleAssignments: {},
    vaults: {},
    failures: {},
  };
}

export const subscriptionKey = (subscriptionId: string) => subscriptionId.toLowerCase();
export const principalKey = (principalId: string) => principalId.toLowerCase();
export const listingKey = (listingScope: string, principalId: string) =>
  `${armIdKey(listingScope)}|${principalId.toLowerCase()}`;
export const roleNameKey = (subscriptionId: string, roleName: string) =>
  `${subscriptionId.toLowerCase()}|${roleName.toLowerCase()}`;
export const servicePrincipalKey = (tenantId: string, appId: string) =>
  `${tenantId.toLowerCase()}|${appId.toLowerCase()}`;
