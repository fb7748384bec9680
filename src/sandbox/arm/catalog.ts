// Static data the emulator serves: built-in role definitions, the Microsoft Graph service principal,
// and the resource providers with their resource types and api-versions.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../util/paths.js";
import type { Permission } from "./rbac.js";

export interface RoleDefinitionBody {
  id: string;
  name: string;
  type: string;
  properties: {
    roleName: string;
    type: string;
    description?: string;
    assignableScopes: string[];
    permissions: Permission[];
    createdOn?: string;
    updatedOn?: string;
    createdBy?: string | null;
    updatedBy?: string | null;
  };
}

export interface AppRole {
  allowedMemberTypes: string[];
  description: string;
  displayName: string;
  id: string;
  isEnabled: boolean;
  origin: string;
  value: string;
}

export interface GraphServicePrincipalData {
  appDisplayName: string;
  appId: string;
  appOwnerOrganizationId: string;
  displayName: string;
  appRoles: AppRole[];
}

const specDir = join(PACKAGE_ROOT, "spec", "azure-api");

let builtins: Map<string, RoleDefinitionBody> | undefined;
/** The 928 built-in role definitions by lower-case GUID. */
export function builtinRoles(): Map<string, RoleDefinitionBody> {
  if (!builtins) {
    const list = JSON.parse(
      readFileSync(join(specDir, "authorization", "builtin-roles.json"), "utf8"),
    ) as RoleDefinitionBody[];
    builtins = new Map(list.map((role) => [role.name.toLowerCase(), role]));
  }
  return builtins;
}

let graph: GraphServicePrincipalData | undefined;
export function graphServicePrincipalData(): GraphServicePrincipalData {
  graph ??= JSON.parse(
    readFileSync(join(specDir, "graph", "microsoft-graph-serviceprincipal.json"), "utf8"),
  ) as GraphServicePrincipalData;
  return graph;
}

export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

const RESOURCES_VERSIONS = [
  "2015-11-01",
  "2020-01-01",
  "2021-04-01",
  "2022-09-01",
  "2022-12-01",
  "2023-07-01",
  "2024-03-01",
  "2024-07-01",
  "2024-11-01",
  "2025-01-01",
  "2025-03-01",
  "2025-04-01",
];
const MSI_VERSIONS = [
  "2018-11-30",
  "2021-09-30-preview",
  "2022-01-31-preview",
  "2023-01-31",
  "2023-07-31-preview",
  "2024-11-30",
  "2025-01-31-preview",
  "2026-05-31",
];
const COMPUTE_VERSIONS = [
  "2023-03-01",
  "2023-07-01",
  "2023-09-01",
  "2024-03-01",
  "2024-07-01",
  "2024-11-01",
  "2025-04-01",
  "2026-03-01",
  "2026-04-01",
];
const KEYVAULT_VERSIONS = ["2026-02-01"];
const WEB_VERSIONS = ["2022-03-01", "2022-09-01", "2023-01-01", "2023-12-01", "2024-04-01", "2024-11-01"];
const LOCATIONS = [
  "East US",
  "East US 2",
  "West US",
  "West US 2",
  "West Europe",
  "North Europe",
  "Central US",
];

export interface ResourceTypeInfo {
  resourceType: string;
  apiVersions: string[];
  /** Cloud Services (classic) and the like: an identity block is refused. */
  refusesIdentity?: boolean;
}

export const PROVIDERS: Record<string, ResourceTypeInfo[]> = {
  "Microsoft.ManagedIdentity": [
    { resourceType: "userAssignedIdentities", apiVersions: MSI_VERSIONS },
    {
      resourceType: "userAssignedIdentities/federatedIdentityCredentials",
      apiVersions: MSI_VERSIONS.slice(2),
    },
    { resourceType: "identities", apiVersions: MSI_VERSIONS },
    { resourceType: "operations", apiVersions: MSI_VERSIONS },
  ],
  "Microsoft.Authorization": [
    {
      resourceType: "roleAssignments",
      apiVersions: ["2018-09-01-preview", "2020-04-01-preview", "2020-10-01-preview", "2022-04-01"],
    },
    {
      resourceType: "roleDefinitions",
      apiVersions: ["2018-01-01-preview", "2022-04-01", "2022-05-01-preview"],
    },
    { resourceType: "permissions", apiVersions: ["2015-07-01", "2018-01-01-preview", "2022-04-01"] },
  ],
  "Microsoft.Resources": [
    { resourceType: "subscriptions", apiVersions: RESOURCES_VERSIONS },
    { resourceType: "resourceGroups", apiVersions: RESOURCES_VERSIONS },
    { resourceType: "tenants", apiVersions: RESOURCES_VERSIONS },
    { resourceType: "providers", apiVersions: RESOURCES_VERSIONS },
    { resourceType: "resources", apiVersions: RESOURCES_VERSIONS },
  ],
  "Microsoft.Compute": [
    { resourceType: "virtualMachines", apiVersions: COMPUTE_VERSIONS },
    { resourceType: "virtualMachineScaleSets", apiVersions: COMPUTE_VERSIONS },
    { resourceType: "locations/operations", apiVersions: COMPUTE_VERSIONS },
  ],
  "Microsoft.KeyVault": [
    { resourceType: "vaults", apiVersions: KEYVAULT_VERSIONS },
    { resourceType: "vaults/accessPolicies", apiVersions: KEYVAULT_VERSIONS },
    { resourceType: "deletedVaults", apiVersions: KEYVAULT_VERSIONS },
    { resourceType: "checkNameAvailability", apiVersions: KEYVAULT_VERSIONS },
  ],
  "Microsoft.Web": [
    { resourceType: "sites", apiVersions: WEB_VERSIONS },
    { resourceType: "sites/slots", apiVersions: WEB_VERSIONS },
  ],
  "Microsoft.ClassicCompute": [
    {
      resourceType: "domainNames",
      apiVersions: ["2015-06-01", "2015-10-01", "2016-04-01"],
      refusesIdentity: true,
    },
  ],
};

/** The type's entry, case-insensitively, or undefined for a namespace the emulator serves generically. */
export function resourceTypeInfo(namespace: string, type: string): ResourceTypeInfo | undefined {
  const entry = Object.entries(PROVIDERS).find(([ns]) => ns.toLowerCase() === namespace.toLowerCase());
  return entry?.[1].find((t) => t.resourceType.toLowerCase() === type.toLowerCase());
}

export function providerNamespace(namespace: string): string | undefined {
  return Object.keys(PROVIDERS).find((ns) => ns.toLowerCase() === namespace.toLowerCase());
}

export function providerBody(namespace: string, subscriptionId?: string): unknown {
  const ns = providerNamespace(namespace) ?? namespace;
  return {
    id: subscriptionId ? `/subscriptions/${subscriptionId}/providers/${ns}` : `/providers/${ns}`,
    namespace: ns,
    registrationState: "Registered",
    registrationPolicy: "RegistrationRequired",
    resourceTypes: (PROVIDERS[ns] ?? []).map((t) => ({
      resourceType: t.resourceType,
      locations: LOCATIONS,
      apiVersions: [...t.apiVersions].reverse(),
      capabilities: "None",
    })),
  };
}
