// Manifests and Azure resources the end-to-end tests share.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Stack } from "./stack.js";

export const NS = "team-a";
export const GRAPH = "00000003-0000-0000-c000-000000000000";
/** The issuer of the explicit federated credentials the tests declare (not the cluster's own). */
export const TEST_ISSUER = "https://oidc.example.com/issuer";

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
        // The tests' explicit credentials trust this (foreign) issuer for the team's ServiceAccounts.
        federatedCredentials: [{ issuer: TEST_ISSUER, subjects: [`system:serviceaccount:${name}:*`] }],
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

/**
 * An ARM call the tests make as "someone else" (the portal, another team), waiting out 429s as
 * any Azure client does: ARM's buckets are shared with azid, which may just have spent them.
 */
export async function asSomeoneElse(
  stack: Stack,
  method: string,
  path: string,
  options: Parameters<Stack["arm"]["request"]>[2] = {},
): ReturnType<Stack["arm"]["request"]> {
  for (let attempt = 1; ; attempt++) {
    const res = await stack.arm.request(method, path, options);
    if (res.status !== 429 || attempt === 20) return res;
    await sleep(Number(res.headers["retry-after"] ?? 1) * 1000);
  }
}

/** ARM calls the tests make as "someone else": the portal, another team. */
export async function createResourceGroup(stack: Stack, group = "app-rg"): Promise<void> {
  const res = await asSomeoneElse(stack, "PUT", `${rg(stack, group)}?api-version=2025-04-01`, {
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
  const res = await asSomeoneElse(stack, "PUT", `${vm(stack, name, group)}?api-version=2024-11-01`, {
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

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** What the tests read of any azid object's status. */
export interface AzidObject {
  metadata: { generation: number; finalizers?: string[]; deletionTimestamp?: string };
  // biome-ignore lint/suspicious/noExplicitAny: tests read status loosely and assert on it
  status?: { observedGeneration?: number; conditions?: Condition[] } & Record<string, any>;
}

export const conditionOf = (object: AzidObject | undefined, type: string) =>
  object?.status?.conditions?.find((condition) => condition.type === type);

export function sai(
  stack: Stack,
  name: string,
  resourceId: string,
  spec: Record<string, unknown> = {},
  namespace = NS,
) {
  void stack;
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "SystemAssignedIdentity",
    metadata: { name, namespace },
    spec: { resourceId, ...spec },
  };
}

export function customRole(stack: Stack, name: string, spec: Record<string, unknown> = {}, namespace = NS) {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "CustomRole",
    metadata: { name, namespace },
    spec: {
      subscriptionId: stack.subscriptionId,
      roleName: name,
      permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
      assignableScopes: [`/subscriptions/${stack.subscriptionId}`],
      ...spec,
    },
  };
}

/**
 * Waits until the controller has observed the object's last spec and `check` passes on it (it
 * throws while not yet); answers the object.
 */
export function observed(
  stack: Stack,
  kind: string,
  name: string,
  check: (object: AzidObject) => void | Promise<void>,
  namespace = NS,
  timeoutMs = 60_000,
): Promise<AzidObject> {
  return eventually(
    async () => {
      const object = await stack.get<AzidObject>(kind, name, namespace);
      assert.ok(object, `${kind}/${name} exists`);
      assert.equal(object.status?.observedGeneration, object.metadata.generation, "observed the last spec");
      await check(object);
      return object;
    },
    timeoutMs,
    `${kind}/${name}`,
  );
}

/** Waits until the object's condition has this status (and reason, when given). */
export function conditionReached(
  stack: Stack,
  kind: string,
  name: string,
  type: string,
  status: string,
  reason?: string,
  namespace = NS,
  timeoutMs = 60_000,
): Promise<AzidObject> {
  return observed(
    stack,
    kind,
    name,
    (object) => {
      const condition = conditionOf(object, type);
      const seen = JSON.stringify(object.status?.conditions);
      assert.equal(condition?.status, status, seen);
      if (reason !== undefined) assert.equal(condition?.reason, reason, seen);
    },
    namespace,
    timeoutMs,
  );
}

/** Ready=True on the last spec. */
export const ready = (stack: Stack, kind: string, name: string, namespace = NS, timeoutMs = 60_000) =>
  conditionReached(stack, kind, name, "Ready", "True", undefined, namespace, timeoutMs);

/** `kubectl events` for one object (events.k8s.io), as text. */
export function eventsOf(stack: Stack, kind: string, name: string, namespace = NS): Promise<string> {
  return stack.must(["events", "-n", namespace, "--for", `${kind}/${name}`]);
}

/** Waits until the object has an event whose line matches every pattern. */
export function eventRecorded(
  stack: Stack,
  kind: string,
  name: string,
  patterns: RegExp[],
  namespace = NS,
): Promise<string> {
  return eventually(
    async () => {
      const events = await eventsOf(stack, kind, name, namespace);
      const line = events.split("\n").find((candidate) => patterns.every((p) => p.test(candidate)));
      assert.ok(line, `no event matching ${patterns.join(" ")} in:\n${events}`);
      return line;
    },
    30_000,
    `event ${patterns.join(" ")} on ${kind}/${name}`,
  );
}

/** ARM writes (PUT, PATCH, POST) and deletes the emulator has answered since it started or was reset. */
export function armWrites(stack: Stack): number {
  const { requests } = stack.arm.arm.stats();
  return requests.write + requests.delete;
}

/** A user-assigned identity made by someone else (the portal); answers its properties. */
export async function createIdentityInAzure(
  stack: Stack,
  name: string,
  group = "app-rg",
  // biome-ignore lint/suspicious/noExplicitAny: tests read ARM bodies loosely
): Promise<any> {
  const res = await asSomeoneElse(stack, "PUT", `${identityId(stack, name, group)}?api-version=2024-11-30`, {
    body: { location: "westeurope" },
  });
  if (res.status >= 300) throw new Error(`identity: ${res.status} ${res.text}`);
  return res.body;
}

/** A role assignment made by someone else; answers its id. */
export async function grantInAzure(
  stack: Stack,
  principalId: string,
  roleDefinitionGuid: string,
  scope: string,
  name: string = randomUUID(),
): Promise<string> {
  const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
  const res = await asSomeoneElse(stack, "PUT", `${id}?api-version=2022-04-01`, {
    body: {
      properties: {
        roleDefinitionId: `/subscriptions/${stack.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleDefinitionGuid}`,
        principalId,
        principalType: "ServicePrincipal",
      },
    },
  });
  if (res.status >= 300) throw new Error(`role assignment: ${res.status} ${res.text}`);
  return id;
}

/** Built-in role definition GUIDs the tests grant. */
export const ROLE = {
  Reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  StorageBlobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  Owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  Contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
} as const;
