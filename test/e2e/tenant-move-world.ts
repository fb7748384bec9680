// The estate the tenant-move tests repair: 100 resources of every kind in one subscription
// (custom roles, user-assigned identities with grants, credentials, VM attachments and Graph app
// roles, system-assigned identities on VMs that also carry user-assigned ones), the VMs they
// need, the team's policy, azid's credentials file, and a reader of Azure through plain ARM and
// Graph requests (independent of azid's own clients) that follows every page.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { serviceAccountCredentialName } from "../../src/api/workload-identity.js";
import {
  type Declared,
  declaredPrincipals,
  differences,
  type Estate,
} from "../../src/cli/demo/exact-state.js";
import { createResourceGroup, createVm, GRAPH, rg, vm } from "./fixtures.js";
import type { Stack } from "./stack.js";

export interface WorldSize {
  customRoles: number;
  userAssigned: number;
  systemAssigned: number;
  /** VMs the user-assigned identities attach to; the first system-assigned identities are on them too. */
  sharedVms: number;
}

/** 10 + 60 + 30 = 100 resources. */
export const HUNDRED: WorldSize = { customRoles: 10, userAssigned: 60, systemAssigned: 30, sharedVms: 20 };

const ISSUER = "https://oidc.example.com/cluster-1";
const pad = (i: number) => String(i).padStart(2, "0");

export interface World {
  namespace: string;
  size: WorldSize;
  customRoles: object[];
  userAssigned: object[];
  systemAssigned: object[];
  /** Every VM of the world, by name. */
  vms: string[];
}

export function buildWorld(stack: Stack, size: WorldSize, namespace = "estate"): World {
  const sub = stack.subscriptionId;
  const group = rg(stack);
  const meta = (name: string) => ({ name, namespace });
  const customRoles = Array.from({ length: size.customRoles }, (_, k) => ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "CustomRole",
    metadata: meta(`orders-reader-${pad(k)}`),
    spec: {
      subscriptionId: sub,
      roleName: `Orders Reader ${pad(k)}`,
      description: "reads the orders storage accounts",
      permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read", `Microsoft.Storage/*/read`] }],
      assignableScopes: [group],
    },
  }));
  const sharedVm = (i: number) => `vm-${pad(i % size.sharedVms)}`;
  const userAssigned = Array.from({ length: size.userAssigned }, (_, i) => ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: meta(`app-${pad(i)}`),
    spec: {
      subscriptionId: sub,
      resourceGroup: "app-rg",
      location: "westeurope",
      tags: { team: namespace, app: `app-${pad(i)}` },
      roleAssignments: [
        { role: "Reader", scope: group },
        ...(i % 3 === 0 ? [{ role: "Storage Blob Data Reader", scope: vm(stack, sharedVm(i)) }] : []),
        // Every custom role is granted by two identities (and some by system-assigned ones).
        ...(i < 2 * size.customRoles
          ? [{ customRoleRef: { name: `orders-reader-${pad(i % size.customRoles)}` }, scope: group }]
          : []),
      ],
      // Every fourth identity is used by a ServiceAccount: azid keeps its credential (the cluster's issuer).
      ...(i % 4 === 1 ? { serviceAccounts: [{ name: `app-${pad(i)}` }] } : {}),
      federatedCredentials: Array.from({ length: i % 3 }, (_, c) => ({
        name: `cluster-1-${c}`,
        issuer: ISSUER,
        subject: `system:serviceaccount:${namespace}:app-${pad(i)}-${c}`,
      })),
      attachTo: [
        ...(i < 2 * size.sharedVms ? [vm(stack, sharedVm(i))] : []),
        ...(i % 10 === 0 ? [vm(stack, sharedVm(i + 1))] : []),
      ],
      ...(i % 15 === 0 ? { graphAppRoles: [{ appRole: "User.Read.All" }] } : {}),
    },
  }));
  const systemVm = (j: number) => (j < size.sharedVms ? sharedVm(j) : `sys-vm-${pad(j)}`);
  const systemAssigned = Array.from({ length: size.systemAssigned }, (_, j) => ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "SystemAssignedIdentity",
    metadata: meta(`${systemVm(j)}-identity`),
    spec: {
      resourceId: vm(stack, systemVm(j)),
      roleAssignments: [
        { role: "Reader", scope: group },
        ...(j < size.customRoles / 2
          ? [{ customRoleRef: { name: `orders-reader-${pad(j)}` }, scope: group }]
          : []),
      ],
      ...(j % 10 === 0 ? { graphAppRoles: [{ resourceAppId: GRAPH, appRole: "User.Read.All" }] } : {}),
    },
  }));
  const vms = [
    ...Array.from({ length: size.sharedVms }, (_, i) => sharedVm(i)),
    ...Array.from({ length: Math.max(0, size.systemAssigned - size.sharedVms) }, (_, j) =>
      systemVm(size.sharedVms + j),
    ),
  ];
  return { namespace, size, customRoles, userAssigned, systemAssigned, vms };
}

