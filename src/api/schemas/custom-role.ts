import { type Static, Type } from "typebox";
import { API_VERSION, Conditions, DeletionPolicy, guid, ObjectMeta, scope } from "./common.js";
import { cel, immutable, int, list, Optional, obj, set, str } from "./helpers.js";

const action = (description: string) =>
  str(description, { minLength: 1, maxLength: 512, pattern: "^[A-Za-z0-9*][A-Za-z0-9._/*-]*$" });
const actions = (description: string) =>
  set(action("An operation, wildcards allowed."), description, { maxItems: 200 });

export const RolePermission = obj(
  {
    actions: Optional(actions("Control-plane operations the role allows, e.g. Microsoft.Compute/*/read.")),
    notActions: Optional(actions("Control-plane operations excluded from actions.")),
    dataActions: Optional(actions("Data-plane operations the role allows.")),
    notDataActions: Optional(actions("Data-plane operations excluded from dataActions.")),
  },
  "A set of allowed and excluded operations.",
);
export type RolePermission = Static<typeof RolePermission>;

export const CustomRoleSpec = obj(
  {
    subscriptionId: guid("Subscription where the role definition is created.", {
      "x-kubernetes-validations": [immutable("subscriptionId")],
    }),
    roleName: str("Display name of the role, unique in the tenant.", { minLength: 1, maxLength: 512 }),
    description: Optional(str("Description of the role.", { maxLength: 2048 })),
    permissions: list(RolePermission, "What the role allows.", { minItems: 1, maxItems: 10 }),
    assignableScopes: set(
      scope("A scope in the role's subscription."),
      "Where the role may be assigned: the subscription or resource groups and resources in it.",
      { minItems: 1, maxItems: 50 },
    ),
    deletionPolicy: Optional(DeletionPolicy),
  },
  "The desired state of a custom role definition.",
  {
    "x-kubernetes-validations": [
      cel(
        "self.assignableScopes.all(s, s.lowerAscii() == '/subscriptions/' + self.subscriptionId.lowerAscii() || " +
          "s.lowerAscii().startsWith('/subscriptions/' + self.subscriptionId.lowerAscii() + '/'))",
        "assignableScopes must lie in the role's subscription",
        (self: { subscriptionId: string; assignableScopes: string[] }) => {
          const subscription = `/subscriptions/${self.subscriptionId.toLowerCase()}`;
          return self.assignableScopes.every(
            (s) => s.toLowerCase() === subscription || s.toLowerCase().startsWith(`${subscription}/`),
          );
        },
        { fieldPath: ".assignableScopes" },
      ),
      cel(
        "self.permissions.exists(p, (has(p.actions) && size(p.actions) > 0) || " +
          "(has(p.dataActions) && size(p.dataActions) > 0))",
        "a role needs at least one action or data action",
        (self: { permissions: RolePermission[] }) =>
          self.permissions.some((p) => (p.actions?.length ?? 0) > 0 || (p.dataActions?.length ?? 0) > 0),
        { fieldPath: ".permissions" },
      ),
    ],
  },
);
export type CustomRoleSpec = Static<typeof CustomRoleSpec>;

export const CustomRoleStatus = obj(
  {
    observedGeneration: Optional(
      int("The generation this status describes.", { minimum: 0, format: "int64" }),
    ),
    conditions: Optional(Conditions),
    roleDefinitionId: Optional(str("Full id of the role definition in Azure.", { maxLength: 256 })),
  },
  "The observed state of a custom role definition.",
);
export type CustomRoleStatus = Static<typeof CustomRoleStatus>;

export const CustomRole = obj(
  {
    apiVersion: Type.Literal(API_VERSION, { description: "azid.dev/v1alpha1" }),
    kind: Type.Literal("CustomRole", { description: "CustomRole" }),
    metadata: ObjectMeta,
    spec: CustomRoleSpec,
    status: Optional(CustomRoleStatus),
  },
  "An Azure custom role definition. A tenant move deletes custom roles; azid re-creates them first.",
);
export type CustomRole = Static<typeof CustomRole>;
