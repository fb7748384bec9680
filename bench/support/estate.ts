// An estate of user-assigned identities for benchmarks and the reliability suite: the Azure side
// that exists before azid (a resource group, VMs), the manifests (each identity with its grants,
// one federated credential and one VM attachment), their creation in Kubernetes, and the wait
// for every one of them to be Ready.
import { setTimeout as sleep } from "node:timers/promises";
import { pool } from "../../src/util/pool.js";
import { GRAPH } from "../../test/e2e/fixtures.js";
import type { Stack } from "../../test/e2e/stack.js";

export const GROUP = "bench-rg";
export const REGION = "westeurope";
export const ISSUER = "https://oidc.bench.example.com/cluster";
const VM_API = "2024-11-01";

export interface EstateShape {
  namespace: string;
  identities: number;
  /** Grants per identity (1 to 3): Reader on the group, Storage Blob Data Reader on the group, Reader on its VM. */
  grants: number;
  /** Federated credentials per identity (0 or 1). */
  credentials: number;
  /** Identities attached to each VM (0: no attachment). */
  identitiesPerVm: number;
  /** Name prefix of the identities. */
  prefix?: string;
  /** Each identity names a ServiceAccount of its own name and exports its ids to a ConfigMap. */
  wiring?: boolean;
}

export const groupId = (subscriptionId: string) => `/subscriptions/${subscriptionId}/resourceGroups/${GROUP}`;
export const vmId = (subscriptionId: string, index: number) =>
  `${groupId(subscriptionId)}/providers/Microsoft.Compute/virtualMachines/vm-${index}`;

export function vmCount(shape: EstateShape): number {
  return shape.identitiesPerVm > 0 ? Math.ceil(shape.identities / shape.identitiesPerVm) : 0;
}

/** The namespace, and the IdentityPolicy that lets it manage identities in the subscription. */
export function namespaceObjects(stack: Stack, namespace: string): object[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: { "azid.dev/team": namespace } },
    },
    {
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: `${namespace}-policy` },
      spec: {
        namespaceSelector: { matchLabels: { "azid.dev/team": namespace } },
        subscriptions: [{ subscriptionId: stack.subscriptionId }],
        roles: [
          {
            roles: ["Reader", "Storage Blob Data Reader"],
            scopes: [{ scope: `/subscriptions/${stack.subscriptionId}`, match: "Under" }],
          },
        ],
        attachTargets: [{ scope: `/subscriptions/${stack.subscriptionId}`, match: "Under" }],
        graphAppRoles: [{ resourceAppId: GRAPH, appRoles: ["User.Read.All"] }],
        federatedCredentials: [{ issuer: ISSUER, subjects: [`system:serviceaccount:${namespace}:*`] }],
      },
    },
  ];
}

export interface UaiManifest {
  apiVersion: "azid.dev/v1alpha1";
  kind: "UserAssignedIdentity";
  metadata: { name: string; namespace: string };
  spec: {
    subscriptionId: string;
    resourceGroup: string;
    location: string;
    tags?: Record<string, string>;
    roleAssignments: Array<{ role: string; scope: string }>;
    federatedCredentials: Array<{ name: string; issuer: string; subject: string }>;
    attachTo: string[];
    /** Set by bench/support/vaults.ts. */
    keyVaultAccessPolicies?: Array<{ vaultId: string; permissions: { secrets?: string[] } }>;
    serviceAccounts?: Array<{ name: string }>;
    exports?: { configMap: { name: string } };
  };
}

export function identityManifests(stack: Stack, shape: EstateShape): UaiManifest[] {
  const sub = stack.subscriptionId;
  const prefix = shape.prefix ?? "app";
  return Array.from({ length: shape.identities }, (_, i) => {
    const name = `${prefix}-${i}`;
    const vm = shape.identitiesPerVm > 0 ? vmId(sub, Math.floor(i / shape.identitiesPerVm)) : undefined;
    const grants = [
      { role: "Reader", scope: groupId(sub) },
      { role: "Storage Blob Data Reader", scope: groupId(sub) },
      { role: "Reader", scope: vm ?? `${groupId(sub)}` },
    ].slice(0, shape.grants);
    return {
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name, namespace: shape.namespace },
      spec: {
        subscriptionId: sub,
        resourceGroup: GROUP,
        location: REGION,
        roleAssignments: grants,
        federatedCredentials:
          shape.credentials > 0
            ? [
                {
                  name: `aks-${name}`,
                  issuer: ISSUER,
                  subject: `system:serviceaccount:${shape.namespace}:${name}`,
                },
              ]
            : [],
        attachTo: vm ? [vm] : [],
        ...(shape.wiring
          ? { serviceAccounts: [{ name }], exports: { configMap: { name: `${name}-ids` } } }
          : {}),
      },
    };
  });
}