/** The team's namespace and policy: the estate's roles (custom ones included) anywhere in the subscription. */
export function namespaceAndPolicy(stack: Stack, world: World, tenantMoveRemediation?: "Auto" | "Manual") {
  const sub = `/subscriptions/${stack.subscriptionId}`;
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: world.namespace, labels: { "azid.dev/team": world.namespace } },
    },
    {
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: `${world.namespace}-policy` },
      spec: {
        namespaceSelector: { matchLabels: { "azid.dev/team": world.namespace } },
        subscriptions: [{ subscriptionId: stack.subscriptionId }],
        roles: [
          {
            roles: [
              "Reader",
              "Storage Blob Data Reader",
              ...Array.from({ length: world.size.customRoles }, (_, k) => `Orders Reader ${pad(k)}`),
            ],
            scopes: [{ scope: sub, match: "Under" }],
          },
        ],
        attachTargets: [{ scope: sub, match: "Under" }],
        graphAppRoles: [{ resourceAppId: GRAPH, appRoles: ["User.Read.All"] }],
        allowCustomRoles: true,
        federatedCredentials: [{ issuer: ISSUER, subjects: [`system:serviceaccount:${world.namespace}:*`] }],
        ...(tenantMoveRemediation ? { tenantMoveRemediation } : {}),
      },
    },
  ];
}

/** The resource group and VMs (made by "someone else", as the portal would), then the namespace and policy. */
export async function provision(
  stack: Stack,
  world: World,
  tenantMoveRemediation?: "Auto" | "Manual",
): Promise<void> {
  await createResourceGroup(stack);
  for (const name of world.vms) await createVm(stack, name);
  await stack.apply(...namespaceAndPolicy(stack, world, tenantMoveRemediation));
  // The ServiceAccounts the identities name in serviceAccounts[].
  const accounts = (world.userAssigned as Array<{ spec: { serviceAccounts?: Array<{ name: string }> } }>)
    .flatMap((identity) => identity.spec.serviceAccounts ?? [])
    .map((account) => ({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: account.name, namespace: world.namespace },
    }));
  if (accounts.length > 0) await stack.apply(...accounts);
}

/** All 100 resources, applied the way a GitOps sync does. */
export function applyAll(stack: Stack, world: World): Promise<string> {
  return stack.apply(...world.customRoles, ...world.userAssigned, ...world.systemAssigned);
}

/**
 * azid's credentials file: a service principal of `tenantId` for the subscription (the sandbox
 * accepts any client id and secret). Rewriting it is how an operator switches tenants.
 */
export function writeCredentials(stack: Stack, tenantId: string): string {
  const secret = join(stack.dir, "azid-secret");
  writeFileSync(secret, "sandbox-accepts-any-secret\n");
  const file = join(stack.dir, "credentials.yaml");
  writeFileSync(
    file,
    `subscriptions:\n  ${stack.subscriptionId}:\n    tenantId: ${tenantId}\n` +
      `    clientId: 5e1d2c3b-0000-4000-8000-00000000a21d\n    clientSecretFile: ${secret}\n`,
  );
  return file;
}

