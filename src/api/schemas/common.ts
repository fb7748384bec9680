// The parts that several kinds share: metadata, conditions, role assignments, Graph app roles,
// the deletion and management policies, and the per-item state reported in status.
import { type Static, Type } from "typebox";
import { PATTERNS } from "../patterns.js";
import { bool, cel, countDefined, int, list, map, Optional, obj, oneOf, str } from "./helpers.js";

export const GROUP = "azid.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Microsoft Graph's application id, the default resource of a Graph app role. */
export const MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
/** The one audience Entra accepts for workload identity federation by default. */
export const DEFAULT_FEDERATED_AUDIENCE = "api://AzureADTokenExchange";

export const MAX_ROLE_ASSIGNMENTS = 100;
export const MAX_FEDERATED_CREDENTIALS = 20;
export const MAX_ATTACHMENTS = 50;
export const MAX_GRAPH_APP_ROLES = 50;
const ARM_ID_MAX = 1024;
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

export const guid = (description: string, options: Record<string, unknown> = {}) =>
  str(description, { pattern: PATTERNS.guid, minLength: 36, maxLength: 36, ...options });

export const scope = (description: string, options: Record<string, unknown> = {}) =>
  str(description, { pattern: PATTERNS.scope, maxLength: ARM_ID_MAX, ...options });

export const resourceId = (description: string, options: Record<string, unknown> = {}) =>
  str(description, { pattern: PATTERNS.resourceId, maxLength: ARM_ID_MAX, ...options });

export const resourceGroupName = (description: string) =>
  str(description, { pattern: PATTERNS.resourceGroup, minLength: 1, maxLength: 90 });

/** The metadata the CLI needs from a manifest (the API server owns the rest). */
export const ObjectMeta = Type.Object(
  {
    name: str("Name of the resource (a DNS subdomain).", { pattern: DNS_SUBDOMAIN, maxLength: 253 }),
    namespace: Optional(str("Namespace of the resource (namespaced kinds).", { maxLength: 63 })),
    labels: Optional(Type.Record(Type.String(), Type.String(), { description: "Labels." })),
    annotations: Optional(Type.Record(Type.String(), Type.String(), { description: "Annotations." })),
    uid: Optional(str("Set by the API server.")),
    resourceVersion: Optional(str("Set by the API server.")),
    generation: Optional(int("Set by the API server; increases on every spec change.")),
    creationTimestamp: Optional(str("Set by the API server.")),
    deletionTimestamp: Optional(str("Set by the API server when deletion was requested.")),
    finalizers: Optional(Type.Array(Type.String(), { description: "Finalizers." })),
  },
  { description: "Standard object metadata." },
);
export type ObjectMeta = Static<typeof ObjectMeta>;

export const DeletionPolicy = oneOf(
  ["Delete", "Orphan"],
  "What happens in Azure when this resource is deleted: Delete removes what azid made (detaches, " +
    "revokes the grants it made, deletes the identity); Orphan leaves Azure untouched.",
  { default: "Delete" },
);
export type DeletionPolicy = Static<typeof DeletionPolicy>;

export const ManagementPolicy = oneOf(
  ["Manage", "ObserveOnly"],
  "Manage brings Azure to the declared state; ObserveOnly adopts or watches an existing identity, " +
    "reports drift in status and never writes to Azure.",
  { default: "Manage" },
);
export type ManagementPolicy = Static<typeof ManagementPolicy>;

export const Condition = obj(
  {
    type: str("Type of condition in CamelCase.", {
      maxLength: 316,
      pattern:
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
    }),
    status: oneOf(["True", "False", "Unknown"], "Status of the condition."),
    reason: str("A programmatic identifier of the last transition, in CamelCase.", {
      minLength: 1,
      maxLength: 1024,
      pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
    }),
    message: str("A human readable message about the last transition.", { maxLength: 32768 }),
    lastTransitionTime: str("When the condition last changed status (RFC 3339).", { format: "date-time" }),
    observedGeneration: Optional(
      int("The .metadata.generation the condition was set for.", { minimum: 0, format: "int64" }),
    ),
  },
  "A condition in the Kubernetes convention (metav1.Condition).",
);
export type Condition = Static<typeof Condition>;

export const Conditions = map(Condition, ["type"], "Current state, one condition per type (Ready first).", {
  maxItems: 32,
});