/**
 * What a team runs beside its identities: per name a ServiceAccount and a Deployment whose pods use
 * workload identity through it (`serviceAccounts` false: an unrelated Deployment only).
 */
export async function createWorkloads(
  stack: Stack,
  namespace: string,
  names: readonly string[],
  options: { serviceAccounts: boolean; concurrency?: number } = { serviceAccounts: true },
): Promise<void> {
  const post = async (path: string, body: object) => {
    const res = await fetch(`${stack.kube.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`create ${path}: ${res.status} ${await res.text()}`);
  };
  await pool(names, options.concurrency ?? 16, async (name) => {
    if (options.serviceAccounts) {
      await post(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name },
      });
    }
    const labels = {
      app: name,
      ...(options.serviceAccounts ? { "azure.workload.identity/use": "true" } : {}),
    };
    await post(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels },
          spec: {
            ...(options.serviceAccounts ? { serviceAccountName: name } : {}),
            containers: [{ name: "app", image: "registry.example.com/app:1" }],
          },
        },
      },
    });
  });
}

/** The resource group and the VMs, created as "someone else" would (throttling should be off). */
export async function createAzureEstate(stack: Stack, vms: number): Promise<void> {
  const sub = stack.subscriptionId;
  const must = async (path: string, body: unknown) => {
    const res = await stack.arm.request("PUT", path, { body });
    if (res.status >= 300) throw new Error(`PUT ${path}: ${res.status} ${res.text}`);
  };
  await must(`${groupId(sub)}?api-version=2025-04-01`, { location: REGION });
  await pool(
    Array.from({ length: vms }, (_, i) => i),
    16,
    (i) => must(`${vmId(sub, i)}?api-version=${VM_API}`, { location: REGION }),
  );
}

const API = "/apis/azid.dev/v1alpha1";
const PLURALS: Record<string, string> = {
  UserAssignedIdentity: "userassignedidentities",
  SystemAssignedIdentity: "systemassignedidentities",
};

/**
 * Creates objects through the API server (what kubectl apply of a new object does, without a
 * kubectl process per chunk), several at a time. Namespaced azid kinds only.
 */
export async function createObjects(
  stack: Stack,
  objects: readonly UaiManifest[],
  concurrency = 16,
): Promise<void> {
  await pool(objects, concurrency, async (object) => {
    const url = `${stack.kube.url}${API}/namespaces/${object.metadata.namespace}/${PLURALS[object.kind]}`;
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(object),
    });
    if (!res.ok) throw new Error(`create ${object.metadata.name}: ${res.status} ${await res.text()}`);
  });
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface IdentityObject {
  metadata: { name: string; namespace: string; generation: number; resourceVersion: string };
  spec: UaiManifest["spec"];
  status?: {
    observedGeneration?: number;
    principalId?: string;
    clientId?: string;
    tenantId?: string;
    resourceId?: string;
    conditions?: Condition[];
  };
}

/** Every user-assigned identity of a namespace as the API server has it now. */
export async function listIdentities(stack: Stack, namespace: string): Promise<IdentityObject[]> {
  const res = await fetch(`${stack.kube.url}${API}/namespaces/${namespace}/userassignedidentities`);
  if (!res.ok) throw new Error(`list: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { items: IdentityObject[] }).items;
}

export const conditionOf = (object: IdentityObject, type: string) =>
  object.status?.conditions?.find((c) => c.type === type);

/** Ready for its current spec, and (when given) in that tenant. */
export function isReady(object: IdentityObject, tenantId?: string): boolean {
  return (
    conditionOf(object, "Ready")?.status === "True" &&
    object.status?.observedGeneration === object.metadata.generation &&
    (tenantId === undefined || object.status?.tenantId?.toLowerCase() === tenantId.toLowerCase())
  );
}

/** Polls until `count` identities of the namespace are Ready (in `tenantId` when given); answers when that was seen. */
export async function waitAllReady(
  stack: Stack,
  namespace: string,
  count: number,
  options: { tenantId?: string; timeoutMs: number; pollMs?: number; what?: string },
): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  let ready = 0;
  let objects: IdentityObject[] = [];
  while (Date.now() < deadline) {
    objects = await listIdentities(stack, namespace);
    ready = objects.filter((o) => isReady(o, options.tenantId)).length;
    if (ready >= count) return Date.now();
    // Each poll lists every object from the API server, which runs in this process beside ARM.
    await sleep(options.pollMs ?? Math.max(100, count / 2));
  }
  const stuck = objects
    .filter((o) => !isReady(o, options.tenantId))
    .slice(0, 3)
    .map((o) => `${o.metadata.name}: ${JSON.stringify(o.status?.conditions ?? [])}`);
  throw new Error(
    `${options.what ?? "the estate"}: ${ready} of ${count} Ready after ${options.timeoutMs} ms; e.g.\n${stuck.join("\n")}`,
  );
}
