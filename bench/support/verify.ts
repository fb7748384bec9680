// The exact end state of an estate, read from Azure (the ARM emulator's HTTP API) and Kubernetes:
// every declared identity, grant, credential and attachment exactly once, in the subscription's
// current tenant, nothing left over, and every resource Ready with the principal Azure has.
import { armIdKey } from "../../src/api/arm-id.js";
import { builtinRoleByName } from "../../src/api/builtin-roles.js";
import { pool } from "../../src/util/pool.js";
import type { Stack } from "../../test/e2e/stack.js";
import { GROUP, isReady, listIdentities, type UaiManifest } from "./estate.js";

export interface EstateCheck {
  /** Declared items found more than once (the extra copies). */
  duplicates: number;
  /** Declared items missing (identities, grants, credentials, attachments, Ready resources). */
  lost: number;
  /** Items present that nothing declares (identities, grants of azid's principals or of deleted ones, dangling attachments). */
  orphaned: number;
  /** The first problems, for a failure message. */
  problems: string[];
}

export const exact = (check: EstateCheck) => check.duplicates + check.lost + check.orphaned === 0;

const MSI_API = "2024-11-30";
const AUTHZ_API = "2022-04-01";
const VM_API = "2024-11-01";

// biome-ignore lint/suspicious/noExplicitAny: ARM bodies are read loosely here
type Json = any;

async function getAll(stack: Stack, path: string, apiVersion: string): Promise<Json[]> {
  const items: Json[] = [];
  let next: string | undefined = `${path}${path.includes("?") ? "&" : "?"}api-version=${apiVersion}`;
  while (next) {
    const res = await stack.arm.request("GET", next);
    if (res.status !== 200) throw new Error(`GET ${next}: ${res.status} ${res.text}`);
    items.push(...(res.body.value ?? []));
    next = res.body.nextLink
      ? new URL(res.body.nextLink).pathname + new URL(res.body.nextLink).search
      : undefined;
  }
  return items;
}

/**
 * Checks the estate that `declared` describes (all in one subscription and resource group) against
 * Azure and Kubernetes. Reads only; throttling should be off while it runs.
 */