export const RoleAssignmentSpec = obj(
  {
    role: Optional(
      str("A role by name: a built-in role (e.g. Reader) or a custom role's roleName.", {
        minLength: 1,
        maxLength: 512,
      }),
    ),
    roleDefinitionId: Optional(
      str("A role by definition: its GUID or its full id.", {
        pattern: PATTERNS.roleDefinitionId,
        maxLength: 256,
      }),
    ),
    customRoleRef: Optional(
      obj(
        {
          name: str("Name of a CustomRole in the same namespace.", {
            pattern: DNS_SUBDOMAIN,
            maxLength: 253,
          }),
        },
        "A CustomRole in the same namespace; the grant waits until that role exists in Azure.",
      ),
    ),
    scope: scope("Where the role applies: a management group, subscription, resource group or resource id."),
    condition: Optional(
      str("An ABAC condition limiting the assignment (Azure allows 8 KB).", {
        minLength: 1,
        maxLength: 8192,
      }),
    ),
    conditionVersion: Optional(
      oneOf(["2.0"], "Version of the condition language; 2.0 when a condition is set."),
    ),
    description: Optional(
      str("Description of the role assignment (Azure allows 2 KB).", { maxLength: 2048 }),
    ),
  },
  "A role granted to the identity's principal at a scope.",
  {
    "x-kubernetes-validations": [
      cel(
        "(has(self.role) ? 1 : 0) + (has(self.roleDefinitionId) ? 1 : 0) + (has(self.customRoleRef) ? 1 : 0) == 1",
        "exactly one of role, roleDefinitionId or customRoleRef must be set",
        (self) => countDefined(self.role, self.roleDefinitionId, self.customRoleRef) === 1,
      ),
      cel(
        "!has(self.conditionVersion) || has(self.condition)",
        "conditionVersion requires condition",
        (self) => self.conditionVersion === undefined || self.condition !== undefined,
        { fieldPath: ".conditionVersion" },
      ),
    ],
  },
);
export type RoleAssignmentSpec = Static<typeof RoleAssignmentSpec>;

export const RoleAssignments = list(RoleAssignmentSpec, "Roles granted to the identity.", {
  maxItems: MAX_ROLE_ASSIGNMENTS,
});

export const GraphAppRoleSpec = obj(
  {
    resourceAppId: guid("Application id of the API whose app role is granted (Microsoft Graph by default).", {
      default: MICROSOFT_GRAPH_APP_ID,
    }),
    appRole: str("The app role by value (e.g. User.Read.All) or by id (a GUID).", {
      minLength: 1,
      maxLength: 120,
      pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
    }),
  },
  "An application permission granted to the identity's service principal (an app role assignment).",
);
export type GraphAppRoleSpec = Static<typeof GraphAppRoleSpec>;

export const GraphAppRoles = map(
  GraphAppRoleSpec,
  ["resourceAppId", "appRole"],
  "App roles (application permissions) granted directly to the identity's service principal.",
  { maxItems: MAX_GRAPH_APP_ROLES },
);

/** The state of one declared or owned item in status. */
export const ItemState = oneOf(
  ["Ready", "Pending", "Failed", "Refused", "Drifted", "Removing"],
  "Ready: as declared in Azure. Pending: an action is planned or waits for an input. Failed: " +
    "Azure refused the last action. Refused: an IdentityPolicy does not allow it. Drifted: " +
    "differs from the declaration (ObserveOnly). Removing: owned by azid and no longer declared.",
);
export type ItemState = Static<typeof ItemState>;

const itemFields = {
  state: ItemState,
  message: Optional(str("Why the item is in this state.", { maxLength: 4096 })),
  owned: bool("True when azid created the item and so may remove it."),
};

export const RoleAssignmentStatus = obj(
  {
    scope: str("Scope of the assignment.", { maxLength: ARM_ID_MAX }),
    role: Optional(str("Role name, when known.", { maxLength: 512 })),
    roleDefinitionId: Optional(str("Full role definition id, once resolved.", { maxLength: 256 })),
    principalId: Optional(str("The principal the assignment is for.", { maxLength: 36 })),
    name: Optional(str("Name (GUID) of the role assignment in Azure.", { maxLength: 36 })),
    ...itemFields,
  },
  "State of one role assignment.",
);
export type RoleAssignmentStatus = Static<typeof RoleAssignmentStatus>;

export const GraphAppRoleStatus = obj(
  {
    resourceAppId: str("Application id of the API.", { maxLength: 36 }),
    appRole: str("The app role as declared (value or id).", { maxLength: 120 }),
    appRoleId: Optional(str("The app role's id, once resolved.", { maxLength: 36 })),
    principalId: Optional(str("The principal the assignment is for.", { maxLength: 36 })),
    assignmentId: Optional(str("Id of the app role assignment in Microsoft Graph.", { maxLength: 128 })),
    ...itemFields,
  },
  "State of one Graph app role assignment.",
);
export type GraphAppRoleStatus = Static<typeof GraphAppRoleStatus>;

export const ItemFields = itemFields;
export { ARM_ID_MAX };