export async function moveSubscription(stack: Stack, tenantId = randomUUID()) {
  const answer = await stack.arm.admin("POST", `subscriptions/${stack.subscriptionId}/move`, { tenantId });
  if (answer.status !== 200) throw new Error(`move: ${answer.status} ${answer.text}`);
  return answer.body as {
    fromTenantId: string;
    toTenantId: string;
    deleted: { roleAssignments: string[]; customRoles: string[] };
  };
}

// biome-ignore lint/suspicious/noExplicitAny: ARM bodies are read loosely
type Body = any;

/** GET with the opaque token, waiting out 429s, following nextLink. */
async function getAll(stack: Stack, path: string, token?: string): Promise<Body[]> {
  const items: Body[] = [];
  let next: string | undefined = path;
  while (next) {
    const answer = await stack.arm.request("GET", next, token ? { token } : {});
    if (answer.status === 429) {
      await sleep(Number(answer.headers["retry-after"] ?? 1) * 1000);
      continue;
    }
    if (answer.status !== 200) throw new Error(`GET ${next}: ${answer.status} ${answer.text}`);
    items.push(...(answer.body.value ?? []));
    next = answer.body.nextLink || answer.body["@odata.nextLink"] || undefined;
  }
  return items;
}

/** Azure as the tests see it, through plain ARM and Graph requests (the subscription and its group). */
export async function readEstate(stack: Stack, principals: readonly string[]): Promise<Estate> {
  const sub = `/subscriptions/${stack.subscriptionId}`;
  const subscription = await stack.arm.request("GET", `${sub}?api-version=2022-12-01`);
  const tenantId = subscription.body.tenantId as string;
  const identities = await getAll(
    stack,
    `${sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2024-11-30`,
  );
  const credentials: Estate["credentials"] = {};
  for (const identity of identities) {
    const fics = await getAll(stack, `${identity.id}/federatedIdentityCredentials?api-version=2024-11-30`);
    credentials[identity.id.toLowerCase()] = fics.map((c) => ({
      name: c.name,
      issuer: c.properties.issuer,
      subject: c.properties.subject,
      audiences: c.properties.audiences,
    }));
  }
  const resources = (await getAll(stack, `${sub}/resources?api-version=2025-04-01`)).filter(
    (r) =>
      r.identity &&
      String(r.identity.type).toLowerCase() !== "none" &&
      !/userAssignedIdentities$/i.test(r.type),
  );
  const assignments = await getAll(
    stack,
    `${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`,
  );
  const definitions = await getAll(
    stack,
    `${sub}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=type eq 'CustomRole'`,
  );
  // Graph answers for the subscription's tenant with a token of that tenant.
  const graphToken = (
    await stack.arm.admin("POST", "tokens", { tenantId, audience: "https://graph.microsoft.com" })
  ).body.accessToken as string;
  const appRoleAssignments: Estate["appRoleAssignments"] = {};
  for (const principal of principals) {
    const answer = await stack.arm.request("GET", `/v1.0/servicePrincipals/${principal}/appRoleAssignments`, {
      token: graphToken,
    });
    appRoleAssignments[principal.toLowerCase()] = answer.status === 200 ? answer.body.value : [];
  }
  return {
    tenantId,
    identities: identities.map((i) => ({
      id: i.id,
      name: i.name,
      location: i.location,
      tags: i.tags ?? {},
      principalId: i.properties.principalId,
      clientId: i.properties.clientId,
      tenantId: i.properties.tenantId,
    })),
    credentials,
    resources: resources.map((r) => ({ id: r.id, identity: r.identity })),
    roleAssignments: assignments.map((a) => ({
      id: a.id,
      name: a.name,
      scope: a.properties.scope,
      roleDefinitionId: a.properties.roleDefinitionId,
      principalId: a.properties.principalId,
    })),
    customRoles: definitions.map((d) => ({
      id: d.id,
      name: d.name,
      roleName: d.properties.roleName,
      type: d.properties.type,
      permissions: d.properties.permissions,
      assignableScopes: d.properties.assignableScopes,
    })),
    appRoleAssignments,
  };
}

