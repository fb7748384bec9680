// The admin API and the in-process handle: stats (by class, status, operation, per second), injected
// faults, settings, and state kept in stateDir across restarts.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type ArmEmulator, startArmEmulator } from "@azid/arm-emulator";
import { type ArmFixture, startArmFixture } from "../../../test/support/arm.js";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in assertions
type Json = any;

async function withFixture(
  options: Parameters<typeof startArmFixture>[0],
  body: (f: ArmFixture) => Promise<void>,
) {
  const f = await startArmFixture(options);
  try {
    await body(f);
  } finally {
    await f.close();
  }
}

describe("the admin API and the in-process handle", () => {
  it("counts requests by class, status and operation template, per second, and resets", async () => {
    await withFixture({ timeScale: 100 }, async (f) => {
      const sub = f.arm.subscriptionId;
      await f.request("PUT", `/subscriptions/${sub}/resourcegroups/rg?api-version=2025-04-01`, {
        body: { location: "eastus" },
      });
      for (const name of ["id-1", "id-2"])
        await f.request(
          "PUT",
          `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=2024-11-30`,
          {
            body: { location: "eastus" },
          },
        );
      await f.request(
        "GET",
        `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/none?api-version=2024-11-30`,
      );
      await f.request(
        "DELETE",
        `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm?api-version=2024-11-01`,
      );
      const stats = (await f.admin("GET", "stats")).body;
      assert.deepEqual(stats.requests, { read: 1, write: 3, delete: 1 });
      assert.deepEqual(stats.byStatus, { "201": 3, "404": 1, "204": 1 });
      assert.equal(
        stats.byOperation[
          "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}"
        ],
        2,
      );
      assert.equal(
        stats.byOperation[
          "DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{name}"
        ],
        1,
      );
      const totals = stats.timeline.reduce((acc: Record<string, number>, p: Record<string, number>) => {
        for (const k of ["read", "write", "delete", "identityCreate", "ficWrite", "throttled"])
          acc[k] = (acc[k] ?? 0) + p[k]!;
        return acc;
      }, {});
      assert.deepEqual(totals, {
        read: 1,
        write: 3,
        delete: 1,
        identityCreate: 2,
        ficWrite: 0,
        throttled: 0,
      });
      assert.equal((await f.admin("POST", "stats/reset")).status, 204);
      assert.deepEqual(f.arm.stats().requests, { read: 0, write: 0, delete: 0 });
      assert.deepEqual(f.arm.stats().timeline, []);
    });
  });

  it("tells request listeners of every answered ARM request until they unsubscribe", async () => {
    await withFixture({ timeScale: 100 }, async (f) => {
      const seen: Array<{ method: string; path: string; klass: string; status: number }> = [];
      const unsubscribe = f.arm.onRequest(({ method, path, klass, status, at }) => {
        assert.ok(at <= Date.now());
        seen.push({ method, path, klass, status });
      });
      const group = `/subscriptions/${f.arm.subscriptionId}/resourcegroups/rg`;
      await f.request("PUT", `${group}?api-version=2025-04-01`, { body: { location: "eastus" } });
      await f.request(
        "GET",
        `${group}/providers/Microsoft.Compute/virtualMachines/vm?api-version=2024-11-01`,
      );
      await f.admin("GET", "stats");
      unsubscribe();
      await f.request("GET", `${group}?api-version=2025-04-01`);
      assert.deepEqual(seen, [
        { method: "PUT", path: group, klass: "write", status: 201 },
        {
          method: "GET",
          path: `${group}/providers/Microsoft.Compute/virtualMachines/vm`,
          klass: "read",
          status: 404,
        },
      ]);
    });
  });

  it("injects server errors, throttling, latency and dropped connections per operation class", async () => {
    await withFixture({ timeScale: 100 }, async (f) => {
      const path = `/subscriptions/${f.arm.subscriptionId}?api-version=2022-12-01`;
      const set = await f.admin("PUT", "faults", { read: { errorRate: 1, errorStatuses: [503] } });
      assert.equal(set.status, 200);
      const failed = await f.request("GET", path);
      assert.equal(failed.status, 503);
      assert.equal(failed.body.error.code, "ServiceUnavailable");
      const write = await f.request(
        "PUT",
        `/subscriptions/${f.arm.subscriptionId}/resourcegroups/rg?api-version=2025-04-01`,
        { body: { location: "eastus" } },
      );
      assert.equal(write.status, 201, "writes have no rule");
      f.arm.setFaults({ all: { throttleRate: 1 } });
      const throttled = await f.request("GET", path);
      assert.equal(throttled.status, 429);
      assert.equal(throttled.headers["retry-after"], "0.01");
      f.arm.setFaults({ read: { dropRate: 1 } });
      await assert.rejects(
        f.request("GET", path),
        (e: NodeJS.ErrnoException) => e.code === "ECONNRESET" || /socket hang up/.test(e.message),
      );
      f.arm.setFaults({ read: { latencyMs: 100 } });
      assert.equal((await f.request("GET", path)).status, 200);
      // A lost answer: the group is created, the caller only sees the connection end.
      f.arm.setFaults({ write: { lostResponseRate: 1 } });
      const lost = `/subscriptions/${f.arm.subscriptionId}/resourcegroups/lost?api-version=2025-04-01`;
      await assert.rejects(
        f.request("PUT", lost, { body: { location: "eastus" } }),
        (e: NodeJS.ErrnoException) => e.code === "ECONNRESET" || /socket hang up/.test(e.message),
      );
      assert.equal((await f.request("GET", lost)).status, 200, "the write was carried out");
      assert.deepEqual(f.arm.stats().faults, { errors: 1, throttles: 1, drops: 1, delayed: 1, lost: 1 });
      const bad = await f.admin("PUT", "faults", { read: { errorRate: 2 } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /errorRate/);
      assert.equal((await f.admin("DELETE", "faults")).status, 204);
      assert.equal((await f.request("GET", path)).status, 200);
    });
  });

  it("draws seeded faults the same way every time", async () => {
    await withFixture({ timeScale: 100, settings: { throttling: false } }, async (f) => {
      const path = `/subscriptions/${f.arm.subscriptionId}?api-version=2022-12-01`;
      const run = async () => {
        f.arm.setFaults({ seed: 42, read: { errorRate: 0.5 } });
        const statuses = [];
        for (let i = 0; i < 20; i++) statuses.push((await f.request("GET", path)).status);
        return statuses;
      };
      const first = await run();
      assert.deepEqual(await run(), first);
      assert.ok(first.includes(200) && first.some((s) => s >= 500), "a mix of answers");
    });
  });

  it("reads and changes settings through both the admin API and the handle", async () => {
    await withFixture({}, async (f) => {
      const patched = await f.admin("PATCH", "settings", {
        replicationDelaySeconds: 5,
        lro: { enabled: true },
      });
      assert.equal(patched.body.replicationDelaySeconds, 5);
      assert.deepEqual(patched.body.lro, { enabled: true, durationSeconds: 20 });
      assert.equal(f.arm.getSettings().lro.enabled, true);
      f.arm.updateSettings({ throttling: false });
      assert.equal((await f.admin("GET", "settings")).body.throttling, false);
      assert.equal((await f.admin("PATCH", "settings", { pageSize: 0 })).status, 400);
      assert.equal((await f.admin("PATCH", "settings", { unknown: 1 })).status, 400);
      const added = await f.admin("PUT", "subscriptions/11112222-3333-4444-8555-666677778888", {
        tenantId: f.arm.tenantId,
      });
      assert.equal(added.body.tenantId, f.arm.tenantId);
      const listed = await f.request("GET", "/subscriptions?api-version=2022-12-01");
      assert.equal(listed.body.value.length, 2);
      const token = (await f.admin("POST", "tokens", { oid: "0a0b0c0d-0e0f-4011-8213-141516171819" })).body;
      assert.equal(token.claims.oid, "0a0b0c0d-0e0f-4011-8213-141516171819");
      assert.equal(
        (
          await f.request("GET", listed.body.value[0].id + "?api-version=2022-12-01", {
            token: token.accessToken,
          })
        ).status,
        200,
      );
      assert.equal((await f.admin("GET", "nothing-here")).status, 404);
    });
  });

  it("keeps state, TLS material and the token key in stateDir across restarts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "azid-arm-state-"));
    try {
      const first = await startArmEmulator({ stateDir: dir, timeScale: 100 });
      const sub = first.subscriptionId;
      const token = first.issueToken({});
      const rgBody = { location: "eastus" };
      const call = (arm: ArmEmulator, method: string, path: string, body?: unknown) =>
        new Promise<{ status: number; body: Json }>((resolve, reject) => {
          const req = httpsRequest(
            new URL(path, arm.url),
            {
              method,
              ca: arm.caPem,
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            },
            (res) => {
              let text = "";
              res.on("data", (c) => (text += c));
              res.on("end", () =>
                resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
              );
            },
          );
          req.on("error", reject);
          req.end(body === undefined ? undefined : JSON.stringify(body));
        });
      await call(first, "PUT", `/subscriptions/${sub}/resourcegroups/rg?api-version=2025-04-01`, rgBody);
      const identity = (
        await call(
          first,
          "PUT",
          `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kept?api-version=2024-11-30`,
          rgBody,
        )
      ).body;
      first.setPolicies([
        { name: "p", scope: `/subscriptions/${sub}/resourceGroups/other`, resourceType: "*" },
      ]);
      await first.close();
      assert.ok(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).state.identities.length === 1);

      const second = await startArmEmulator({ stateDir: dir, timeScale: 100 });
      try {
        assert.equal(second.subscriptionId, sub);
        assert.equal(second.tenantId, first.tenantId);
        assert.equal(second.caPem, first.caPem, "the same CA, so clients keep trusting it");
        const again = await call(
          second,
          "GET",
          `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kept?api-version=2024-11-30`,
        );
        assert.equal(again.status, 200, "the old token still verifies and the identity is back");
        assert.equal(again.body.properties.principalId, identity.properties.principalId);
        const sp = await call(second, "GET", `/v1.0/servicePrincipals/${identity.properties.principalId}`);
        assert.equal(sp.status, 401, "a management token is not a Graph token");
        assert.equal(second.getPolicies().length, 1);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("restarts in the subscription's current tenant after a move", async () => {
    const dir = mkdtempSync(join(tmpdir(), "azid-arm-moved-"));
    try {
      const first = await startArmEmulator({ stateDir: dir });
      const moved = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a81";
      first.moveSubscription(first.subscriptionId, moved);
      await first.close();
      const second = await startArmEmulator({ stateDir: dir });
      try {
        assert.equal(second.subscriptionId, first.subscriptionId);
        assert.equal(second.tenantId, moved);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
