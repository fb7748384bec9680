// Condition types, their stable reasons, and the helpers every layer reads and sets conditions
// with. Dashboards, alerts and `kubectl wait` key on these strings: add new ones, never rename.
import type { Condition } from "./schemas/common.js";

export const ConditionType = {
  /** The summary kstatus, Argo CD and Flux read: True when Azure is as declared. */
  Ready: "Ready",
  /** The user-assigned identity exists as declared (or the system-assigned one is enabled). */
  IdentityReady: "IdentityReady",
  /**
   * Every declared role assignment exists for the identity's principal (and those azid made and
   * no longer declared are gone).
   */
  RolesGranted: "RolesGranted",
  /** Every declared federated identity credential exists as declared. */
  CredentialsReady: "CredentialsReady",
  /** The identity is attached to every resource of attachTo (and detached from those no longer listed). */
  Attached: "Attached",
  /** Every declared Microsoft Graph (or other API) app role is assigned to the identity's principal. */
  GraphRolesGranted: "GraphRolesGranted",
  /** Every declared Key Vault access-policy entry is on its vault as declared (and removed ones are gone). */
  KeyVaultAccessGranted: "KeyVaultAccessGranted",
  /** True when the identity's tenant is not the subscription's tenant any more (a tenant move). */
  TenantMismatch: "TenantMismatch",
  /** True when an IdentityPolicy refuses part of the spec; nothing is written to Azure then. */
  PolicyViolation: "PolicyViolation",
  /**
   * The identity's namespace has what its workloads need: the ServiceAccounts of
   * spec.serviceAccounts carry its client and tenant ids, the exports hold its ids, and the
   * workloads whose client id changed were restarted. Ready requires it.
   */
  WorkloadsWired: "WorkloadsWired",
  /** TenantMigration: the plan is computed. */
  Planned: "Planned",
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  // Progress and success.
  /** Azure is as declared (Ready), or every item of a detail condition is. */
  Reconciled: "Reconciled",
  /** azid is changing Azure, or waits for a long-running operation, or has not looked yet. */
  Progressing: "Progressing",
  /** A detail condition with nothing declared for it (no credentials, say): True. */
  NothingDeclared: "NothingDeclared",
  /** The resource is being deleted: azid removes what it made in Azure before it lets the object go. */
  Deleting: "Deleting",
  /** Deleted with deletionPolicy Orphan (or ObserveOnly): Azure is left as it is. */
  Orphaned: "Orphaned",
  /** ObserveOnly: Azure matches the declaration. */
  Observed: "Observed",
  /** ObserveOnly: Azure differs from the declaration; the differences are in the item states. */
  Drifted: "Drifted",
  /** An item waits for an input that is not there yet (a principal id, a custom role). */
  Waiting: "Waiting",

  // Refusals and failures.
  /** The spec does not pass the schema (the CRD's checks were bypassed): nothing is done. */
  InvalidSpec: "InvalidSpec",
  /**
   * The cluster's service-account issuer is unknown (not configured, and the API server's
   * discovery document could not be read): the ServiceAccounts' federated credentials wait.
   */
  IssuerUnknown: "IssuerUnknown",
  /**
   * The identity (or the resource's system-assigned identity) does not exist in Azure and azid may
   * not create it.
   */
  IdentityNotFound: "IdentityNotFound",
  /** A resource of attachTo, or a SystemAssignedIdentity's resourceId, does not exist. */
  TargetNotFound: "TargetNotFound",
  /** The identity's resource group does not exist; azid does not create resource groups. */
  ResourceGroupNotFound: "ResourceGroupNotFound",
  /** Cloud Services (classic) and other targets without managed identity support. */
  UnsupportedTarget: "UnsupportedTarget",
  /** The identity's region differs from spec.location; Azure cannot move an identity. */
  LocationMismatch: "LocationMismatch",
  /** A role named by name or id does not exist (or is ambiguous) where it is granted. */
  RoleNotFound: "RoleNotFound",
  /** customRoleRef names a CustomRole that does not exist in the namespace. */
  CustomRoleNotFound: "CustomRoleNotFound",
  /** The API has no service principal in the tenant, or no enabled app role of that value or id. */
  AppRoleNotFound: "AppRoleNotFound",
  /** RequestDisallowedByPolicy: an Azure Policy assignment denies the request (terminal). */
  AzurePolicyDenied: "AzurePolicyDenied",
  /** AuthorizationFailed / LinkedAuthorizationFailed: azid's credential lacks an action. */
  MissingPermission: "MissingPermission",
  /** 401 InvalidAuthenticationTokenTenant: azid's credential is from the old tenant. */
  CredentialTenantMismatch: "CredentialTenantMismatch",
  /** Entra does not know the principal yet (replication of a new one) or any more: retried with backoff. */
  PrincipalNotFound: "PrincipalNotFound",
  /** The subscription holds the most role assignments Azure allows. */
  RoleAssignmentLimitExceeded: "RoleAssignmentLimitExceeded",
  /** ARM answered 429, or azid's own rate gate held the call back: retried after Retry-After. */
  Throttled: "Throttled",
  /** A vault of keyVaultAccessPolicies does not exist (or azid cannot see it). */
  VaultNotFound: "VaultNotFound",
  /** The vault uses Azure RBAC (enableRbacAuthorization): access policies are ignored, grant a role instead. */
  VaultInRbacMode: "VaultInRbacMode",
  /** The vault's tenant is not the subscription's (a tenant move): its entries wait for the repair. */
  VaultTenantMismatch: "VaultTenantMismatch",
  /** Any other failure of Azure (5xx, a dropped connection, a refused request). */
  AzureError: "AzureError",

  // WorkloadsWired.
  /** A ServiceAccount of spec.serviceAccounts does not exist (yet): it is wired as soon as it appears. */
  ServiceAccountNotFound: "ServiceAccountNotFound",
  /**
   * Another field manager set the ServiceAccount's client-id annotation back after azid set it
   * (a manifest in Git hard-coding an old value): azid does not fight it; remove the annotation
   * from that manifest.
   */
  ServiceAccountConflict: "ServiceAccountConflict",
  /** The export's ConfigMap or Secret exists and is not owned by this identity: azid does not take it over. */
  ExportConflict: "ExportConflict",
  /** The Kubernetes API refused a write of the wiring (RBAC, admission, validation): see the message. */
  KubernetesError: "KubernetesError",

  // TenantMismatch.
  /** The identity's tenant differs from its subscription's tenant: the subscription moved. */
  TenantMoved: "TenantMoved",
  /** The identity is in its subscription's tenant. */
  TenantMatches: "TenantMatches",
  /** The repair is not automatic here: a TenantMigration (or `azid remediate`) must run it. */
  RepairAwaitingApproval: "RepairAwaitingApproval",
  /** The tenant move is being repaired: the identity is deleted and re-created, or turned off and on. */
  Repairing: "Repairing",

  // PolicyViolation.
  /** An IdentityPolicy refuses the resource or one of its items. */
  PolicyDenied: "PolicyDenied",
  /** The IdentityPolicies allow everything the resource declares. */
  PolicyAllowed: "PolicyAllowed",

  // Warnings and notices.
  /** Attached, but the target now has several user-assigned identities and no system-assigned one. */
  NoDefaultIdentity: "NoDefaultIdentity",
  /** A revocation or deletion that tokens already issued (cached about 24 h) do not see yet. */
  TokenCaching: "TokenCaching",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/**
 * TenantMigration's own condition types, reasons and event reasons (docs/troubleshooting.md,
 * section TenantMigration). The Planned condition type is shared with ConditionType.
 */
export const MigrationCondition = {
  /** True once every CustomRole of the subscription exists again: identities are repaired next. */
  CustomRolesRestored: "CustomRolesRestored",
} as const;

export const MigrationReason = {
  /** The plan is in status.plan. */
  PlanReady: "PlanReady",
  /** The identities already belong to the subscription's tenant. */
  NothingToRepair: "NothingToRepair",
  /** Planning needs reads azid could not make (see the message); retried. */
  PlanFailed: "PlanFailed",
  /** Applying: custom roles are re-created first. */
  Restoring: "Restoring",
  /** Every custom role exists again. */
  Restored: "Restored",
} as const;

export const MigrationEvent = {
  Planned: "Planned",
  Approved: "Approved",
  RepairSucceeded: "RepairSucceeded",
  RepairFailed: "RepairFailed",
  PlanFailed: "PlanFailed",
  /** The subscription moved again while the repair was applying: it now targets the newer tenant. */
  TenantChanged: "TenantChanged",
} as const;

/**
 * What a planner or reconciler decides about one condition; lastTransitionTime and
 * observedGeneration are filled in when it is set. Planners narrow `reason` to `Reason`.
 */
export interface ConditionUpdate<R extends string = string> {
  type: string;
  status: Condition["status"];
  reason: R;
  message: string;
}

/** metav1.Time: RFC 3339 in whole seconds, as the API server writes it. */
export function kubeTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** The condition of that type, if the list has one (apimachinery's meta.FindStatusCondition). */
export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/** Whether the condition of that type is there with status True (meta.IsStatusConditionTrue). */
export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === "True";
}

export interface ConditionStamp {
  /** When a condition whose status changes is stamped: an RFC 3339 string or a Date. */
  now: string | Date;
  /** The .metadata.generation the condition was decided for. */
  generation?: number | undefined;
}

/**
 * The condition as `update` decides it, stamped: lastTransitionTime stays what `before` had while
 * the status stays, and is `now` when it changes (or `before` had none).
 */
export function transition(
  before: Condition | undefined,
  update: ConditionUpdate,
  stamp: ConditionStamp,
): Condition {
  const now = typeof stamp.now === "string" ? stamp.now : kubeTime(stamp.now);
  return {
    ...update,
    lastTransitionTime:
      before && before.status === update.status && before.lastTransitionTime
        ? before.lastTransitionTime
        : now,
    ...(stamp.generation !== undefined ? { observedGeneration: stamp.generation } : {}),
  };
}

/**
 * Returns the conditions with `update` applied (apimachinery's meta.SetStatusCondition): the
 * condition of that type is replaced in place or appended, keeping its lastTransitionTime while
 * its status stays.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  stamp: ConditionStamp,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === update.type);
  const next = transition(list[index], update, stamp);
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/**
 * The full list of conditions a status reports, in the order decided, each stamped against the
 * condition of its type in `previous` (conditions not decided any more are dropped).
 */
export function replaceConditions(
  previous: readonly Condition[] | undefined,
  decided: readonly ConditionUpdate[],
  stamp: ConditionStamp,
): Condition[] {
  return decided.map((update) => transition(getCondition(previous, update.type), update, stamp));
}