/** The world's resources as the API server holds them now (with their statuses), in one kubectl call. */
export async function declaredNow(stack: Stack, world: World): Promise<Declared> {
  const kinds = "customroles.azid.dev,userassignedidentities.azid.dev,systemassignedidentities.azid.dev";
  const items: Array<{ kind: string }> = JSON.parse(
    await stack.must(["get", kinds, "-n", world.namespace, "-o", "json"]),
  ).items;
  const of = <T>(kind: string) => items.filter((item) => item.kind === kind) as T[];
  return {
    customRoles: of("CustomRole"),
    userAssigned: of("UserAssignedIdentity"),
    systemAssigned: of("SystemAssignedIdentity"),
    // The controller discovers this issuer from the API server; serviceAccounts[] credentials carry it.
    serviceAccountIssuer: stack.kube.serviceAccountIssuer,
  };
}

export type DeclaredResource = Declared["userAssigned"][number] | Declared["systemAssigned"][number];

export const identitiesOf = (declared: Declared): DeclaredResource[] => [
  ...declared.userAssigned,
  ...declared.systemAssigned,
];

export const conditionOf = (
  resource: {
    status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
  },
  type: string,
) => resource.status?.conditions?.find((condition) => condition.type === type);

/** Polls less eagerly than `eventually` (each look spawns kubectl): every `intervalMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T>,
  timeoutMs = 120_000,
  intervalMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} not reached in ${timeoutMs} ms: ${(last as Error)?.message}`);
    await sleep(intervalMs);
  }
}

/** Events of a namespace (events.k8s.io), as reason and the name of the object they regard. */
export async function eventsOf(
  stack: Stack,
  namespace: string,
): Promise<Array<{ reason: string; type: string; note: string; name: string; kind: string; time: string }>> {
  const list = JSON.parse(await stack.must(["get", "events.events.k8s.io", "-n", namespace, "-o", "json"]))
    .items as Body[];
  return list.map((event) => ({
    reason: event.reason,
    type: event.type,
    note: event.note ?? "",
    name: event.regarding?.name,
    kind: event.regarding?.kind,
    // A repeated event is one series: its last occurrence is when it last happened.
    time: event.series?.lastObservedTime ?? event.eventTime ?? "",
  }));
}

/**
 * The repair a TenantMigration must plan for this world after a move, once the custom roles are
 * back: one line per action, `Kind resource verb target` (role assignment names left out: they
 * derive from principals not known before the repair).
 */
export function expectedRepair(stack: Stack, world: World): string[] {
  const lines: string[] = [];
  const ref = (o: Body) => `${o.kind}/${world.namespace}/${o.metadata.name}`;
  const roleName = (assignment: Body) =>
    assignment.role ?? `Orders Reader ${assignment.customRoleRef.name.slice(-2)}`;
  for (const identity of world.userAssigned as Body[]) {
    const id = `${rg(stack)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity.metadata.name}`;
    for (const target of identity.spec.attachTo)
      lines.push(`PatchResourceIdentity ${ref(identity)} detach ${target}`);
    lines.push(`DeleteIdentity ${ref(identity)} delete ${id}`);
    lines.push(`CreateIdentity ${ref(identity)} create ${id}`);
    for (const fic of identity.spec.federatedCredentials)
      lines.push(
        `PutFederatedCredential ${ref(identity)} write ${id}/federatedIdentityCredentials/${fic.name}`,
      );
    // The ServiceAccounts' credentials are re-created too, under the same deterministic name.
    for (const account of identity.spec.serviceAccounts ?? [])
      lines.push(
        `PutFederatedCredential ${ref(identity)} write ${id}/federatedIdentityCredentials/${serviceAccountCredentialName(account.name)}`,
      );
    for (const target of identity.spec.attachTo)
      lines.push(`PatchResourceIdentity ${ref(identity)} attach ${target}`);
    for (const grant of identity.spec.roleAssignments)
      lines.push(`PutRoleAssignment ${ref(identity)} grant ${roleName(grant)} at ${grant.scope}`);
    for (const role of identity.spec.graphAppRoles ?? [])
      lines.push(`GrantAppRole ${ref(identity)} grant ${role.appRole}`);
  }
  for (const system of world.systemAssigned as Body[]) {
    lines.push(`PatchResourceIdentity ${ref(system)} disable ${system.spec.resourceId}`);
    lines.push(`PatchResourceIdentity ${ref(system)} enable ${system.spec.resourceId}`);
    for (const grant of system.spec.roleAssignments)
      lines.push(`PutRoleAssignment ${ref(system)} grant ${roleName(grant)} at ${grant.scope}`);
    for (const role of system.spec.graphAppRoles ?? [])
      lines.push(`GrantAppRole ${ref(system)} grant ${role.appRole}`);
  }
  return lines.sort();
}

