// Manifests and Azure resources the end-to-end tests share.
import type { Stack } from "./stack.js";

export const NS = "team-a";
export const GRAPH = "00000003-0000-0000-c000-000000000000";

export const rg = (stack: Stack, group = "app-rg") =>
  `/subscriptions/${stack.subscriptionId}/resourceGroups/${group}`;
export const vm = (stack: Stack, name: string, group = "app-rg") =>
  `${rg(stack, group)}/providers/Microsoft.Compute/virtualMachines/${name}`;
export const identityId = (stack: Stack, name: string, group = "app-rg") =>
  `${rg(stack, group)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

/** A namespace the team's IdentityPolicy selects, and that policy: the subscription, Reader-class roles, attach anywhere in it. */
export function teamNamespace(stack: Stack, name = NS) {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "azid.dev/team": name } } },
    {
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: `${name}-policy` },
      spec: {
        namespaceSelector: { matchLabels: { "azid.dev/team": name } },
        subscriptions: [{ subscriptionId: stack.subscriptionId }],
        roles: [
          {
            roles: ["Reader", "Storage Blob Data Reader", "Orders Reader"],
            scopes: [{ scope: `/subscriptions/${stack.subscriptionId}`, match: "Under" }],
          },
        ],
        attachTargets: [{ scope: `/subscriptions/${stack.subscriptionId}`, match: "Under" }],
        graphAppRoles: [{ resourceAppId: GRAPH, appRoles: ["User.Read.All"] }],
        allowCustomRoles: true,
      },
    },
  ];
}

export function uai(stack: Stack, name: string, spec: Record<string, unknown> = {}, namespace = NS) {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: { name, namespace },
    spec: { subscriptionId: stack.subscriptionId, resourceGroup: "app-rg", location: "westeurope", ...spec },
  };
}

/** ARM calls the tests make as "someone else": the portal, another team. */
export async function createResourceGroup(stack: Stack, group = "app-rg"): Promise<void> {
  const res = await stack.arm.request("PUT", `${rg(stack, group)}?api-version=2025-04-01`, {
    body: { location: "westeurope" },
  });
  if (res.status >= 300) throw new Error(`resource group: ${res.status} ${res.text}`);
}

export async function createVm(
  stack: Stack,
  name: string,
  identity?: object,
  group = "app-rg",
): Promise<void> {
  const res = await stack.arm.request("PUT", `${vm(stack, name, group)}?api-version=2024-11-01`, {
    body: { location: "westeurope", ...(identity ? { identity } : {}) },
  });
  if (res.status >= 300) throw new Error(`vm: ${res.status} ${res.text}`);
}

// biome-ignore lint/suspicious/noExplicitAny: tests read ARM bodies loosely
export async function armGet(stack: Stack, path: string, apiVersion: string): Promise<any> {
  const res = await stack.arm.request(
    "GET",
    `${path}${path.includes("?") ? "&" : "?"}api-version=${apiVersion}`,
  );
  return res.status === 200 ? res.body : undefined;
}

export async function assignmentsOf(
  stack: Stack,
  principalId: string,
): Promise<Array<{ id: string; name: string; properties: { scope: string; roleDefinitionId: string } }>> {
  const body = await armGet(
    stack,
    `/subscriptions/${stack.subscriptionId}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '${principalId}'`,
    "2022-04-01",
  );
  return body?.value ?? [];
}

export async function attachedTo(stack: Stack, resourceId: string): Promise<string[]> {
  const body = await armGet(stack, resourceId, "2024-11-01");
  return Object.keys(body?.identity?.userAssignedIdentities ?? {})
    .map((id) => id.split("/").at(-1) as string)
    .sort();
}

/** Polls until `check` passes (it throws while not yet). */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 60_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await check();
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`${what} not reached in ${timeoutMs} ms: ${(last as Error)?.message ?? last}`);
}
