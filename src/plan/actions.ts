// The actions a plan is made of: everything the act layer needs to make one call, and the
// ARM limit classes the call is charged to, so a pacer can reserve tokens before sending it.
//
// Contract with the act layer: the actions of one plan are independent of each other and may
// run concurrently, except that actions sharing a `serialKey` run one after another, in list
// order. The act layer folds each outcome into the observed state with applyResult() and asks
// the planner again, until the plan is empty.
import type { Permission } from "../api/role-permissions.js";
import type { ObservedAccessPolicyEntry, ResourceIdentity } from "./observed.js";

/** ARM's throttling classes (spec/azure-api/LIMITS.md). */
export type LimitClass = "read" | "write" | "delete" | "identityCreate" | "ficWrite";

/** One token an action takes from one bucket. */
export interface LimitCharge {
  class: LimitClass;
  /** The subscription whose buckets pay; absent for tenant-level calls (management group scopes). */
  subscriptionId?: string;
  /** identityCreate buckets are per subscription and region. */
  region?: string;
  /** ficWrite also has a bucket per identity (0.25 writes/s). */
  resourceId?: string;
}

/** The azid resource an action works for. */
/** Whose work an action is: a managed resource, or a TenantMigration reading for its plan. */
export interface ResourceRef {
  kind: "UserAssignedIdentity" | "SystemAssignedIdentity" | "CustomRole" | "TenantMigration";
  namespace: string;
  name: string;
}

export const formatRef = (ref: ResourceRef) => `${ref.kind}/${ref.namespace}/${ref.name}`;

/**
 * Where an action sits in a repair: custom roles first, then teardown of broken identities,
 * identities, attachments, grants, and removal of what is no longer declared.
 */
export type Phase =
  | "observe"
  | "customRoles"
  | "teardown"
  | "identities"
  | "attachments"
  | "grants"
  | "cleanup";
export const PHASE_ORDER: readonly Phase[] = [
  "observe",
  "customRoles",
  "teardown",
  "identities",
  "attachments",
  "grants",
  "cleanup",
];

interface Base {
  /** Stable identity of the action (a failure is remembered under it for the rest of the reconcile). */
  key: string;
  owner: ResourceRef;
  /** What the action does, for plans, events and logs. */
  description: string;
  /** "arm" calls are paced by `limits`; "graph" calls go to Microsoft Graph. */
  api: "arm" | "graph";
  limits: LimitCharge[];
  phase: Phase;
  /** Actions with the same serialKey run one at a time, in order. */
  serialKey?: string;
}

// Reads.

/** GET /subscriptions/{id} (api 2022-12-01): the subscription's tenant. */
export interface ReadSubscription extends Base {
  kind: "ReadSubscription";
  subscriptionId: string;
}
/** GET a user-assigned identity (404 = absent). */
export interface ReadIdentity extends Base {
  kind: "ReadIdentity";
  identityId: string;
}
/** GET {identity}/federatedIdentityCredentials (all pages). */
export interface ListFederatedCredentials extends Base {
  kind: "ListFederatedCredentials";
  identityId: string;
}
/** GET {listingScope}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{id}' (all pages). */
export interface ListRoleAssignments extends Base {
  kind: "ListRoleAssignments";
  listingScope: string;
  principalId: string;
}
/** GET a resource with its provider's api-version, keeping only its `identity` (404 = absent). */
export interface ReadTarget extends Base {
  kind: "ReadTarget";
  resourceId: string;
}
/** GET /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid} (404 = absent). */
export interface ReadRoleDefinition extends Base {
  kind: "ReadRoleDefinition";
  subscriptionId: string;
  guid: string;
}
/** GET /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName eq '{name}'. */
export interface FindRoleDefinitions extends Base {
  kind: "FindRoleDefinitions";
  subscriptionId: string;
  roleName: string;
}
/** Graph: GET /servicePrincipals?$filter=appId eq '{appId}' in the tenant. */
export interface ReadServicePrincipal extends Base {
  kind: "ReadServicePrincipal";
  tenantId: string;
  appId: string;
}
/** Graph: GET /servicePrincipals/{principalId}/appRoleAssignments (404 = none). */
export interface ListAppRoleAssignments extends Base {
  kind: "ListAppRoleAssignments";
  tenantId: string;
  principalId: string;
}

/** GET a Key Vault (Microsoft.KeyVault 2026-02-01): tenant, RBAC mode and access policies (404 = absent). */
export interface ReadVault extends Base {
  kind: "ReadVault";
  vaultId: string;
}

// Writes.

/** PUT a user-assigned identity (api 2024-11-30); its response carries principalId and clientId. */
export interface CreateIdentity extends Base {
  kind: "CreateIdentity";
  identityId: string;
  location: string;
  tags: Record<string, string>;
}
/** PATCH a user-assigned identity's tags (the full map to keep). */
export interface UpdateIdentityTags extends Base {
  kind: "UpdateIdentityTags";
  identityId: string;
  tags: Record<string, string>;
}
/** DELETE a user-assigned identity (it does not detach it: detaches come first). */
export interface DeleteIdentity extends Base {
  kind: "DeleteIdentity";
  identityId: string;
}
/** PUT {identity}/federatedIdentityCredentials/{name}. Serialised per identity (concurrent writes get 409). */
export interface PutFederatedCredential extends Base {
  kind: "PutFederatedCredential";
  identityId: string;
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}
export interface DeleteFederatedCredential extends Base {
  kind: "DeleteFederatedCredential";
  identityId: string;
  name: string;
}
/**
 * PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name} (api 2022-04-01) with
 * principalType ServicePrincipal (new principals replicate slowly; PrincipalNotFound is retryable).
 * Also updates the condition or description of an existing assignment under its own name.
 */
