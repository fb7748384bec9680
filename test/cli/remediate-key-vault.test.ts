// Key Vault access policies through the real binary: `azid export` includes the entries of the
// identities it exports; after a tenant move `azid remediate` shows each vault it will change and
// each foreign entry it will remove, then repairs: the vault in the new tenant with the new
// principal's entry only, and the foreign entry in the report, to grant again by hand.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type CliSandbox, startCliSandbox } from "./support.js";
import { createGroup, LOCATION, RG, rgId } from "./world.js";

const API = "2026-02-01";
const FOREIGN = "f0f0f0f0-0000-4000-8000-0000000000f2";

describe("azid export and remediate with Key Vault access policies", () => {
  let s: CliSandbox;
  let vault: string;
  let manifests: string;
  let state: string;
  let oldTenant: string;
  let newCredentials: string;
  // biome-ignore lint/suspicious/noExplicitAny: ARM bodies are read loosely
  const readVault = async (): Promise<any> => (await s.f.request("GET", `${vault}?api-version=${API}`)).body;

  before(async () => {
    s = await startCliSandbox({ timeScale: 50 });
    oldTenant = s.f.arm.tenantId;
    await createGroup(s.f, s.sub);
    vault = `${rgId(s.sub)}/providers/Microsoft.KeyVault/vaults/team-kv`;
    const put = await s.f.request("PUT", `${vault}?api-version=${API}`, {
      body: {
        location: LOCATION,
        properties: {
          tenantId: oldTenant,
          sku: { family: "A", name: "standard" },
          // New vaults default to RBAC mode at this api-version.
          enableRbacAuthorization: false,
          accessPolicies: [{ tenantId: oldTenant, objectId: FOREIGN, permissions: { secrets: ["get"] } }],
        },
      },
    });
    assert.ok(put.status < 300, put.text);
    manifests = s.writeManifests("orders.yaml", [
      {
        apiVersion: "azid.dev/v1alpha1",
        kind: "UserAssignedIdentity",
        metadata: { name: "orders", namespace: "team-a" },
        spec: {
          subscriptionId: s.sub,
          resourceGroup: RG,
          location: LOCATION,
          keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get", "list"] } }],
        },
      },
    ]);
    state = `${s.dir}/state.json`;
    const applied = await s.azid(["apply", "-f", manifests, "--sandbox", s.sandboxFile, "--state", state]);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
  });
  after(() => s.close());

  test("export includes the identity's access-policy entry, and not the foreign one", async () => {
    const run = await s.azid([
      "export",
      "--subscription",
      s.sub,
      "--sandbox",
      s.sandboxFile,
      "--output",
      "json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const items = JSON.parse(run.stdout).items;
    const orders = items.find(
      (m: { kind: string; spec: { name?: string }; metadata: { name: string } }) =>
        m.kind === "UserAssignedIdentity" && m.metadata.name === "orders",
    );
    assert.deepEqual(orders.spec.keyVaultAccessPolicies, [
      { vaultId: vault, permissions: { secrets: ["get", "list"] } },
    ]);
  });

  test("a privileged permission or a vault outside the policy: validate and apply exit 4, 0 ARM writes", async () => {
    const policy = s.writeManifests("policy.yaml", [
      {
        apiVersion: "azid.dev/v1alpha1",
        kind: "IdentityPolicy",
        metadata: { name: "team-a" },
        spec: {
          namespaceSelector: {},
          subscriptions: [{ subscriptionId: s.sub }],
          keyVaults: [{ scopes: [{ scope: vault, match: "Exact" }], permissions: { secrets: ["all"] } }],
        },
      },
    ]);
    const cases = [
      { vaultId: vault, permissions: { secrets: ["get", "purge"] }, rule: /privileged permission/ },
      {
        vaultId: vault.replace("team-kv", "other-kv"),
        permissions: { secrets: ["get"] },
        rule: /default deny/,
      },
    ];
    for (const [i, { vaultId, permissions, rule }] of cases.entries()) {
      const file = s.writeManifests(`refused-${i}.yaml`, [
        {
          apiVersion: "azid.dev/v1alpha1",
          kind: "UserAssignedIdentity",
          metadata: { name: `refused-${i}`, namespace: "team-a" },
          spec: {
            subscriptionId: s.sub,
            resourceGroup: RG,
            location: LOCATION,
            keyVaultAccessPolicies: [{ vaultId, permissions }],
          },
        },
      ]);
      const validate = await s.azid(["validate", "-f", file, "--policy", policy]);
      assert.equal(validate.code, 4, validate.stdout + validate.stderr);
      assert.match(validate.stdout + validate.stderr, rule);
      await s.f.admin("POST", "stats/reset");
      const apply = await s.azid(["apply", "-f", file, "--policy", policy, "--sandbox", s.sandboxFile]);
      assert.equal(apply.code, 4, apply.stdout + apply.stderr);
      const stats = await s.stats();
      assert.equal(stats.requests.write + stats.requests.delete, 0, "0 ARM writes");
    }
  });

  test("after a move: the plan names the vault and the foreign entry; --yes repairs it", async () => {
    const newTenant = randomUUID();
    assert.equal(
      (await s.f.admin("POST", `subscriptions/${s.sub}/move`, { tenantId: newTenant })).status,
      200,
    );
    const secret = s.writeFile("secret.txt", "any\n");
    const credentials = s.writeFile(
      "credentials.yaml",
      `subscriptions:\n  ${s.sub}:\n    tenantId: ${newTenant}\n    clientId: ${randomUUID()}\n    clientSecretFile: ${secret}\n`,
    );
    newCredentials = credentials;
    const args = [
      "remediate",
      "--subscription",
      s.sub,
      "-f",
      manifests,
      "--sandbox",
      s.sandboxFile,
      "--credentials-file",
      credentials,
      "--state",
      state,
    ];
    const planned = await s.azid(args);
    assert.equal(planned.code, 7, planned.stderr + planned.stdout);
    assert.ok(
      planned.stdout.includes(`Key Vault ${vault}: tenant ${oldTenant} -> ${newTenant}`),
      planned.stdout,
    );
    assert.ok(
      planned.stdout.includes(`the repair removes ${FOREIGN} (secrets: get): to grant again by hand`),
      planned.stdout,
    );
    assert.equal((await readVault()).properties.tenantId, oldTenant, "nothing written without --yes");

    const run = await s.azid([...args, "--yes", "--output", "json"]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const { report } = JSON.parse(run.stdout);
    assert.deepEqual(report.vaults, [
      {
        vaultId: vault,
        fromTenantId: oldTenant,
        toTenantId: newTenant,
        foreignEntries: [{ objectId: FOREIGN, tenantId: oldTenant, permissions: { secrets: ["get"] } }],
      },
    ]);
    const principal = report.resources[0].after.principalId;
    const after = await readVault();
    assert.equal(after.properties.tenantId, newTenant);
    assert.deepEqual(after.properties.accessPolicies, [
      { tenantId: newTenant, objectId: principal, permissions: { secrets: ["get", "list"] } },
    ]);
  });

  test("one apply reads a vault once for all the identities granted on it", async () => {
    const file = s.writeManifests(
      "readers.yaml",
      ["reader-1", "reader-2", "reader-3"].map((name) => ({
        apiVersion: "azid.dev/v1alpha1",
        kind: "UserAssignedIdentity",
        metadata: { name, namespace: "team-a" },
        spec: {
          subscriptionId: s.sub,
          resourceGroup: RG,
          location: LOCATION,
          keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get"] } }],
        },
      })),
    );
    await s.f.admin("POST", "stats/reset");
    const apply = await s.azid([
      "apply",
      "-f",
      file,
      "--sandbox",
      s.sandboxFile,
      "--credentials-file",
      newCredentials,
    ]);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    const gets = Object.entries((await s.stats()).byOperation)
      .filter(([operation]) => /^GET .*Microsoft\.KeyVault\/vaults\/\{[^}]+\}$/.test(operation))
      .reduce((sum, [, n]) => sum + n, 0);
    assert.equal(gets, 1, "one GET of the vault for 3 identities");
    assert.equal((await readVault()).properties.accessPolicies.length, 4);
  });
});
