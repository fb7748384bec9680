import { type Static, Type } from "typebox";
import { PATTERNS } from "../patterns.js";
import {
  API_VERSION,
  ARM_ID_MAX,
  Conditions,
  DEFAULT_FEDERATED_AUDIENCE,
  DeletionPolicy,
  GraphAppRoleStatus,
  GraphAppRoles,
  guid,
  ItemFields,
  MAX_ATTACHMENTS,
  MAX_FEDERATED_CREDENTIALS,
  ManagementPolicy,
  ObjectMeta,
  RoleAssignmentStatus,
  RoleAssignments,
  resourceGroupName,
  resourceId,
} from "./common.js";
import { bool, cel, immutable, int, list, map, Optional, obj, set, str, stringMap } from "./helpers.js";
import { KeyVaultAccessPolicies, KeyVaultAccessPolicyStatus } from "./key-vault.js";
import { Exports, ServiceAccounts, wiringStatusFields } from "./workload-wiring.js";

export const MAX_TAGS = 50;
const IDENTITY_NAME_TEST = new RegExp(PATTERNS.identityName);

export const Tags = stringMap(
  "Azure tags on the identity (at most 50; names up to 512 characters without < > % & \\ ? /, values up to 256). " +
    "azid sets these and removes only tags it set before; other tags are left alone.",
  str("Tag value.", { maxLength: 256 }),
  {
    maxProperties: MAX_TAGS,
    "x-kubernetes-validations": [
      cel(
        "self.all(k, k.size() >= 1 && k.size() <= 512 && !k.matches('[<>%&\\\\\\\\?/]'))",
        "tag names must be 1-512 characters and must not contain < > % & \\ ? /",
        (self: Record<string, string>) =>
          Object.keys(self).every((k) => k.length >= 1 && k.length <= 512 && !/[<>%&\\?/]/.test(k)),
      ),
    ],
  },
);

export const FederatedCredentialSpec = obj(
  {
    name: str("Name of the credential: 3-120 letters, digits, - or _, starting with a letter or digit.", {
      pattern: PATTERNS.federatedCredentialName,
      minLength: 3,
      maxLength: 120,
    }),
    issuer: str("The token issuer (an https URL), e.g. the cluster's OIDC issuer.", {
      pattern: PATTERNS.httpsUrl,
      maxLength: 600,
    }),
    subject: str("The token subject, e.g. system:serviceaccount:NAMESPACE:NAME.", {
      minLength: 1,
      maxLength: 600,
    }),
    audiences: list(str("An audience.", { minLength: 1, maxLength: 600 }), "Exactly one audience.", {
      minItems: 1,
      maxItems: 1,
      default: [DEFAULT_FEDERATED_AUDIENCE],
    }),
  },
  "A federated identity credential: tokens from this issuer and subject may act as the identity.",
);
export type FederatedCredentialSpec = Static<typeof FederatedCredentialSpec>;

export const UserAssignedIdentitySpec = obj(
  {
    subscriptionId: guid("Subscription of the identity.", {
      "x-kubernetes-validations": [immutable("subscriptionId")],
    }),
    resourceGroup: resourceGroupName(
      "Resource group of the identity. Changing it creates the identity in the new group, " +
        "re-attaches and re-grants it, then deletes the old one (Azure cannot move identities).",
    ),
    name: Optional(
      str("Name of the identity in Azure; defaults to metadata.name.", {
        pattern: PATTERNS.identityName,
        minLength: 3,
        maxLength: 128,
      }),
    ),
    location: str("Azure region of the identity, e.g. westeurope.", {
      pattern: PATTERNS.location,
      maxLength: 64,
      "x-kubernetes-validations": [immutable("location")],
    }),
    tags: Optional(Tags),
    roleAssignments: Optional(RoleAssignments),
    federatedCredentials: Optional(
      map(FederatedCredentialSpec, ["name"], "Federated identity credentials (at most 20).", {
        maxItems: MAX_FEDERATED_CREDENTIALS,
        "x-kubernetes-validations": [
          cel(
            "self.all(a, self.exists_one(b, b.issuer == a.issuer && b.subject == a.subject))",
            "each federated credential needs its own issuer and subject combination",
            (self: FederatedCredentialSpec[]) =>
              self.every(
                (a) => self.filter((b) => b.issuer === a.issuer && b.subject === a.subject).length === 1,
              ),
          ),
        ],
      }),
    ),
    attachTo: Optional(
      set(
        resourceId("An ARM resource id."),
        "Resources to attach the identity to (VMs, scale sets, App Service sites, any resource with an identity block).",
        {
          maxItems: MAX_ATTACHMENTS,
          "x-kubernetes-validations": [
            cel(
              "self.all(a, self.exists_one(b, b.lowerAscii() == a.lowerAscii()))",
              "attachTo must not name a resource twice (ARM ids ignore case)",
              (self: string[]) =>
                self.every((a) => self.filter((b) => b.toLowerCase() === a.toLowerCase()).length === 1),
            ),
          ],
        },
      ),
    ),
    graphAppRoles: Optional(GraphAppRoles),
    keyVaultAccessPolicies: Optional(KeyVaultAccessPolicies),
    serviceAccounts: Optional(ServiceAccounts),
    exports: Optional(Exports),
    deletionPolicy: Optional(DeletionPolicy),
    managementPolicy: Optional(ManagementPolicy),
  },
  "The desired state of a user-assigned managed identity.",
  {
    "x-kubernetes-validations": [
      cel(
        "(has(self.federatedCredentials) ? size(self.federatedCredentials) : 0) + (has(self.serviceAccounts) ? size(self.serviceAccounts) : 0) <= 20",
        "federatedCredentials and serviceAccounts (one federated credential each) may hold at most 20 " +
          "federated credentials together, Azure's limit per identity: remove some",
        (self: UserAssignedIdentitySpecShape) =>
          (self.federatedCredentials?.length ?? 0) + (self.serviceAccounts?.length ?? 0) <=
          MAX_FEDERATED_CREDENTIALS,
        { fieldPath: ".serviceAccounts" },
      ),
    ],
  },
);
type UserAssignedIdentitySpecShape = { federatedCredentials?: unknown[]; serviceAccounts?: unknown[] };
export type UserAssignedIdentitySpec = Static<typeof UserAssignedIdentitySpec>;

