// Key Vaults for the remediation benchmark (issue 14): one vault in access-policy mode per
// `perVault` identities, each identity granted secrets get/list on its vault, the policy rule
// that lets a repair reset their tenant, the writes the repair cannot do without (for the floor),
// and the exact end state after a repair.

import type { Action, ResourceRef } from "../../src/plan/actions.js";
import * as build from "../../src/plan/build.js";
import { pool } from "../../src/util/pool.js";
import type { Stack } from "../../test/e2e/stack.js";
import { groupId, REGION, type UaiManifest } from "./estate.js";

const API = "2026-02-01";
const PERMISSIONS = { secrets: ["get", "list"] };
const NEW_PRINCIPAL = "00000000-0000-4000-8000-000000000000";

export const vaultId = (subscriptionId: string, index: number) =>
  `${groupId(subscriptionId)}/providers/Microsoft.KeyVault/vaults/bench-kv-${index}`;

/** The manifests, each granted on the vault of its group of `perVault`. */
export function withVaults(stack: Stack, manifests: readonly UaiManifest[], perVault: number): UaiManifest[] {
  return manifests.map((manifest, i) => ({
    ...manifest,
    spec: {
      ...manifest.spec,
      keyVaultAccessPolicies: [
        { vaultId: vaultId(stack.subscriptionId, Math.floor(i / perVault)), permissions: PERMISSIONS },
      ],
    },
  }));
}

export const vaultCount = (identities: number, perVault: number) => Math.ceil(identities / perVault);

/** The vaults, in access-policy mode, made by "someone else" (throttling should be off). */
export async function createVaults(stack: Stack, count: number): Promise<void> {
  await pool(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const res = await stack.arm.request("PUT", `${vaultId(stack.subscriptionId, i)}?api-version=${API}`, {
        body: {
          location: REGION,
          properties: {
            tenantId: stack.arm.arm.tenantId,
            sku: { family: "A", name: "standard" },
            enableRbacAuthorization: false,
            accessPolicies: [],
          },
        },
      });
      if (res.status >= 300) throw new Error(`vault ${i}: ${res.status} ${res.text}`);
    },
  );
}

/** The IdentityPolicy keyVaults rule: these permissions on the group's vaults, tenant repair allowed. */
export function vaultRule(stack: Stack) {
  return {
    scopes: [{ scope: groupId(stack.subscriptionId), match: "Under" }],
    permissions: PERMISSIONS,
    allowTenantRepair: true,
  };
}

/** What a repair of the vaults must write: one tenant reset per vault, one entry per identity. */
export function vaultRepairWrites(manifests: readonly UaiManifest[]): Action[] {
  const owner = (m: UaiManifest): ResourceRef => ({
    kind: "UserAssignedIdentity",
    namespace: m.metadata.namespace,
    name: m.metadata.name,
  });
  const vaults = new Map<string, UaiManifest>();
  const entries: Action[] = [];
  for (const manifest of manifests) {
    for (const { vaultId: id } of manifest.spec.keyVaultAccessPolicies ?? []) {
      if (!vaults.has(id)) vaults.set(id, manifest);
      entries.push(
        build.updateVaultAccessPolicy(
          owner(manifest),
          id,
          "replace",
          { tenantId: NEW_PRINCIPAL, objectId: `${manifest.metadata.name}`, permissions: PERMISSIONS },
          "grants",
        ),
      );
    }
  }
  const resets = [...vaults].map(([id, manifest]) => build.setVaultTenant(owner(manifest), id, "old", "new"));
  return [...resets, ...entries];
}

/**
 * Each vault in the subscription's tenant with exactly one entry per identity granted on it, for
 * that identity's principal now, in that tenant, with the declared permissions: the problems found.
 */
export async function verifyVaults(stack: Stack, manifests: readonly UaiManifest[]): Promise<string[]> {
  const sub = stack.subscriptionId;
  const tenant = String(
    (await stack.arm.request("GET", `/subscriptions/${sub}?api-version=2022-12-01`)).body.tenantId,
  ).toLowerCase();
  const principals = new Map<string, string>();
  const identities = await stack.arm.request(
    "GET",
    `${groupId(sub)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2024-11-30`,
  );
  // biome-ignore lint/suspicious/noExplicitAny: ARM bodies are read loosely
  for (const identity of (identities.body as any).value ?? [])
    principals.set(String(identity.name).toLowerCase(), String(identity.properties.principalId));
  const problems: string[] = [];
  const byVault = new Map<string, string[]>();
  for (const manifest of manifests) {
    for (const { vaultId: id } of manifest.spec.keyVaultAccessPolicies ?? []) {
      byVault.set(id, [
        ...(byVault.get(id) ?? []),
        principals.get(manifest.metadata.name.toLowerCase()) ?? "?",
      ]);
    }
  }
  for (const [id, expected] of byVault) {
    // biome-ignore lint/suspicious/noExplicitAny: ARM bodies are read loosely
    const vault = (await stack.arm.request("GET", `${id}?api-version=${API}`)).body as any;
    if (String(vault.properties.tenantId).toLowerCase() !== tenant)
      problems.push(`${id}: tenant ${vault.properties.tenantId}`);
    const entries: Array<{ tenantId: string; objectId: string; permissions: { secrets?: string[] } }> =
      vault.properties.accessPolicies;
    const seen = entries.map((e) => e.objectId).sort();
    if (JSON.stringify(seen) !== JSON.stringify([...expected].sort()))
      problems.push(
        `${id}: ${entries.length} entries, expected ${expected.length} (the identities' principals)`,
      );
    for (const entry of entries) {
      if (entry.tenantId.toLowerCase() !== tenant)
        problems.push(`${id}: entry ${entry.objectId} in ${entry.tenantId}`);
      if (JSON.stringify(entry.permissions.secrets) !== JSON.stringify(PERMISSIONS.secrets))
        problems.push(`${id}: entry ${entry.objectId} permissions ${JSON.stringify(entry.permissions)}`);
    }
  }
  return problems;
}
