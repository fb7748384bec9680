// Every Vaults operation of Microsoft.KeyVault 2026-02-01 driven through the unmodified
// @azure/arm-keyvault 5 client, with every response checked against the OpenAPI document.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type AccessPolicyEntry, KeyVaultManagementClient } from "@azure/arm-keyvault";
import { type ArmFixture, openApiValidator, startArmFixture } from "../../../test/support/arm.js";

async function all<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterator) out.push(item);
  return out;
}

const OTHER = "7d1b4c1e-0000-4000-8000-00000000f0e1";
const MINE = "7d1b4c1e-0000-4000-8000-00000000a11d";

describe("@azure/arm-keyvault against the ARM emulator", () => {
  let f: ArmFixture;
  let kv: KeyVaultManagementClient;
  let tenantId: string;
  const sent: string[] = [];

  before(async () => {
    f = await startArmFixture({ timeScale: 200, settings: { pageSize: 2 } });
    tenantId = f.arm.tenantId;
    const recordVersion = {
      name: "recordApiVersion",
      async sendRequest(
        request: { method: string; url: string },
        next: (r: unknown) => Promise<{ status: number }>,
      ) {
        const url = new URL(request.url);
        sent.push(`${request.method} ${url.searchParams.get("api-version")} ${url.pathname}`);
        return next(request);
      },
    };
    kv = new KeyVaultManagementClient(
      f.credential,
      f.arm.subscriptionId,
      // biome-ignore lint/suspicious/noExplicitAny: the policy shape is core-rest-pipeline's
      f.clientOptions({ policies: [recordVersion as any] }),
    );
    const group = await f.request(
      "PUT",
      `/subscriptions/${f.arm.subscriptionId}/resourcegroups/kv?api-version=2025-04-01`,
      { body: { location: "westeurope" } },
    );
    assert.equal(group.status, 201, group.text);
  });
  after(() => f.close());

  const entry = (objectId: string, secrets: string[], keys: string[] = []): AccessPolicyEntry => ({
    tenantId,
    objectId,
    permissions: { secrets, keys },
  });

  it("creates a vault through the long-running poller, then gets, updates and lists it", async () => {
    const created = await kv.vaults.createOrUpdate("kv", "team-vault", {
      location: "westeurope",
      properties: {
        tenantId,
        sku: { family: "A", name: "standard" },
        enableRbacAuthorization: false,
        accessPolicies: [entry(OTHER, ["get", "list"])],
      },
    });
    assert.equal(created.properties.provisioningState, "Succeeded", "the poller waits for the DNS name");
    assert.ok(
      sent.some((s) =>
        /^GET \S+ \/subscriptions\/[^/]+\/providers\/Microsoft\.KeyVault\/locations\/westeurope\/operationResults\//.test(
          s,
        ),
      ),
      "the poller followed the create's Location",
    );
    assert.equal(created.properties.tenantId, tenantId);
    assert.equal(created.properties.enableSoftDelete, true);
    assert.equal(created.properties.enableRbacAuthorization, false);
    assert.equal(created.properties.vaultUri, "https://team-vault.vault.azure.net/");
    const got = await kv.vaults.get("kv", "team-vault");
    assert.deepEqual(got.properties.accessPolicies?.[0]?.permissions.secrets, ["get", "list"]);
    const patched = await kv.vaults.update("kv", "team-vault", {
      tags: { team: "a" },
      properties: { enabledForDeployment: true },
    });
    assert.deepEqual(patched.tags, { team: "a" });
    assert.equal(patched.properties?.enabledForDeployment, true);
    assert.equal(patched.properties?.accessPolicies?.length, 1, "a PATCH without accessPolicies keeps them");
    const rbac = await kv.vaults.createOrUpdate("kv", "rbac-vault", {
      location: "westeurope",
      properties: { tenantId, sku: { family: "A", name: "premium" } },
    });
    assert.equal(rbac.properties.enableRbacAuthorization, true, "RBAC is the default at 2026-02-01");
    await kv.vaults.createOrUpdate("kv", "third-vault", {
      location: "westeurope",
      properties: { tenantId, sku: { family: "A", name: "standard" } },
    });
    // pageSize 2: three vaults over two pages, followed by the SDK.
    const byGroup = await all(kv.vaults.listByResourceGroup("kv"));
    assert.deepEqual(byGroup.map((v) => v.name).sort(), ["rbac-vault", "team-vault", "third-vault"]);
    assert.equal((await all(kv.vaults.listBySubscription())).length, 3);
    const resources = await all(kv.vaults.list());
    assert.deepEqual(resources.map((r) => r.name).sort(), ["rbac-vault", "team-vault", "third-vault"]);
    const free = await kv.vaults.checkNameAvailability({
      name: "fresh-vault",
      type: "Microsoft.KeyVault/vaults",
    });
    assert.equal(free.nameAvailable, true);
    const taken = await kv.vaults.checkNameAvailability({
      name: "team-vault",
      type: "Microsoft.KeyVault/vaults",
    });
    assert.deepEqual([taken.nameAvailable, taken.reason], [false, "AlreadyExists"]);
  });

  it("adds, replaces and removes access-policy entries without touching others", async () => {
    const added = await kv.vaults.updateAccessPolicy("kv", "team-vault", "add", {
      properties: { accessPolicies: [entry(MINE, ["get"])] },
    });
    assert.equal(added.type, "Microsoft.KeyVault/vaults/accessPolicies");
    await kv.vaults.updateAccessPolicy("kv", "team-vault", "add", {
      properties: { accessPolicies: [entry(MINE, ["list", "GET"], ["unwrapKey"])] },
    });
    const entries = async () => (await kv.vaults.get("kv", "team-vault")).properties.accessPolicies ?? [];
    const mine = async () => {
      const found = (await entries()).find((e) => e.objectId === MINE);
      // The SDK fills kinds the wire leaves out with undefined.
      return found && { ...found, permissions: JSON.parse(JSON.stringify(found.permissions)) };
    };
    assert.deepEqual((await mine())?.permissions, { secrets: ["get", "list"], keys: ["unwrapKey"] });
    await kv.vaults.updateAccessPolicy("kv", "team-vault", "replace", {
      properties: { accessPolicies: [entry(MINE, ["set"])] },
    });
    assert.deepEqual((await mine())?.permissions, { secrets: ["set"], keys: [] });
    await kv.vaults.updateAccessPolicy("kv", "team-vault", "add", {
      properties: { accessPolicies: [entry(MINE, ["get"])] },
    });
    await kv.vaults.updateAccessPolicy("kv", "team-vault", "remove", {
      properties: { accessPolicies: [entry(MINE, ["set"])] },
    });
    assert.deepEqual((await mine())?.permissions.secrets, ["get"]);
    await kv.vaults.updateAccessPolicy("kv", "team-vault", "remove", {
      properties: { accessPolicies: [entry(MINE, ["get"])] },
    });
    assert.equal(await mine(), undefined, "an entry left with no permission is removed");
    const left = await entries();
    assert.deepEqual(
      left.map((e) => [e.objectId, e.permissions.secrets]),
      [[OTHER, ["get", "list"]]],
      "the other principal's entry is untouched",
    );
  });

  it("refuses bad entries with 400 and the reason", async () => {
    await assert.rejects(
      kv.vaults.updateAccessPolicy("kv", "team-vault", "add", {
        properties: { accessPolicies: [entry(MINE, ["gett"])] },
      }),
      (e: { statusCode?: number; code?: string; message: string }) =>
        e.statusCode === 400 && e.code === "BadRequest" && /gett/.test(e.message),
    );
    await assert.rejects(
      kv.vaults.updateAccessPolicy("kv", "team-vault", "add", {
        properties: {
          accessPolicies: [{ ...entry(MINE, ["get"]), tenantId: "11111111-2222-4333-8444-555555555555" }],
        },
      }),
      { statusCode: 400, code: "BadRequest" },
    );
    await assert.rejects(kv.vaults.get("kv", "no-such-vault"), { statusCode: 404, code: "ResourceNotFound" });
  });

  it("soft-deletes, lists, gets and purges deleted vaults", async () => {
    await kv.vaults.delete("kv", "third-vault");
    await kv.vaults.delete("kv", "third-vault"); // 204: already gone
    await assert.rejects(kv.vaults.get("kv", "third-vault"), { statusCode: 404 });
    const deleted = await all(kv.vaults.listDeleted());
    assert.deepEqual(
      deleted.map((d) => d.name),
      ["third-vault"],
    );
    const one = await kv.vaults.getDeleted("third-vault", "westeurope");
    assert.match(one.properties?.vaultId ?? "", /\/vaults\/third-vault$/);
    const days =
      (Date.parse(one.properties!.scheduledPurgeDate!.toString()) -
        Date.parse(one.properties!.deletionDate!.toString())) /
      86_400_000;
    assert.equal(Math.round(days), 90);
    await assert.rejects(
      kv.vaults.createOrUpdate("kv", "third-vault", {
        location: "westeurope",
        properties: { tenantId, sku: { family: "A", name: "standard" } },
      }),
      { statusCode: 409, code: "ConflictError" },
    );
    await kv.vaults.purgeDeleted("third-vault", "westeurope");
    assert.deepEqual(await all(kv.vaults.listDeleted()), []);
    await assert.rejects(kv.vaults.getDeleted("third-vault", "westeurope"), { statusCode: 404 });
  });

  it("sent api-version 2026-02-01 on every Vaults call, and every response validated", () => {
    const versions = new Set(sent.map((s) => s.split(" ")[1]));
    // Vaults_List goes to /resources with the document's own api-version (2015-11-01).
    assert.deepEqual([...versions].sort(), ["2015-11-01", "2026-02-01"]);
    assert.deepEqual(f.validation.failures, []);
    const checked = new Set(f.validation.checked.map((c) => c.split(" ")[0]));
    const expected = openApiValidator()
      .operations.filter((op) => op.file.startsWith("keyvault/") && op.operationId.startsWith("Vaults_"))
      .map((op) => op.operationId)
      .filter((id) => id !== "Vaults_List"); // /resources is checked as Microsoft.Resources
    const missing = [...new Set(expected)].filter((id) => !checked.has(id));
    assert.deepEqual(missing, []);
  });
});
