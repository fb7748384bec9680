import { type Static, Type } from "typebox";
import {
  API_VERSION,
  Conditions,
  DeletionPolicy,
  GraphAppRoleStatus,
  GraphAppRoles,
  ManagementPolicy,
  ObjectMeta,
  RoleAssignmentStatus,
  RoleAssignments,
  resourceId,
} from "./common.js";
import { bool, immutable, int, list, Optional, obj, str } from "./helpers.js";
import { KeyVaultAccessPolicies, KeyVaultAccessPolicyStatus } from "./key-vault.js";
import { Exports, wiringStatusFields } from "./workload-wiring.js";

export const SystemAssignedIdentitySpec = obj(
  {
    resourceId: resourceId(
      "The resource whose system-assigned identity azid enables (its user-assigned identities are kept).",
      { "x-kubernetes-validations": [immutable("resourceId")] },
    ),
    roleAssignments: Optional(RoleAssignments),
    graphAppRoles: Optional(GraphAppRoles),
    keyVaultAccessPolicies: Optional(KeyVaultAccessPolicies),
    exports: Optional(Exports),
    deletionPolicy: Optional(DeletionPolicy),
    managementPolicy: Optional(ManagementPolicy),
  },
  "The desired state of a resource's system-assigned managed identity and its grants.",
);
export type SystemAssignedIdentitySpec = Static<typeof SystemAssignedIdentitySpec>;

export const SystemAssignedIdentityStatus = obj(
  {
    observedGeneration: Optional(
      int("The generation this status describes.", { minimum: 0, format: "int64" }),
    ),
    conditions: Optional(Conditions),
    principalId: Optional(
      str("Object id of the system-assigned identity's service principal.", { maxLength: 36 }),
    ),
    tenantId: Optional(str("Tenant of the principal.", { maxLength: 36 })),
    enabledByAzid: Optional(
      bool("True when azid turned the system-assigned identity on, so it may turn it off on deletion."),
    ),
    roleAssignments: Optional(list(RoleAssignmentStatus, "One entry per declared or owned role assignment.")),
    graphAppRoles: Optional(list(GraphAppRoleStatus, "One entry per declared or owned Graph app role.")),
    keyVaultAccessPolicies: Optional(
      list(KeyVaultAccessPolicyStatus, "One entry per declared or owned Key Vault access-policy entry."),
    ),
    exports: wiringStatusFields.exports,
  },
  "The observed state of a system-assigned managed identity.",
);
export type SystemAssignedIdentityStatus = Static<typeof SystemAssignedIdentityStatus>;

export const SystemAssignedIdentity = obj(
  {
    apiVersion: Type.Literal(API_VERSION, { description: "azid.dev/v1alpha1" }),
    kind: Type.Literal("SystemAssignedIdentity", { description: "SystemAssignedIdentity" }),
    metadata: ObjectMeta,
    spec: SystemAssignedIdentitySpec,
    status: Optional(SystemAssignedIdentityStatus),
  },
  "A resource's system-assigned managed identity and the roles granted to it.",
);
export type SystemAssignedIdentity = Static<typeof SystemAssignedIdentity>;
