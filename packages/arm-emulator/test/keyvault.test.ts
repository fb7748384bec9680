// Key Vault vaults in the ARM emulator beyond the SDK's happy path: the access-policy update
// semantics, the 1024-entry limit, RBAC mode, errors as ARM answers them, the tenant move, the
// throttling buckets and persistence.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type ArmEmulator, startArmEmulator } from "@azid/arm-emulator";
import { type AccessPolicyEntry, applyAccessPolicyUpdate } from "@azid/arm-emulator/internal/vaults.js";
import { type ArmFixture, startArmFixture } from "../../../test/support/arm.js";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in assertions
type Json = any;

const KV = "api-version=2026-02-01";
const A = "0a000000-0000-4000-8000-00000000000a";
const B = "0b000000-0000-4000-8000-00000000000b";
const APP = "0c000000-0000-4000-8000-00000000000c";
const T1 = "11111111-1111-4111-8111-111111111111";
const T2 = "22222222-2222-4222-8222-222222222222";

const e = (
  tenantId: string,
  objectId: string,
  permissions: AccessPolicyEntry["permissions"],
  applicationId?: string,
) => ({ tenantId, objectId, permissions, ...(applicationId ? { applicationId } : {}) }) as AccessPolicyEntry;

describe("access-policy update semantics", () => {
  const base = [e(T1, A, { secrets: ["get"], keys: ["get"] }), e(T1, B, { secrets: ["list"] })];

  it("add merges permissions into the entry with the same (tenant, object, application) and appends others", () => {
    const { entries, created } = applyAccessPolicyUpdate(base, "add", [
      e(T1, A.toUpperCase(), { secrets: ["LIST", "get"], certificates: ["get"] }),
    ]);
    assert.equal(created, false);
    assert.deepEqual(entries[0]!.permissions, {
      secrets: ["get", "LIST"],
      keys: ["get"],
      certificates: ["get"],
    });
    assert.deepEqual(base[0]!.permissions.secrets, ["get"], "the input is not changed");
    const withApp = applyAccessPolicyUpdate(base, "add", [e(T1, A, { secrets: ["set"] }, APP)]);
    assert.equal(withApp.created, true, "another applicationId is another entry");
    assert.equal(withApp.entries.length, 3);
  });

  it("replace overwrites that entry's permissions only", () => {
    const { entries } = applyAccessPolicyUpdate(base, "replace", [e(T1, A, { secrets: ["set"] })]);
    assert.deepEqual(entries[0]!.permissions, { secrets: ["set"] });
    assert.deepEqual(entries[1], base[1]);
  });

  it("remove takes out the listed permissions, and the entry when none remain; unknown entries are ignored", () => {
    const partial = applyAccessPolicyUpdate(base, "remove", [e(T1, A, { secrets: ["GET"] })]);
    assert.deepEqual(partial.entries[0]!.permissions, { secrets: [], keys: ["get"] });
    const whole = applyAccessPolicyUpdate(partial.entries, "remove", [e(T1, A, { keys: ["get"] })]);
    assert.deepEqual(
      whole.entries.map((x) => x.objectId),
      [B],
    );
    const other = applyAccessPolicyUpdate(base, "remove", [e(T2, A, { secrets: ["get"] })]);
    assert.deepEqual(other.entries, base, "the same object id in another tenant is another entry");
  });
});

async function withFixture(
  body: (f: ArmFixture, paths: Paths) => Promise<void>,
  options = {},
): Promise<void> {
  const f = await startArmFixture({ timeScale: 1000, settings: { throttling: false }, ...options });
  try {
    const sub = f.arm.subscriptionId;
    const r = await f.request("PUT", `/subscriptions/${sub}/resourcegroups/kv?api-version=2025-04-01`, {
      body: { location: "westeurope" },
    });
    assert.equal(r.status, 201, r.text);
    await body(f, paths(sub));
  } finally {
    await f.close();
  }
}

