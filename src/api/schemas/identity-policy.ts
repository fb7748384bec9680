import { type Static, Type } from "typebox";
import { PATTERNS } from "../patterns.js";
import {
  API_VERSION,
  GraphAppRoleSpec,
  guid,
  MICROSOFT_GRAPH_APP_ID,
  ObjectMeta,
  resourceGroupName,
  scope,
} from "./common.js";
import { bool, cel, countDefined, list, map, Optional, obj, oneOf, set, str, stringMap } from "./helpers.js";
import { KeyVaultPermissions } from "./key-vault.js";

export const LabelSelector = obj(
  {
    matchLabels: Optional(
      stringMap("Labels the namespace must carry.", str("Label value.", { maxLength: 63 })),
    ),
    matchExpressions: Optional(
      list(
        obj(
          {
            key: str("Label key.", { minLength: 1, maxLength: 317 }),
            operator: oneOf(["In", "NotIn", "Exists", "DoesNotExist"], "How the key relates to the values."),
            values: Optional(set(str("A label value.", { maxLength: 63 }), "Values for In and NotIn.")),
          },
          "A label selector requirement.",
          {
            "x-kubernetes-validations": [
              cel(
                "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                "In and NotIn need values; Exists and DoesNotExist take none",
                (self) =>
                  self.operator === "In" || self.operator === "NotIn"
                    ? (self.values?.length ?? 0) > 0
                    : (self.values?.length ?? 0) === 0,
              ),
            ],
          },
        ),
        "Requirements the namespace's labels must meet.",
        { maxItems: 20 },
      ),
    ),
  },
  "Selects namespaces by label, as a Kubernetes LabelSelector; {} selects every namespace.",
);
export type LabelSelector = Static<typeof LabelSelector>;

export const ScopeRule = obj(
  {
    scope: scope("A management group, subscription, resource group or resource id."),
    match: oneOf(
      ["Exact", "Under", "ResourceGroupOnly"],
      "Exact: this scope only. Under: this scope or anything beneath it (on segment boundaries). " +
        "ResourceGroupOnly: a resource group beneath this scope, or a resource in one, but never the " +
        "subscription or management group itself.",
      { default: "Under" },
    ),
  },
  "A set of ARM scopes.",
);
export type ScopeRule = Static<typeof ScopeRule>;

const scopeRules = (description: string) => list(ScopeRule, description, { maxItems: 100 });
const roleNames = (description: string) =>
  set(str("A role name or a role definition GUID or id.", { minLength: 1, maxLength: 512 }), description, {
    maxItems: 200,
  });

export const SubscriptionRule = obj(
  {
    subscriptionId: guid("A subscription."),
    resourceGroups: Optional(
      set(resourceGroupName("A resource group."), "Resource groups allowed; absent means every group.", {
        maxItems: 200,
      }),
    ),
  },
  "Where identities may be managed.",
);
export type SubscriptionRule = Static<typeof SubscriptionRule>;

export const RoleRule = obj(
  {
    roles: roleNames(
      'Roles allowed, by built-in or custom role name or by definition GUID/id; "*" allows every ' +
        "role that is not privileged.",
    ),
    scopes: scopeRules("Where those roles may be granted."),
  },
  "Roles that may be granted at some scopes.",
);
export type RoleRule = Static<typeof RoleRule>;

/** App roles of one API, allowed or denied: one shape, described for what it does where it is. */
const graphAppRoleRule = (verb: "allowed" | "denied") =>
  obj(
    {
      resourceAppId: guid("Application id of the API (Microsoft Graph by default).", {
        default: MICROSOFT_GRAPH_APP_ID,
      }),
      appRoles: set(
        GraphAppRoleSpec.properties.appRole,
        `App roles ${verb}, by value or id. There is no wildcard: each must be named.`,
        { minItems: 1, maxItems: 200 },
      ),
    },
    `App roles of one API, ${verb}.`,
  );

export const GraphAppRoleRule = graphAppRoleRule("allowed");
export type GraphAppRoleRule = Static<typeof GraphAppRoleRule>;
const DeniedGraphAppRoleRule = graphAppRoleRule("denied");

// ---- Key Vault access policies (issue 14) ----

export const KeyVaultRule = obj(
  {
    scopes: list(
      ScopeRule,
      "The vaults (or the resource groups and subscriptions holding them) the rule covers.",
      {
        minItems: 1,
        maxItems: 100,
      },
    ),
    permissions: KeyVaultPermissions,
    allowTenantRepair: Optional(
      bool(
        "Whether a tenant-move repair may set these vaults' tenant to the subscription's new tenant " +
          "(which removes every entry of the old tenant, azid's or not).",
        { default: false },
      ),
    ),
  },
  "Access-policy permissions the selected namespaces may grant on some vaults. `all` allows every " +
    "permission of its kind except the privileged ones (delete, purge, backup, release, import, ...), " +
    "which must be named one by one.",
);
export type KeyVaultRule = Static<typeof KeyVaultRule>;

