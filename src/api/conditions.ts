// Condition types and their stable reasons. Dashboards, alerts and `kubectl wait` key on these
// strings: add new ones, never rename.

export const ConditionType = {
  /** The summary kstatus, Argo CD and Flux read: True when Azure is as declared. */
  Ready: "Ready",
  /** The user-assigned identity exists as declared (or the system-assigned one is enabled). */
  IdentityReady: "IdentityReady",
  RolesGranted: "RolesGranted",
  CredentialsReady: "CredentialsReady",
  Attached: "Attached",
  GraphRolesGranted: "GraphRolesGranted",
  /** True when the identity's tenant is not the subscription's tenant any more (a tenant move). */
  TenantMismatch: "TenantMismatch",
  /** True when an IdentityPolicy refuses part of the spec; nothing is written to Azure then. */
  PolicyViolation: "PolicyViolation",
  /** TenantMigration: the plan is computed. */
  Planned: "Planned",
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  // Progress and success.
  Reconciled: "Reconciled",
  Progressing: "Progressing",
  NothingDeclared: "NothingDeclared",
  Deleting: "Deleting",
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
  IdentityNotFound: "IdentityNotFound",
  TargetNotFound: "TargetNotFound",
  ResourceGroupNotFound: "ResourceGroupNotFound",
  /** Cloud Services (classic) and other targets without managed identity support. */
  UnsupportedTarget: "UnsupportedTarget",
  /** The identity's region differs from spec.location; Azure cannot move an identity. */
  LocationMismatch: "LocationMismatch",
  RoleNotFound: "RoleNotFound",
  CustomRoleNotFound: "CustomRoleNotFound",
  AppRoleNotFound: "AppRoleNotFound",
  /** RequestDisallowedByPolicy: an Azure Policy assignment denies the request (terminal). */
  AzurePolicyDenied: "AzurePolicyDenied",
  /** AuthorizationFailed / LinkedAuthorizationFailed: azid's credential lacks an action. */
  MissingPermission: "MissingPermission",
  /** 401 InvalidAuthenticationTokenTenant: azid's credential is from the old tenant. */
  CredentialTenantMismatch: "CredentialTenantMismatch",
  PrincipalNotFound: "PrincipalNotFound",
  RoleAssignmentLimitExceeded: "RoleAssignmentLimitExceeded",
  Throttled: "Throttled",
  AzureError: "AzureError",

  // TenantMismatch.
  TenantMoved: "TenantMoved",
  TenantMatches: "TenantMatches",
  /** The repair is not automatic here: a TenantMigration (or `azid remediate`) must run it. */
  RepairAwaitingApproval: "RepairAwaitingApproval",
  Repairing: "Repairing",

  // PolicyViolation.
  PolicyDenied: "PolicyDenied",
  PolicyAllowed: "PolicyAllowed",

  /** Attached, but the target now has several user-assigned identities and no system-assigned one. */
  NoDefaultIdentity: "NoDefaultIdentity",
  /** A revocation or deletion that tokens already issued (cached about 24 h) do not see yet. */
  TokenCaching: "TokenCaching",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