/** A planned action in the same words as expectedRepair(). */
export function describeAction(action: {
  kind: string;
  resource: string;
  target: string;
  description: string;
}) {
  const verb = action.description.split(" ")[0];
  switch (action.kind) {
    case "PutRoleAssignment": {
      const [, role, scope] = /^grant (.+) to .* at (\S+)$/.exec(action.description) ?? [];
      return `${action.kind} ${action.resource} grant ${role} at ${scope}`;
    }
    case "GrantAppRole": {
      const [, role] = /^grant app role (\S+) to /.exec(action.description) ?? [];
      return `${action.kind} ${action.resource} grant ${role}`;
    }
    default:
      return `${action.kind} ${action.resource} ${verb} ${action.target}`;
  }
}

/** Where an action belongs in the repair: custom roles, teardown, identities, attachments, grants. */
export function repairStep(action: { kind: string; description: string }): number {
  if (action.kind === "PutRoleDefinition") return 0;
  if (action.kind === "DeleteIdentity" || /^(detach|disable)/.test(action.description)) return 1;
  if (action.kind === "CreateIdentity" || action.kind === "PutFederatedCredential") return 2;
  if (action.kind === "PatchResourceIdentity") return 3;
  return 4;
}

/** Applies the world and waits until every resource is Ready; returns each identity's principal. */
export async function applyAndWaitReady(stack: Stack, world: World): Promise<Map<string, string>> {
  await applyAll(stack, world);
  for (const kind of ["customroles.azid.dev", "uai", "sai"]) {
    await stack.waitReady(kind, world.namespace, "240s");
  }
  const principals = new Map<string, string>();
  for (const resource of identitiesOf(await declaredNow(stack, world))) {
    principals.set(resource.metadata.name, resource.status?.principalId as string);
  }
  return principals;
}

/** Differences between Azure and the world's resources now (empty when exact). */
export async function driftOf(stack: Stack, world: World): Promise<string[]> {
  const declared = await declaredNow(stack, world);
  return differences(declared, await readEstate(stack, declaredPrincipals(declared)));
}

export function tenantMigration(stack: Stack, name: string, approved = false) {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "TenantMigration",
    metadata: { name },
    spec: { subscriptionId: stack.subscriptionId, mode: "Apply", ...(approved ? { approved } : {}) },
  };
}

/** Waits for a TenantMigration to reach a phase and returns it. */
export function migrationIn(stack: Stack, name: string, phase: string, timeoutMs = 120_000): Promise<Body> {
  return waitUntil(
    `TenantMigration ${name} ${phase}`,
    async () => {
      const found: Body = await stack.get("tenantmigration", name);
      assert.equal(
        found?.status?.phase,
        phase,
        JSON.stringify(found?.status?.progress ?? found?.status?.conditions),
      );
      return found;
    },
    timeoutMs,
    500,
  );
}

/** ARM writes and deletes the emulator has answered so far (every caller). */
export function armWrites(stack: Stack): number {
  const { write, delete: deletes } = stack.arm.arm.stats().requests;
  return write + deletes;
}

/** A small seeded generator (mulberry32): the same seed gives the same kill points. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