type Paths = ReturnType<typeof paths>;
function paths(sub: string) {
  const vault = (name: string) =>
    `/subscriptions/${sub}/resourceGroups/kv/providers/Microsoft.KeyVault/vaults/${name}`;
  return {
    vault: (name: string) => `${vault(name)}?${KV}`,
    policy: (name: string, kind: string) => `${vault(name)}/accessPolicies/${kind}?${KV}`,
    deleted: (name: string) =>
      `/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/${name}`,
  };
}

const vaultBody = (
  tenantId: string,
  accessPolicies: unknown[] = [],
  extra: Record<string, unknown> = {},
) => ({
  location: "westeurope",
  properties: { tenantId, sku: { family: "A", name: "standard" }, accessPolicies, ...extra },
});

describe("Key Vault vaults in the ARM emulator", () => {
  it("allows 1024 access-policy entries per vault and refuses the 1025th with 400, changing nothing", async () => {
    await withFixture(async (f, p) => {
      const tenant = f.arm.tenantId;
      const many = Array.from({ length: 1024 }, (_, i) =>
        e(tenant, `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, { secrets: ["get"] }),
      );
      const created = await f.request("PUT", p.vault("full"), { body: vaultBody(tenant, many) });
      assert.equal(created.status, 201, created.text);
      const over = await f.request("PUT", p.policy("full", "add"), {
        body: { properties: { accessPolicies: [e(tenant, A, { secrets: ["get"] })] } },
      });
      assert.equal(over.status, 400);
      assert.equal(over.body.error.code, "BadRequest");
      assert.match(over.body.error.message, /at most 1024/);
      const merged = await f.request("PUT", p.policy("full", "add"), {
        body: { properties: { accessPolicies: [e(tenant, many[0]!.objectId, { secrets: ["list"] })] } },
      });
      assert.equal(merged.status, 200, "merging into an existing entry adds none");
      const after = await f.request("GET", p.vault("full"));
      assert.equal(after.body.properties.accessPolicies.length, 1024);
      assert.deepEqual(after.body.properties.accessPolicies[0].permissions.secrets, ["get", "list"]);
      const tooMany = await f.request("PUT", p.vault("over"), {
        body: vaultBody(tenant, [...many, e(tenant, A, { secrets: ["get"] })]),
      });
      assert.equal(tooMany.status, 400);
    });
  });

  it("stores RBAC mode and keeps access policies written to an RBAC-mode vault", async () => {
    await withFixture(async (f, p) => {
      const tenant = f.arm.tenantId;
      const created = await f.request("PUT", p.vault("rbac"), {
        body: vaultBody(tenant, [], { enableRbacAuthorization: true }),
      });
      assert.equal(created.body.properties.enableRbacAuthorization, true);
      const added = await f.request("PUT", p.policy("rbac", "add"), {
        body: { properties: { accessPolicies: [e(tenant, A, { secrets: ["get"] })] } },
      });
      assert.equal(added.status, 201);
      const got = await f.request("GET", p.vault("rbac"));
      assert.equal(got.body.properties.enableRbacAuthorization, true);
      assert.equal(got.body.properties.accessPolicies.length, 1);
      const off = await f.request("PATCH", p.vault("rbac"), {
        body: { properties: { enableRbacAuthorization: false } },
      });
      assert.equal(off.body.properties.enableRbacAuthorization, false);
      assert.equal(off.body.properties.accessPolicies.length, 1, "a PATCH without accessPolicies keeps them");
      const put = await f.request("PUT", p.vault("rbac"), { body: vaultBody(tenant) });
      assert.equal(put.status, 200);
      assert.equal(
        put.body.properties.enableRbacAuthorization,
        false,
        "a PUT that leaves it out keeps the mode",
      );
      assert.deepEqual(put.body.properties.accessPolicies, [], "a PUT replaces the entries");
    });
  });

  it("answers bad input with ARM's error shape and a code that says what to fix", async () => {
    await withFixture(async (f, p) => {
      const tenant = f.arm.tenantId;
      const cases: [string, string, unknown, number, string][] = [
        ["PUT", p.vault("-bad"), vaultBody(tenant), 400, "VaultNameNotValid"],
        ["PUT", p.vault("a--b"), vaultBody(tenant), 400, "VaultNameNotValid"],
        [
          "PUT",
          p.vault("no-tenant"),
          { location: "westeurope", properties: { sku: { family: "A", name: "standard" } } },
          400,
          "BadRequest",
        ],
        [
          "PUT",
          p.vault("no-location"),
          { properties: vaultBody(tenant).properties },
          400,
          "LocationRequired",
        ],
        [
          "PUT",
          p.vault("bad-sku"),
          vaultBody(tenant, [], { sku: { family: "B", name: "gold" } }),
          400,
          "BadRequest",
        ],
        [
          "PUT",
          p.vault("bad-entry"),
          vaultBody(tenant, [{ tenantId: tenant, permissions: {} }]),
          400,
          "BadRequest",
        ],
        ["PUT", p.policy("missing", "add"), { properties: { accessPolicies: [] } }, 404, "ResourceNotFound"],
        [
          "GET",
          `${p.vault("x").split("?")[0]}?api-version=2019-09-01`,
          undefined,
          400,
          "NoRegisteredProviderFound",
        ],
      ];
      for (const [method, path, body, status, code] of cases) {
        const r = await f.request(method, path, { body });
        assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
        assert.equal(r.body.error.code, code, `${method} ${path}`);
        assert.ok(r.body.error.message.length > 10);
      }
      assert.equal((await f.request("PUT", p.vault("ok-vault"), { body: vaultBody(tenant) })).status, 201);
      const kind = await f.request("PUT", p.policy("ok-vault", "merge"), {
        body: { properties: { accessPolicies: [] } },
      });
      assert.equal(kind.status, 400);
      assert.match(kind.body.error.message, /add, replace or remove/);
      const otherGroup = await f.request(
        "PUT",
        `/subscriptions/${f.arm.subscriptionId}/resourcegroups/other?api-version=2025-04-01`,
        { body: { location: "westeurope" } },
      );
      assert.equal(otherGroup.status, 201);
      const taken = await f.request("PUT", p.vault("ok-vault").replace("/kv/", "/other/"), {
        body: vaultBody(tenant),
      });
      assert.deepEqual([taken.status, taken.body.error.code], [409, "VaultAlreadyExists"]);
      const purgeOff = await f.request("PATCH", p.vault("ok-vault"), {
        body: { properties: { enablePurgeProtection: false } },
      });
      assert.equal(purgeOff.status, 400);
    });
  });

  it("recovers a soft-deleted vault with its entries, and refuses to purge one under purge protection", async () => {
    await withFixture(async (f, p) => {
      const tenant = f.arm.tenantId;
      await f.request("PUT", p.vault("keep"), {
        body: vaultBody(tenant, [e(tenant, A, { secrets: ["get"] })], { enablePurgeProtection: true }),
      });
      assert.equal((await f.request("DELETE", p.vault("keep"))).status, 200);
      const purge = await f.request("POST", `${p.deleted("keep")}/purge?${KV}`);
      assert.deepEqual([purge.status, purge.body.error.code], [409, "Conflict"]);
      const recovered = await f.request("PUT", p.vault("keep"), {
        body: { location: "westeurope", properties: { createMode: "recover" } },
      });
      assert.equal(recovered.status, 200, recovered.text);
      assert.deepEqual(recovered.body.properties.accessPolicies[0].objectId, A);
      assert.equal((await f.request("GET", `${p.deleted("keep")}?${KV}`)).status, 404);
    });
  });

  it("leaves each vault's tenantId and entries as they were when the subscription moves, until the vault is updated", async () => {
    await withFixture(async (f, p) => {
      const old = f.arm.tenantId;
      await f.request("PUT", p.vault("moved"), {
        body: vaultBody(old, [e(old, A, { secrets: ["get", "list"] })], { enableRbacAuthorization: false }),
      });
      const before = (await f.request("GET", p.vault("moved"))).body;
      const move = await f.admin("POST", `subscriptions/${f.arm.subscriptionId}/move`, { tenantId: T2 });
      assert.equal(move.status, 200, move.text);
      const token = f.arm.issueToken({ tenantId: T2 });
      const after = await f.request("GET", p.vault("moved"), { token });
      assert.equal(after.status, 200, after.text);
      // provisioningState moves on by itself (RegisteringDns, then Succeeded): compare the rest.
      const settled = ({ provisioningState: _, ...rest }: Record<string, unknown>) => rest;
      assert.deepEqual(
        settled(after.body.properties),
        settled(before.properties),
        "tenantId and entries unchanged",
      );
      // An entry of the new tenant is refused while the vault is in the old one ...
      const early = await f.request("PUT", p.policy("moved", "add"), {
        token,
        body: { properties: { accessPolicies: [e(T2, B, { secrets: ["get"] })] } },
      });
      assert.equal(early.status, 400);
      assert.match(early.body.error.message, /vault's tenant/);
      // ... and accepted once the vault's tenant is set, while the old entries stay until removed.
      const set = await f.request("PATCH", p.vault("moved"), {
        token,
        body: { properties: { tenantId: T2 } },
      });
      assert.equal(set.body.properties.tenantId, T2);
      const add = await f.request("PUT", p.policy("moved", "add"), {
        token,
        body: { properties: { accessPolicies: [e(T2, B, { secrets: ["get"] })] } },
      });
      assert.equal(add.status, 201, add.text);
      const remove = await f.request("PUT", p.policy("moved", "remove"), {
        token,
        body: { properties: { accessPolicies: [e(old, A, { secrets: ["get", "list"] })] } },
      });
      assert.equal(remove.status, 200, "remove may name an entry of the vault's former tenant");
      const end = await f.request("GET", p.vault("moved"), { token });
      assert.deepEqual(
        end.body.properties.accessPolicies.map((x: AccessPolicyEntry) => [x.tenantId, x.objectId]),
        [[T2, B]],
      );
      const rewritten = await f.request("PATCH", p.vault("moved"), {
        token,
        body: { properties: { accessPolicies: [e(old, A, { secrets: ["get"] })] } },
      });
      assert.equal(rewritten.status, 400, "a PATCH may not bring back an entry of another tenant");
    });
  });

  it("counts vault writes in the subscription's write bucket and throttles them like other writes", async () => {
    await withFixture(
      async (f, p) => {
        const tenant = f.arm.tenantId;
        const first = await f.request("PUT", p.vault("busy"), { body: vaultBody(tenant) });
        const left = Number(first.headers["x-ms-ratelimit-remaining-subscription-writes"]);
        const second = await f.request("PUT", p.policy("busy", "add"), {
          body: { properties: { accessPolicies: [e(tenant, A, { secrets: ["get"] })] } },
        });
        assert.equal(Number(second.headers["x-ms-ratelimit-remaining-subscription-writes"]), left - 1);
        let throttled: Awaited<ReturnType<typeof f.request>> | undefined;
        for (let i = 0; i < 400 && !throttled; i++) {
          const r = await f.request("PUT", p.policy("busy", i % 2 ? "remove" : "add"), {
            body: { properties: { accessPolicies: [e(tenant, B, { secrets: ["get"] })] } },
          });
          if (r.status === 429) throttled = r;
          else assert.ok(r.status === 200 || r.status === 201, r.text);
        }
        assert.ok(throttled, "the write bucket ran dry");
        assert.equal(throttled.body.error.code, "TooManyRequests");
        assert.ok(throttled.headers["retry-after"]);
        const stats = (await f.admin("GET", "stats")).body;
        const key =
          "PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults/{vaultName}/accessPolicies/{operationKind}";
        assert.ok(stats.byOperation[key] > 100, JSON.stringify(stats.byOperation));
      },
      { timeScale: 1, settings: { throttling: true } },
    );
  });

  it("checks the caller's permissions: Reader may not write entries, Key Vault Contributor may but not purge", async () => {
    await withFixture(async (f, p) => {
      const tenant = f.arm.tenantId;
      const sub = f.arm.subscriptionId;
      const caller = "7c6b5a49-3827-4165-9a0b-1c2d3e4f5a62";
      f.arm.addPrincipal(tenant, caller, { kind: "ServicePrincipal", displayName: "restricted app" });
      f.arm.setCallerRestricted(caller, true);
      const token = f.arm.issueToken({ oid: caller });
      const grant = async (role: string, name: string) => {
        const r = await f.request(
          "PUT",
          `/subscriptions/${sub}/resourceGroups/kv/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`,
          {
            body: {
              properties: {
                roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
                principalId: caller,
                principalType: "ServicePrincipal",
              },
            },
          },
        );
        assert.equal(r.status, 201, r.text);
      };
      await f.request("PUT", p.vault("guarded"), { body: vaultBody(tenant) });
      const add = () =>
        f.request("PUT", p.policy("guarded", "add"), {
          token,
          body: { properties: { accessPolicies: [e(tenant, A, { secrets: ["get"] })] } },
        });
      await grant("acdd72a7-3385-48ef-bd42-f606fba81ae7", "9a8b7c6d-0000-4000-8000-0000000000a1"); // Reader
      assert.equal((await f.request("GET", p.vault("guarded"), { token })).status, 200);
      const refused = await add();
      assert.deepEqual([refused.status, refused.body.error.code], [403, "AuthorizationFailed"]);
      assert.match(refused.body.error.message, /Microsoft\.KeyVault\/vaults\/accessPolicies\/write/);
      await grant("f25e0fa2-a7c8-4377-a976-54943a77a395", "9a8b7c6d-0000-4000-8000-0000000000a2"); // Key Vault Contributor
      assert.equal((await add()).status, 201);
      assert.equal((await f.request("DELETE", p.vault("guarded"), { token })).status, 200);
      // The deleted vault lives at subscription scope, where the caller holds nothing.
      const purge = await f.request("POST", `${p.deleted("guarded")}/purge?${KV}`, { token });
      assert.deepEqual([purge.status, purge.body.error.code], [403, "AuthorizationFailed"]);
    });
  });

  it("soft-deletes the vaults of a deleted resource group", async () => {
    await withFixture(async (f, p) => {
      await f.request("PUT", p.vault("grouped"), { body: vaultBody(f.arm.tenantId) });
      const del = await f.request(
        "DELETE",
        `/subscriptions/${f.arm.subscriptionId}/resourcegroups/kv?api-version=2025-04-01`,
      );
      assert.equal(del.status, 200);
      const list = await f.request(
        "GET",
        `/subscriptions/${f.arm.subscriptionId}/providers/Microsoft.KeyVault/vaults?${KV}`,
      );
      assert.deepEqual(list.body.value, []);
      assert.equal((await f.request("GET", `${p.deleted("grouped")}?${KV}`)).status, 200);
    });
  });

  it("keeps vaults and deleted vaults across a restart from its state folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "azid-kv-"));
    try {
      const first = await startArmEmulator({ stateDir: dir, timeScale: 1000 });
      const p = paths(first.subscriptionId);
      const call = (arm: ArmEmulator, method: string, path: string, body?: unknown) =>
        new Promise<{ status: number; body: Json }>((resolve, reject) => {
          const req = httpsRequest(
            new URL(path, arm.url),
            {
              method,
              ca: arm.caPem,
              headers: { authorization: "Bearer x", "content-type": "application/json" },
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
      const group = `/subscriptions/${first.subscriptionId}/resourcegroups/kv?api-version=2025-04-01`;
      assert.equal((await call(first, "PUT", group, { location: "westeurope" })).status, 201);
      const tenant = first.tenantId;
      await call(first, "PUT", p.vault("kept"), vaultBody(tenant, [e(tenant, A, { secrets: ["get"] })]));
      await call(first, "PUT", p.vault("gone"), vaultBody(tenant));
      await call(first, "DELETE", p.vault("gone"));
      await first.close();
      const second = await startArmEmulator({ stateDir: dir, timeScale: 1000 });
      try {
        const kept = await call(second, "GET", p.vault("kept"));
        assert.equal(kept.status, 200);
        assert.equal(kept.body.properties.accessPolicies[0].objectId, A);
        assert.equal((await call(second, "GET", `${p.deleted("gone")}?${KV}`)).status, 200);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
