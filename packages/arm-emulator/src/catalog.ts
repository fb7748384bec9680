// Static data the emulator serves: built-in role definitions, the Microsoft Graph service principal,
// and the resource providers with their resource types and api-versions.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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

/** Names the folder of Microsoft's API documents when they are not in the workspace's spec/azure-api. */
export const AZURE_API_DIR_ENV = "AZID_AZURE_API_DIR";

/**
 * Where the emulator reads Microsoft's documents (built-in role definitions, Microsoft Graph's
 * service principal). The workspace keeps one copy of them in spec/azure-api, which the product
 * reads and ships too, so this package points there (dist/ -> package -> packages/ -> root)
 * instead of carrying a second copy that could drift.
 */
export function azureApiDir(): string {
  const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
  return process.env[AZURE_API_DIR_ENV] ?? join(packageDir, "..", "..", "spec", "azure-api");
}

function readApiDocument(...path: string[]): unknown {
  const file = join(azureApiDir(), ...path);
  if (!existsSync(file)) {
    throw new Error(
      `the ARM emulator needs Microsoft's API document ${file}: run it from an azid checkout, ` +
        `or set ${AZURE_API_DIR_ENV} to a copy of the checkout's spec/azure-api folder`,
    );
  }
  return JSON.parse(readFileSync(file, "utf8"));
}

let builtins: Map<string, RoleDefinitionBody> | undefined;
/** The 928 built-in role definitions by lower-case GUID. */
export function builtinRoles(): Map<string, RoleDefinitionBody> {
  if (!builtins) {
    const list = readApiDocument("authorization", "builtin-roles.json") as RoleDefinitionBody[];
    builtins = new Map(list.map((role) => [role.name.toLowerCase(), role]));
  }
  return builtins;
}

let graph: GraphServicePrincipalData | undefined;
export function graphServicePrincipalData(): GraphServicePrincipalData {
  graph ??= readApiDocument("graph", "microsoft-graph-serviceprincipal.json") as GraphServicePrincipalData;
  return graph;
}

export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

