// The executor's Key Vault reads against the ARM emulator: one GET shared by every reconcile
// within its lifetime (concurrent ones too), forgotten when this executor writes to the vault.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ActionExecutor } from "../../src/azure/executor.js";
import * as build from "../../src/plan/build.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";
import { sandboxExecutor } from "../support/azure.js";

const API = "2026-02-01";
const OWNER = { kind: "UserAssignedIdentity" as const, namespace: "team-a", name: "app" };
const OBJECT = "0b0b0b0b-0000-4000-8000-000000000001";

describe("Key Vault reads of the executor", () => {
  let f: ArmFixture;
  let executor: ActionExecutor;
  let vault: string;
  const gets = () =>
    Object.entries(f.arm.stats().byOperation)
      .filter(([operation]) => /^GET .*Microsoft\.KeyVault\/vaults\/\{[^}]+\}$/.test(operation))
      .reduce((sum, [, n]) => sum + n, 0);

  before(async () => {
    f = await startArmFixture({ timeScale: 50 });
    const sub = f.arm.subscriptionId;
    assert.ok(
      (
        await f.request("PUT", `/subscriptions/${sub}/resourcegroups/kv?api-version=2025-04-01`, {
          body: { location: "westeurope" },
        })
      ).status < 300,
    );
    vault = `/subscriptions/${sub}/resourceGroups/kv/providers/Microsoft.KeyVault/vaults/shared-kv`;
    const put = await f.request("PUT", `${vault}?api-version=${API}`, {
      body: {
        location: "westeurope",
        properties: {
          tenantId: f.arm.tenantId,
          sku: { family: "A", name: "standard" },
          enableRbacAuthorization: false,
          accessPolicies: [],
        },
      },
    });
    assert.ok(put.status < 300, put.text);
    executor = sandboxExecutor(f.arm, { vaultReadTtlMs: 60_000 });
  });
  after(() => f.close());

  test("50 reconciles reading one vault, at once and afterwards, cost one GET", async () => {
    const before = gets();
    const read = () => executor.execute(build.readVault(OWNER, vault), f.arm.subscriptionId);
    const first = await Promise.all(Array.from({ length: 25 }, read));
    const later = await Promise.all(Array.from({ length: 25 }, read));
    assert.equal(gets() - before, 1);
    assert.ok([...first, ...later].every((e) => e.result.vault?.tenantId === f.arm.tenantId));
  });

  test("a write to the vault forgets the read: the next reconcile sees the new entry", async () => {
    const write = await executor.execute(
      build.updateVaultAccessPolicy(
        OWNER,
        vault,
        "replace",
        { tenantId: f.arm.tenantId, objectId: OBJECT, permissions: { secrets: ["get"] } },
        "grants",
      ),
      f.arm.subscriptionId,
    );
    assert.equal(write.result.failure, undefined, JSON.stringify(write.result.failure));
    const before = gets();
    const read = await executor.execute(build.readVault(OWNER, vault), f.arm.subscriptionId);
    assert.equal(gets() - before, 1);
    assert.deepEqual(
      read.result.vault?.accessPolicies.map((e) => e.objectId),
      [OBJECT],
    );
  });
});