// ---- end of Key Vault access policies ----
export const FederatedCredentialRule = obj(
  {
    issuer: str(
      "An issuer (https URL) the selected namespaces' identities may trust besides the cluster's own, " +
        "e.g. https://token.actions.githubusercontent.com.",
      { pattern: PATTERNS.httpsUrl, maxLength: 600 },
    ),
    subjects: set(
      str(
        "A subject pattern: * stands for any run of characters (colons and slashes too), everything " +
          "else matches itself, e.g. repo:my-org/my-repo:ref:refs/heads/main or repo:my-org/*.",
        { minLength: 1, maxLength: 600 },
      ),
      "Subjects of this issuer that may be trusted; a credential whose subject matches none is refused.",
      { minItems: 1, maxItems: 100 },
    ),
  },
  "Tokens of a foreign issuer (another cluster, a CI system) that identities of the selected namespaces " +
    "may trust through federated credentials.",
);
export type FederatedCredentialRule = Static<typeof FederatedCredentialRule>;

export const DenyRule = obj(
  {
    description: Optional(
      str("Why this is denied; shown in the PolicyViolation condition.", { maxLength: 1024 }),
    ),
    roles: Optional(roleNames('Roles denied (names, GUIDs or ids; "*" for every role).')),
    scopes: Optional(scopeRules("Scopes where grants are denied (of the roles above, or of any role).")),
    attachTargets: Optional(scopeRules("Resources identities must not be attached to.")),
    graphAppRoles: Optional(list(DeniedGraphAppRoleRule, "App roles denied.", { maxItems: 20 })),
  },
  "An explicit deny; it wins over every allow.",
  {
    "x-kubernetes-validations": [
      cel(
        "has(self.roles) || has(self.scopes) || has(self.attachTargets) || has(self.graphAppRoles)",
        "a deny rule must name roles, scopes, attachTargets or graphAppRoles",
        (self) => countDefined(self.roles, self.scopes, self.attachTargets, self.graphAppRoles) > 0,
      ),
    ],
  },
);
export type DenyRule = Static<typeof DenyRule>;

export const IdentityPolicySpec = obj(
  {
    namespaceSelector: LabelSelector,
    subscriptions: Optional(
      map(
        SubscriptionRule,
        ["subscriptionId"],
        "Subscriptions and resource groups where identities may live.",
        {
          maxItems: 100,
        },
      ),
    ),
    roles: Optional(list(RoleRule, "Roles the selected namespaces may grant, and where.", { maxItems: 100 })),
    privilegedRoles: Optional(
      roleNames(
        "Privileged roles (Owner, User Access Administrator, Role Based Access Control Administrator, or any " +
          "role whose actions cover Microsoft.Authorization/roleAssignments/write) that roles[] may grant; " +
          "without naming them here they are refused.",
      ),
    ),
    attachTargets: Optional(
      scopeRules(
        "Resources the selected namespaces may attach identities to or enable system identities on.",
      ),
    ),
    graphAppRoles: Optional(
      map(GraphAppRoleRule, ["resourceAppId"], "Graph app roles the selected namespaces may grant.", {
        maxItems: 20,
      }),
    ),
    federatedCredentials: Optional(
      map(
        FederatedCredentialRule,
        ["issuer"],
        "Foreign issuers and subjects the selected namespaces' federated credentials may trust. Without a " +
          "rule only the cluster's own service-account issuer is trusted, and only for ServiceAccounts of " +
          "the identity's own namespace; a ServiceAccount of another namespace is never trusted through the " +
          "cluster's issuer, whatever a policy says.",
        { maxItems: 50 },
      ),
    ),
    allowCustomRoles: Optional(
      bool("Whether the selected namespaces may define CustomRoles (in their allowed subscriptions).", {
        default: false,
      }),
    ),
    // Key Vault access policies (issue 14).
    keyVaults: Optional(
      list(
        KeyVaultRule,
        "Key Vault access-policy permissions the selected namespaces may grant, and where.",
        {
          maxItems: 100,
        },
      ),
    ),
    deny: Optional(list(DenyRule, "Explicit denies; they win over every allow.", { maxItems: 100 })),
    tenantMoveRemediation: Optional(
      oneOf(
        ["Manual", "Auto"],
        "After a tenant move: Auto repairs the selected namespaces' identities at once; Manual waits for a TenantMigration.",
        { default: "Manual" },
      ),
    ),
  },
  "What the selected namespaces may do with azid's Azure credential. Anything not allowed is denied.",
);
export type IdentityPolicySpec = Static<typeof IdentityPolicySpec>;

export const IdentityPolicy = obj(
  {
    apiVersion: Type.Literal(API_VERSION, { description: "azid.dev/v1alpha1" }),
    kind: Type.Literal("IdentityPolicy", { description: "IdentityPolicy" }),
    metadata: ObjectMeta,
    spec: IdentityPolicySpec,
  },
  "A guardrail: which namespaces may manage which identities, grants and attachments.",
);
export type IdentityPolicy = Static<typeof IdentityPolicy>;