export const FederatedCredentialStatus = obj(
  {
    name: str("Name of the credential.", { maxLength: 120 }),
    ...ItemFields,
  },
  "State of one federated credential.",
);
export type FederatedCredentialStatus = Static<typeof FederatedCredentialStatus>;

export const AttachmentStatus = obj(
  {
    resourceId: str("The resource the identity is attached to.", { maxLength: ARM_ID_MAX }),
    ...ItemFields,
  },
  "State of one attachment.",
);
export type AttachmentStatus = Static<typeof AttachmentStatus>;

export const PreviousIdentity = obj(
  {
    resourceId: str("Id of an identity azid replaced and still has to delete.", { maxLength: ARM_ID_MAX }),
    principalId: Optional(str("Its principal id.", { maxLength: 36 })),
  },
  "An identity left behind by a change of resource group or name, deleted once the new one is ready.",
);
export type PreviousIdentity = Static<typeof PreviousIdentity>;

export const UserAssignedIdentityStatus = obj(
  {
    observedGeneration: Optional(
      int("The generation this status describes.", { minimum: 0, format: "int64" }),
    ),
    conditions: Optional(Conditions),
    resourceId: Optional(str("ARM id of the identity.", { maxLength: ARM_ID_MAX })),
    principalId: Optional(str("Object id of the identity's service principal.", { maxLength: 36 })),
    clientId: Optional(str("Client (application) id of the identity.", { maxLength: 36 })),
    tenantId: Optional(str("Tenant of the identity's principal.", { maxLength: 36 })),
    identityOwned: Optional(
      bool(
        "True when azid created the identity. An identity azid found and adopted is never deleted by " +
          "it: deletionPolicy Delete then only removes what azid made (attachments, grants, credentials).",
      ),
    ),
    roleAssignments: Optional(list(RoleAssignmentStatus, "One entry per declared or owned role assignment.")),
    federatedCredentials: Optional(
      list(FederatedCredentialStatus, "One entry per declared or owned federated credential."),
    ),
    attachments: Optional(list(AttachmentStatus, "One entry per declared or owned attachment.")),
    graphAppRoles: Optional(list(GraphAppRoleStatus, "One entry per declared or owned Graph app role.")),
    keyVaultAccessPolicies: Optional(
      list(KeyVaultAccessPolicyStatus, "One entry per declared or owned Key Vault access-policy entry."),
    ),
    managedTags: Optional(
      list(str("A tag name.", { maxLength: 512 }), "Tag names azid has set on the identity."),
    ),
    previousIdentities: Optional(list(PreviousIdentity, "Identities still to delete after a move.")),
    ...wiringStatusFields,
  },
  "The observed state of a user-assigned managed identity.",
);
export type UserAssignedIdentityStatus = Static<typeof UserAssignedIdentityStatus>;

export const UserAssignedIdentity = obj(
  {
    apiVersion: Type.Literal(API_VERSION, { description: "azid.dev/v1alpha1" }),
    kind: Type.Literal("UserAssignedIdentity", { description: "UserAssignedIdentity" }),
    metadata: ObjectMeta,
    spec: UserAssignedIdentitySpec,
    status: Optional(UserAssignedIdentityStatus),
  },
  "A user-assigned managed identity, its federated credentials, attachments and grants.",
  {
    "x-kubernetes-validations": [
      cel(
        `has(self.spec.name) || self.metadata.name.matches('${PATTERNS.identityName}')`,
        "metadata.name is not a valid Azure identity name (3-128 letters, digits, - or _): set spec.name",
        (self) => self.spec?.name !== undefined || IDENTITY_NAME_TEST.test(self.metadata?.name ?? ""),
        { fieldPath: ".spec", reason: "FieldValueRequired" },
      ),
    ],
  },
);
export type UserAssignedIdentity = Static<typeof UserAssignedIdentity>;
