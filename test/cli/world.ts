// A small estate for the CLI tests: a resource group with VMs, and manifests of every kind that
// use them (a custom role, identities with grants, credentials, attachments and Graph app roles,
// a system-assigned identity), plus readers of the resulting Azure state through the emulator.
import type { ArmFixture } from "../support/arm.js";

export const RG = "app-rg";
export const LOCATION = "westeurope";
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

export const rgId = (sub: string, group = RG) => `/subscriptions/${sub}/resourceGroups/${group}`;
export const vmId = (sub: string, name: string, group = RG) =>
  `${rgId(sub, group)}/providers/Microsoft.Compute/virtualMachines/${name}`;
export const identityId = (sub: string, name: string, group = RG) =>
  `${rgId(sub, group)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

export async function createGroup(f: ArmFixture, sub: string, group = RG): Promise<void> {
  const put = await f.request("PUT", `${rgId(sub, group)}?api-version=2025-04-01`, {
    body: { location: LOCATION },
  });
  if (put.status >= 300) throw new Error(`resource group: ${put.status} ${put.text}`);
}

export async function createVm(f: ArmFixture, sub: string, name: string, group = RG): Promise<string> {
  const id = vmId(sub, name, group);
  const put = await f.request("PUT", `${id}?api-version=2024-11-01`, {
    body: { location: LOCATION, properties: {} },
  });
  if (put.status >= 300) throw new Error(`vm ${name}: ${put.status} ${put.text}`);
  return id;
}

export function customRole(sub: string, name = "blob-reader") {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "CustomRole",
    metadata: { name, namespace: "team-a" },
    spec: {
      subscriptionId: sub,
      roleName: `Orders ${name}`,
      description: "reads storage accounts",
      permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
      assignableScopes: [rgId(sub)],
    },
  };
}

export function userAssigned(
  sub: string,
  name: string,
  options: { attachTo?: string[]; customRole?: string; credentials?: number; graph?: boolean } = {},
) {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: { name, namespace: "team-a" },
    spec: {
      subscriptionId: sub,
      resourceGroup: RG,
      location: LOCATION,
      tags: { team: "a", app: name },
      roleAssignments: [
        { role: "Reader", scope: rgId(sub) },
        ...(options.customRole ? [{ customRoleRef: { name: options.customRole }, scope: rgId(sub) }] : []),
      ],
      federatedCredentials: Array.from({ length: options.credentials ?? 1 }, (_, i) => ({
        name: `${name}-fic-${i}`,
        issuer: "https://oidc.example.com/issuer",
        subject: `system:serviceaccount:team-a:${name}-${i}`,
        audiences: ["api://AzureADTokenExchange"],
      })),
      attachTo: options.attachTo ?? [],
      ...(options.graph
        ? { graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRole: "User.Read.All" }] }
        : {}),
    },
  };
}

export function systemAssigned(sub: string, name: string, resourceId: string) {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "SystemAssignedIdentity",
    metadata: { name, namespace: "team-a" },
    spec: {
      resourceId,
      roleAssignments: [{ role: "Reader", scope: rgId(sub) }],
    },
  };
}

/** Azure as the tests compare it: every identity, credential, attachment and grant, by name. */
export interface Snapshot {
  identities: Record<
    string,
    { principalId: string; tenantId: string; location: string; tags: Record<string, string> }
  >;
  credentials: Record<string, string[]>;
  /** Resource name -> its identity block: type, system principal and user-assigned identity names. */
  attachments: Record<string, { type: string; systemPrincipal?: string; userAssigned: string[] }>;
  /** "principal|role (built-in GUID or custom role name)|scope" for every role assignment in the subscription. */
  assignments: string[];
  customRoles: Array<{ roleName: string; actions: string[]; scopes: string[] }>;
  /** principalId -> app role ids granted in Graph. */
  appRoles: Record<string, string[]>;
}

export async function snapshot(f: ArmFixture, sub: string, group = RG): Promise<Snapshot> {
  // Graph answers in the subscription's current tenant only for a token of that tenant.
  const { tenantId } = (await f.request("GET", `/subscriptions/${sub}?api-version=2022-12-01`)).body;
  const graphToken = (await f.admin("POST", "tokens", { tenantId, audience: "https://graph.microsoft.com" }))
    .body.accessToken as string;
  const get = async (path: string) => {
    const answer = await f.request("GET", path);
    if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${answer.text}`);
    return answer.body;
  };
  const identities: Snapshot["identities"] = {};
  const credentials: Snapshot["credentials"] = {};
  const list = await get(
    `${rgId(sub, group)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2024-11-30`,
  );
  for (const identity of list.value) {
    identities[identity.name] = {
      principalId: identity.properties.principalId,
      tenantId: identity.properties.tenantId,
      location: identity.location,
      tags: identity.tags ?? {},
    };
    const fics = await get(`${identity.id}/federatedIdentityCredentials?api-version=2024-11-30`);
    credentials[identity.name] = fics.value
      .map((c: { name: string; properties: { issuer: string; subject: string } }) =>
        [c.name, c.properties.issuer, c.properties.subject].join("|"),
      )
      .sort();
  }
  const attachments: Snapshot["attachments"] = {};
  const resources = await get(`${rgId(sub, group)}/resources?api-version=2025-04-01`);
  for (const resource of resources.value) {
    if (!resource.identity || /userAssignedIdentities$/i.test(resource.type)) continue;
    attachments[resource.name] = {
      type: String(resource.identity.type).replace(/\s/g, ""),
      ...(resource.identity.principalId ? { systemPrincipal: resource.identity.principalId } : {}),
      userAssigned: Object.keys(resource.identity.userAssignedIdentities ?? {})
        .map((id) => id.split("/").pop() as string)
        .sort(),
    };
  }
  const customRoles = (
    await get(
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=type eq 'CustomRole'`,
    )
  ).value as Array<{
    name: string;
    properties: { roleName: string; permissions: Array<{ actions: string[] }>; assignableScopes: string[] };
  }>;
  // Custom roles by name: a tenant move deletes them and they come back with new GUIDs.
  const roleOf = (definitionId: string) => {
    const guid = definitionId.split("/").pop() as string;
    return customRoles.find((d) => d.name === guid)?.properties.roleName ?? guid;
  };
  const assignments = (
    await get(
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`,
    )
  ).value
    .map((a: { properties: { principalId: string; roleDefinitionId: string; scope: string } }) =>
      [
        a.properties.principalId,
        roleOf(a.properties.roleDefinitionId),
        a.properties.scope.toLowerCase(),
      ].join("|"),
    )
    .sort();
  const customRoleShapes = customRoles
    .map((d) => ({
      roleName: d.properties.roleName,
      actions: d.properties.permissions.flatMap((p) => p.actions).sort(),
      scopes: d.properties.assignableScopes.map((scope) => scope.toLowerCase()).sort(),
    }))
    .sort((a, b) => a.roleName.localeCompare(b.roleName));
  const appRoles: Snapshot["appRoles"] = {};
  const principals = [
    ...Object.values(identities).map((i) => i.principalId),
    ...Object.values(attachments).flatMap((a) => (a.systemPrincipal ? [a.systemPrincipal] : [])),
  ];
  for (const principal of principals) {
    const answer = await f.request("GET", `/v1.0/servicePrincipals/${principal}/appRoleAssignments`, {
      token: graphToken,
    });
    if (answer.status === 200 && answer.body.value.length > 0) {
      appRoles[principal] = answer.body.value.map((a: { appRoleId: string }) => a.appRoleId).sort();
    }
  }
  return { identities, credentials, attachments, assignments, customRoles: customRoleShapes, appRoles };
}