// The api-versions Azure publishes for each type (`GET /providers/{namespace}`, as `az provider show`
// lists them), oldest first: clients choose their own (the Python SDK's Subscriptions client sends
// 2021-01-01, az 2.45 logs in with 2022-01-01, the JS SDK 2022-12-01), so the list is Azure's,
// not what one SDK sends.
const SUBSCRIPTIONS_VERSIONS = [
  "2014-04-01",
  "2014-04-01-preview",
  "2015-01-01",
  "2015-11-01",
  "2016-02-01",
  "2016-06-01",
  "2016-07-01",
  "2016-09-01",
  "2017-05-10",
  "2017-06-01",
  "2017-08-01",
  "2018-01-01",
  "2018-02-01",
  "2018-05-01",
  "2018-06-01",
  "2018-07-01",
  "2018-08-01",
  "2018-09-01",
  "2018-11-01",
  "2019-03-01",
  "2019-05-01",
  "2019-05-10",
  "2019-06-01",
  "2019-07-01",
  "2019-08-01",
  "2019-09-01",
  "2019-10-01",
  "2019-11-01",
  "2020-01-01",
  "2020-06-01",
  "2020-08-01",
  "2020-10-01",
  "2021-01-01",
  "2021-04-01",
  "2022-01-01",
  "2022-03-01-preview",
  "2022-05-01",
  "2022-06-01",
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
/** Resource groups and resources: Azure serves them from 2014-04-01 too (az 2.45 sends 2022-09-01). */
const RESOURCES_VERSIONS = SUBSCRIPTIONS_VERSIONS.filter(
  (v) => v !== "2014-04-01-preview" && v !== "2022-03-01-preview",
);
const MSI_VERSIONS = [
  "2015-08-31-preview",
  "2018-11-30",
  "2021-09-30-preview",
  "2022-01-31-preview",
  "2023-01-31",
  "2023-07-31-preview",
  "2024-11-30",
  "2025-01-31-preview",
  "2026-05-31",
];
/** Federated identity credentials exist from 2022-01-31-preview on. */
const FIC_VERSIONS = MSI_VERSIONS.slice(MSI_VERSIONS.indexOf("2022-01-31-preview"));
/** Microsoft.Compute virtualMachines and virtualMachineScaleSets (the Python SDK of Debian's
 *  python3-azure sends 2022-08-01, az 2.45 sends 2022-11-01). */
const COMPUTE_VERSIONS = [
  "2015-05-01-preview",
  "2015-06-15",
  "2016-03-30",
  "2016-04-30-preview",
  "2016-08-30",
  "2017-03-30",
  "2017-12-01",
  "2018-04-01",
  "2018-06-01",
  "2018-10-01",
  "2019-03-01",
  "2019-07-01",
  "2019-12-01",
  "2020-06-01",
  "2020-12-01",
  "2021-03-01",
  "2021-04-01",
  "2021-07-01",
  "2021-11-01",
  "2022-03-01",
  "2022-08-01",
  "2022-11-01",
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
const ROLE_ASSIGNMENT_VERSIONS = [
  "2014-07-01-preview",
  "2014-10-01-preview",
  "2015-05-01-preview",
  "2015-06-01",
  "2015-07-01",
  "2016-07-01",
  "2017-05-01",
  "2017-09-01",
  "2017-10-01-preview",
  "2018-01-01-preview",
  "2018-07-01",
  "2018-09-01-preview",
  "2018-12-01-preview",
  "2019-04-01-preview",
  "2020-03-01-preview",
  "2020-04-01-preview",
  "2020-08-01-preview",
  "2020-10-01-preview",
  "2021-04-01-preview",
  "2022-01-01-preview",
  "2022-04-01",
];
const ROLE_DEFINITION_VERSIONS = [
  "2014-07-01-preview",
  "2015-05-01-preview",
  "2015-06-01",
  "2015-07-01",
  "2016-07-01",
  "2017-05-01",
  "2017-09-01",
  "2018-01-01-preview",
  "2018-07-01",
  "2022-04-01",
  "2022-05-01-preview",
];
const KEYVAULT_VERSIONS = ["2026-02-01"];
const WEB_VERSIONS = ["2022-03-01", "2022-09-01", "2023-01-01", "2023-12-01", "2024-04-01", "2024-11-01"];
/** The regions served, with what `GET /subscriptions/{s}/locations` says of them (Azure's values). */
const REGIONS: {
  displayName: string;
  geography: string;
  latitude: string;
  longitude: string;
  physical: string;
  paired: string;
}[] = [
  {
    displayName: "East US",
    geography: "US",
    latitude: "37.3719",
    longitude: "-79.8164",
    physical: "Virginia",
    paired: "westus",
  },
  {
    displayName: "East US 2",
    geography: "US",
    latitude: "36.6681",
    longitude: "-78.3889",
    physical: "Virginia",
    paired: "centralus",
  },
  {
    displayName: "West US",
    geography: "US",
    latitude: "37.783",
    longitude: "-122.417",
    physical: "California",
    paired: "eastus",
  },
  {
    displayName: "West US 2",
    geography: "US",
    latitude: "47.233",
    longitude: "-119.852",
    physical: "Washington",
    paired: "westcentralus",
  },
  {
    displayName: "West Europe",
    geography: "Europe",
    latitude: "52.3667",
    longitude: "4.9",
    physical: "Netherlands",
    paired: "northeurope",
  },
  {
    displayName: "North Europe",
    geography: "Europe",
    latitude: "53.3478",
    longitude: "-6.2597",
    physical: "Ireland",
    paired: "westeurope",
  },
  {
    displayName: "Central US",
    geography: "US",
    latitude: "41.5908",
    longitude: "-93.6208",
    physical: "Iowa",
    paired: "eastus2",
  },
];
const LOCATIONS = REGIONS.map((r) => r.displayName);

/** A region's name as ARM spells it in ids and `location` ("East US" is "eastus"). */
export const regionName = (displayName: string) => displayName.replace(/\s/g, "").toLowerCase();

/** The body of `GET /subscriptions/{s}/locations` (Subscriptions' LocationListResult). */
export function locationsBody(subscriptionId: string): unknown {
  const id = (name: string) => `/subscriptions/${subscriptionId}/locations/${name}`;
  return {
    value: REGIONS.map((r) => ({
      id: id(regionName(r.displayName)),
      name: regionName(r.displayName),
      type: "Region",
      displayName: r.displayName,
      regionalDisplayName: `(${r.geography}) ${r.displayName}`,
      metadata: {
        regionType: "Physical",
        regionCategory: "Recommended",
        geographyGroup: r.geography,
        longitude: r.longitude,
        latitude: r.latitude,
        physicalLocation: r.physical,
        pairedRegion: [{ name: r.paired, id: id(r.paired) }],
      },
    })),
  };
}

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
      apiVersions: FIC_VERSIONS,
    },
    { resourceType: "identities", apiVersions: MSI_VERSIONS },
    { resourceType: "operations", apiVersions: MSI_VERSIONS },
  ],
  "Microsoft.Authorization": [
    { resourceType: "roleAssignments", apiVersions: ROLE_ASSIGNMENT_VERSIONS },
    { resourceType: "roleDefinitions", apiVersions: ROLE_DEFINITION_VERSIONS },
    { resourceType: "permissions", apiVersions: ROLE_DEFINITION_VERSIONS },
  ],
  "Microsoft.Resources": [
    { resourceType: "subscriptions", apiVersions: SUBSCRIPTIONS_VERSIONS },
    { resourceType: "resourceGroups", apiVersions: RESOURCES_VERSIONS },
    { resourceType: "tenants", apiVersions: SUBSCRIPTIONS_VERSIONS },
    { resourceType: "locations", apiVersions: SUBSCRIPTIONS_VERSIONS },
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