export async function verifyEstate(
  stack: Stack,
  declared: readonly UaiManifest[],
  options: { kubernetes?: boolean } = {},
): Promise<EstateCheck> {
  const check: EstateCheck = { duplicates: 0, lost: 0, orphaned: 0, problems: [] };
  const problem = (kind: keyof Omit<EstateCheck, "problems">, what: string, n = 1) => {
    check[kind] += n;
    if (check.problems.length < 20) check.problems.push(`${kind}: ${what}`);
  };
  const sub = stack.subscriptionId;
  const subscription = await stack.arm.request("GET", `/subscriptions/${sub}?api-version=2022-12-01`);
  const tenant = String(subscription.body.tenantId).toLowerCase();

  // Identities: each declared one exactly once, in the current tenant; none undeclared in the group.
  const identities = await getAll(
    stack,
    `/subscriptions/${sub}/resourceGroups/${GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`,
    MSI_API,
  );
  const byName = new Map<string, Json>();
  for (const identity of identities) {
    const name = String(identity.name).toLowerCase();
    if (byName.has(name)) problem("duplicates", `identity ${name}`);
    byName.set(name, identity);
  }
  const declaredNames = new Set(declared.map((m) => m.metadata.name.toLowerCase()));
  for (const name of byName.keys()) if (!declaredNames.has(name)) problem("orphaned", `identity ${name}`);
  for (const manifest of declared) {
    const identity = byName.get(manifest.metadata.name.toLowerCase());
    if (!identity) {
      problem("lost", `identity ${manifest.metadata.name}`);
      continue;
    }
    if (String(identity.properties.tenantId).toLowerCase() !== tenant)
      problem("lost", `identity ${manifest.metadata.name} still in tenant ${identity.properties.tenantId}`);
  }

  // Grants: each declared (scope, role, principal) exactly once.
  const assignments = await getAll(
    stack,
    `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments`,
    AUTHZ_API,
  );
  const grantKey = (scope: string, roleGuid: string, principal: string) =>
    `${armIdKey(scope)}|${roleGuid.toLowerCase()}|${principal.toLowerCase()}`;
  const present = new Map<string, number>();
  for (const a of assignments) {
    const roleGuid = String(a.properties.roleDefinitionId).split("/").at(-1) ?? "";
    const key = grantKey(a.properties.scope, roleGuid, a.properties.principalId);
    present.set(key, (present.get(key) ?? 0) + 1);
  }
  const wanted = new Set<string>();
  for (const manifest of declared) {
    const identity = byName.get(manifest.metadata.name.toLowerCase());
    if (!identity) continue;
    for (const grant of manifest.spec.roleAssignments) {
      const role = builtinRoleByName(grant.role);
      if (!role) throw new Error(`unknown role ${grant.role}`);
      const key = grantKey(grant.scope, role.guid, identity.properties.principalId);
      wanted.add(key);
      const count = present.get(key) ?? 0;
      if (count === 0) problem("lost", `grant ${grant.role} on ${grant.scope} to ${manifest.metadata.name}`);
      if (count > 1) problem("duplicates", `grant ${grant.role} to ${manifest.metadata.name}`, count - 1);
    }
  }
  // Nothing else in this subscription grants anything: any other assignment is left over.
  for (const [key, count] of present) if (!wanted.has(key)) problem("orphaned", `grant ${key}`, count);

  // Federated credentials and attachments, per identity.
  await pool(declared, 8, async (manifest) => {
    const identity = byName.get(manifest.metadata.name.toLowerCase());
    if (!identity) return;
    const credentials = await getAll(stack, `${identity.id}/federatedIdentityCredentials`, MSI_API);
    for (const fic of manifest.spec.federatedCredentials) {
      const matches = credentials.filter(
        (c) =>
          String(c.name).toLowerCase() === fic.name.toLowerCase() &&
          c.properties.issuer === fic.issuer &&
          c.properties.subject === fic.subject,
      );
      if (matches.length === 0) problem("lost", `credential ${fic.name}`);
    }
    const declaredFics = new Set(manifest.spec.federatedCredentials.map((f) => f.name.toLowerCase()));
    for (const c of credentials)
      if (!declaredFics.has(String(c.name).toLowerCase())) problem("orphaned", `credential ${c.name}`);
  });
  const targets = new Map<string, string[]>(); // vm key -> identity ids declared on it
  for (const manifest of declared) {
    const identity = byName.get(manifest.metadata.name.toLowerCase());
    for (const target of manifest.spec.attachTo)
      targets.set(armIdKey(target), [
        ...(targets.get(armIdKey(target)) ?? []),
        identity ? armIdKey(identity.id) : `missing:${manifest.metadata.name}`,
      ]);
  }
  await pool([...targets.keys()], 8, async (target) => {
    const res = await stack.arm.request("GET", `${target}?api-version=${VM_API}`);
    if (res.status !== 200) {
      problem("lost", `attachment target ${target}: ${res.status}`);
      return;
    }
    const attached = Object.entries(
      (res.body.identity?.userAssignedIdentities ?? {}) as Record<string, Json>,
    );
    const keys = attached.map(([id]) => armIdKey(id));
    for (const want of targets.get(target) ?? []) {
      const count = keys.filter((k) => k === want).length;
      if (count === 0)
        problem("lost", `attachment of ${want.split("/").at(-1)} to ${target.split("/").at(-1)}`);
      if (count > 1) problem("duplicates", `attachment of ${want}`, count - 1);
      const entry = attached.find(([id]) => armIdKey(id) === want)?.[1];
      const identity = byName.get(want.split("/").at(-1) ?? "");
      if (entry && identity && entry.principalId !== identity.properties.principalId)
        problem("lost", `attachment of ${want} shows principal ${entry.principalId}`);
    }
    for (const key of keys)
      if (!(targets.get(target) ?? []).includes(key)) problem("orphaned", `attachment ${key} on ${target}`);
  });

  // Kubernetes: every resource Ready for its spec, in the current tenant, with Azure's principal.
  if (options.kubernetes === false) return check;
  const namespaces = [...new Set(declared.map((m) => m.metadata.namespace))];
  const objects = (await Promise.all(namespaces.map((ns) => listIdentities(stack, ns)))).flat();
  const objectsByName = new Map(objects.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  for (const manifest of declared) {
    const object = objectsByName.get(`${manifest.metadata.namespace}/${manifest.metadata.name}`);
    const identity = byName.get(manifest.metadata.name.toLowerCase());
    if (!object || !isReady(object, tenant)) {
      problem(
        "lost",
        `${manifest.metadata.name} not Ready: ${JSON.stringify(object?.status?.conditions ?? [])}`,
      );
      continue;
    }
    if (identity && object.status?.principalId !== identity.properties.principalId)
      problem("lost", `${manifest.metadata.name} status shows principal ${object.status?.principalId}`);
  }
  return check;
}