export interface PutRoleAssignment extends Base {
  kind: "PutRoleAssignment";
  scope: string;
  name: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: "ServicePrincipal";
  condition?: string;
  conditionVersion?: "2.0";
  /** The assignment's own description (`description` is the action's). */
  assignmentDescription?: string;
}
/** DELETE /{roleAssignmentId}. */
export interface DeleteRoleAssignment extends Base {
  kind: "DeleteRoleAssignment";
  roleAssignmentId: string;
  scope: string;
  principalId: string;
}
/**
 * What an identity PATCH is for, independent of the rest of the block: several resources may
 * change one target's identity, and a PATCH computed from an older read must be rebased on the
 * block as it is when it is sent (changeFor in identity-block.ts).
 */
export type IdentityIntent = { attach: string } | { detach: string } | { systemAssigned: boolean };

/**
 * PATCH {resourceId} with `{ identity }` only, never a full PUT of someone else's resource.
 * `identity.userAssignedIdentities` maps ids to {} (add) or null (remove); serialised per resource.
 */
export interface PatchResourceIdentity extends Base {
  kind: "PatchResourceIdentity";
  resourceId: string;
  identity: {
    type: "None" | "SystemAssigned" | "UserAssigned" | "SystemAssigned, UserAssigned";
    userAssignedIdentities?: Record<string, Record<string, never> | null>;
  };
  /** The identity block this PATCH should leave (for applyResult when the response has none). */
  expected: ResourceIdentity;
  intent?: IdentityIntent;
}
/** PUT /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}. */
export interface PutRoleDefinition extends Base {
  kind: "PutRoleDefinition";
  subscriptionId: string;
  guid: string;
  roleName: string;
  /** The role's own description (`description` is the action's). */
  roleDescription: string;
  permissions: Permission[];
  assignableScopes: string[];
}
export interface DeleteRoleDefinition extends Base {
  kind: "DeleteRoleDefinition";
  subscriptionId: string;
  guid: string;
}
/** Graph: POST /servicePrincipals/{principalId}/appRoleAssignments. */
export interface GrantAppRole extends Base {
  kind: "GrantAppRole";
  tenantId: string;
  principalId: string;
  resourceServicePrincipalId: string;
  appRoleId: string;
}
/** Graph: DELETE /servicePrincipals/{principalId}/appRoleAssignments/{assignmentId}. */
export interface RevokeAppRole extends Base {
  kind: "RevokeAppRole";
  tenantId: string;
  principalId: string;
  assignmentId: string;
}

/**
 * PUT {vault}/accessPolicies/{operation}: changes the one entry of `entry.objectId` and nothing
 * else on the vault (never a read-modify-write of the whole vault). replace sets the entry's
 * permissions exactly (adding it when absent); remove takes the listed permissions out and drops
 * the entry when none remain. Serialised per vault.
 */
export interface UpdateVaultAccessPolicy extends Base {
  kind: "UpdateVaultAccessPolicy";
  vaultId: string;
  operation: "replace" | "remove";
  entry: ObservedAccessPolicyEntry;
}

/**
 * A tenant-move repair of a vault: under the vault's lock, read it, and only if it is still in
 * another tenant PATCH `properties.tenantId` with `accessPolicies: []` (every entry names an object
 * of the old tenant). Idempotent, so every identity of the vault may ask for it.
 */
export interface SetVaultTenant extends Base {
  kind: "SetVaultTenant";
  vaultId: string;
  fromTenantId: string;
  tenantId: string;
}

export type ReadAction =
  | ReadSubscription
  | ReadIdentity
  | ListFederatedCredentials
  | ListRoleAssignments
  | ReadTarget
  | ReadRoleDefinition
  | FindRoleDefinitions
  | ReadServicePrincipal
  | ListAppRoleAssignments
  | ReadVault;

export type WriteAction =
  | CreateIdentity
  | UpdateIdentityTags
  | DeleteIdentity
  | PutFederatedCredential
  | DeleteFederatedCredential
  | PutRoleAssignment
  | DeleteRoleAssignment
  | PatchResourceIdentity
  | PutRoleDefinition
  | DeleteRoleDefinition
  | GrantAppRole
  | RevokeAppRole
  | UpdateVaultAccessPolicy
  | SetVaultTenant;

export type Action = ReadAction | WriteAction;
export type ActionKind = Action["kind"];

const READ_KINDS = new Set<ActionKind>([
  "ReadSubscription",
  "ReadIdentity",
  "ListFederatedCredentials",
  "ListRoleAssignments",
  "ReadTarget",
  "ReadRoleDefinition",
  "FindRoleDefinitions",
  "ReadServicePrincipal",
  "ListAppRoleAssignments",
  "ReadVault",
]);

export function isRead(action: Action): action is ReadAction {
  return READ_KINDS.has(action.kind);
}

export function writesOf(actions: readonly Action[]): WriteAction[] {
  return actions.filter((action): action is WriteAction => !isRead(action));
}
