// The kinds of group azid.dev: their names, scope, schema and how kubectl prints them.
import type { TObject } from "typebox";
import { CustomRole } from "./schemas/custom-role.js";
import { IdentityPolicy } from "./schemas/identity-policy.js";
import { SystemAssignedIdentity } from "./schemas/system-assigned-identity.js";
import { TenantMigration } from "./schemas/tenant-migration.js";
import { UserAssignedIdentity } from "./schemas/user-assigned-identity.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "date" | "integer" | "number" | "boolean";
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  /** The whole resource: apiVersion, kind, metadata, spec and (when it has one) status. */
  schema: TObject;
  printerColumns: PrinterColumn[];
}

const condition = (type: string, field: "status" | "reason") =>
  `.status.conditions[?(@.type=="${type}")].${field}`;

const READY: PrinterColumn = {
  name: "Ready",
  type: "string",
  jsonPath: condition("Ready", "status"),
  description: "Whether Azure is as declared.",
};
const REASON: PrinterColumn = {
  name: "Reason",
  type: "string",
  jsonPath: condition("Ready", "reason"),
  description: "Why the resource is (not) ready.",
};
const PRINCIPAL: PrinterColumn = {
  name: "Principal",
  type: "string",
  jsonPath: ".status.principalId",
  description: "Object id of the identity's service principal.",
};
const AGE: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since creation.",
};

export const KINDS: readonly KindDefinition[] = [
  {
    kind: "UserAssignedIdentity",
    plural: "userassignedidentities",
    singular: "userassignedidentity",
    shortNames: ["uai"],
    scope: "Namespaced",
    schema: UserAssignedIdentity,
    printerColumns: [
      READY,
      REASON,
      {
        name: "Client ID",
        type: "string",
        jsonPath: ".status.clientId",
        description: "Client id of the identity (what workloads use).",
      },
      { ...PRINCIPAL, priority: 1 },
      AGE,
    ],
  },
  {
    kind: "SystemAssignedIdentity",
    plural: "systemassignedidentities",
    singular: "systemassignedidentity",
    shortNames: ["sai"],
    scope: "Namespaced",
    schema: SystemAssignedIdentity,
    printerColumns: [
      READY,
      REASON,
      PRINCIPAL,
      {
        name: "Resource",
        type: "string",
        jsonPath: ".spec.resourceId",
        description: "The resource.",
        priority: 1,
      },
      AGE,
    ],
  },
  {
    kind: "CustomRole",
    plural: "customroles",
    singular: "customrole",
    shortNames: ["azrole"],
    scope: "Namespaced",
    schema: CustomRole,
    printerColumns: [
      READY,
      REASON,
      { name: "Role", type: "string", jsonPath: ".spec.roleName", description: "The role's name in Azure." },
      AGE,
    ],
  },
  {
    kind: "IdentityPolicy",
    plural: "identitypolicies",
    singular: "identitypolicy",
    shortNames: ["idpolicy"],
    scope: "Cluster",
    schema: IdentityPolicy,
    printerColumns: [
      {
        name: "Remediation",
        type: "string",
        jsonPath: ".spec.tenantMoveRemediation",
        description: "Tenant move remediation for the selected namespaces.",
      },
      AGE,
    ],
  },
  {
    kind: "TenantMigration",
    plural: "tenantmigrations",
    singular: "tenantmigration",
    shortNames: ["tmig"],
    scope: "Cluster",
    schema: TenantMigration,
    printerColumns: [
      {
        name: "Subscription",
        type: "string",
        jsonPath: ".spec.subscriptionId",
        description: "The subscription.",
      },
      { name: "Mode", type: "string", jsonPath: ".spec.mode", description: "Plan or Apply." },
      {
        name: "Approved",
        type: "boolean",
        jsonPath: ".spec.approved",
        description: "Whether the run may start.",
      },
      { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Where the run is." },
      { name: "Actions", type: "integer", jsonPath: ".status.plan.total", description: "Actions planned." },
      AGE,
    ],
  },
];

export function kindDefinition(kind: string): KindDefinition | undefined {
  return KINDS.find((definition) => definition.kind === kind);
}
