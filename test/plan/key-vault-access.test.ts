// The Key Vault access-policy planner through the UserAssignedIdentity and SystemAssignedIdentity
// planners, run to their fixpoint against the in-memory world.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { armIdKey } from "../../src/api/arm-id.js";
import type { IdentityPolicy } from "../../src/api/schemas/identity-policy.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import { renderHtmlReport } from "../../src/cli/html-report.js";
import { formatPlanSummary, planReport } from "../../src/cli/remediation-report.js";
import { plannerOf } from "../../src/engine/kinds.js";
import type { UpdateVaultAccessPolicy } from "../../src/plan/actions.js";
import { applyResult } from "../../src/plan/apply-result.js";
import { emptyObserved } from "../../src/plan/observed.js";
import { evaluatePolicy } from "../../src/plan/policy.js";
import {
  planRemediation,
  type RemediationInput,
  remediationReads,
  toMigrationPlan,
} from "../../src/plan/remediation.js";
import { ALLOWED, condition, context, sai, saiPlan, uai, uaiPlan } from "./support/resources.js";
import { NEW_TENANT, RG, SUB, World } from "./support/world.js";

const FOREIGN = "f0f0f0f0-0000-4000-8000-000000000001";

function converge(world: World, resource: UserAssignedIdentity, ctx = context()) {
  const run = world.converge(uaiPlan(resource, ctx), resource.status);
  return { run, resource: { ...resource, status: run.final.status } };
}
const vaultWrites = (world: World) => world.calls.filter((c) => c.kind === "UpdateVaultAccessPolicy");
const entriesOf = (world: World, vaultId: string) =>
  world.vaults.get(armIdKey(vaultId))?.accessPolicies ?? [];

describe("Key Vault access policies", () => {
  test("grants on two vaults, leaves a foreign entry alone, then steady state writes nothing", () => {
    const world = new World();
    const foreign = { tenantId: world.tenantId, objectId: FOREIGN, permissions: { secrets: ["get"] } };
    const shared = world.addVault("shared-kv", { entries: [foreign] });
    const own = world.addVault("own-kv");
    const resource = uai({
      keyVaultAccessPolicies: [
        { vaultId: shared, permissions: { secrets: ["get", "list"] } },
        { vaultId: own, permissions: { keys: ["wrapKey", "unwrapKey", "get"] } },
      ],
    });
    const first = converge(world, resource);
    assert.equal(condition(first.run.final.status, "Ready")?.status, "True");
    assert.equal(condition(first.run.final.status, "KeyVaultAccessGranted")?.status, "True");
    const principal = first.run.final.status?.principalId as string;
    assert.deepEqual(entriesOf(world, shared), [
      foreign,
      { tenantId: world.tenantId, objectId: principal, permissions: { secrets: ["get", "list"] } },
    ]);
    assert.deepEqual(entriesOf(world, own), [
      {
        tenantId: world.tenantId,
        objectId: principal,
        permissions: { keys: ["wrapKey", "unwrapKey", "get"] },
      },
    ]);
    assert.equal(vaultWrites(world).length, 2);
    assert.ok(first.resource.status?.keyVaultAccessPolicies?.every((e) => e.owned && e.state === "Ready"));

    world.calls = [];
    converge(world, first.resource);
    assert.deepEqual(
      world.calls.filter((c) => c.write),
      [],
      "steady state: 0 writes",
    );
    assert.equal(world.calls.filter((c) => c.kind === "ReadVault").length, 2, "one read per vault");
  });

  test("a permission removed from the spec is revoked by a replace of azid's entry only", () => {
    const world = new World();
    const foreign = { tenantId: world.tenantId, objectId: FOREIGN, permissions: { secrets: ["get"] } };
    const vault = world.addVault("shared-kv", { entries: [foreign] });
    const first = converge(
      world,
      uai({ keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get", "list"] } }] }),
    );
    world.calls = [];
    const narrowed = {
      ...first.resource,
      spec: {
        ...first.resource.spec,
        keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get"] } }],
      },
    } as UserAssignedIdentity;
    const second = converge(world, narrowed);
    const writes = second.run.steps.map((s) => s.action).filter((a) => a.kind === "UpdateVaultAccessPolicy");
    assert.equal(writes.length, 1);
    assert.equal((writes[0] as UpdateVaultAccessPolicy).operation, "replace");
    assert.deepEqual(entriesOf(world, vault), [
      foreign,
      {
        tenantId: world.tenantId,
        objectId: first.resource.status?.principalId,
        permissions: { secrets: ["get"] },
      },
    ]);
  });

  test("drift is put back; a vault dropped from the spec loses azid's entry; deletion removes the rest", () => {
    const world = new World();
    const a = world.addVault("a-kv");
    const b = world.addVault("b-kv");
    const both = uai({
      keyVaultAccessPolicies: [
        { vaultId: a, permissions: { secrets: ["get"] } },
        { vaultId: b, permissions: { secrets: ["get"] } },
      ],
    });
    const first = converge(world, both);
    // Someone removes azid's entry on a.
    (world.vaults.get(armIdKey(a)) as { accessPolicies: unknown[] }).accessPolicies = [];
    const again = converge(world, first.resource);
    assert.equal(entriesOf(world, a).length, 1, "drift put back");
    const onlyA = {
      ...again.resource,
      spec: {
        ...again.resource.spec,
        keyVaultAccessPolicies: [{ vaultId: a, permissions: { secrets: ["get"] } }],
      },
    } as UserAssignedIdentity;
    const dropped = converge(world, onlyA);
    assert.deepEqual(entriesOf(world, b), []);
    assert.equal(dropped.resource.status?.keyVaultAccessPolicies?.length, 1);
    const deleting = {
      ...dropped.resource,
      metadata: { ...dropped.resource.metadata, deletionTimestamp: "2026-11-27T10:00:00Z" },
    } as UserAssignedIdentity;
    const gone = converge(world, deleting);
    assert.equal(gone.run.final.deleted, true);
    assert.deepEqual(entriesOf(world, a), []);
  });

  test("an adopted entry is put as declared but left on the vault when the resource goes", () => {
    const world = new World();
    const resource = uai({});
    const created = converge(world, resource);
    const principal = created.resource.status?.principalId as string;
    const vault = world.addVault("kv", {
      entries: [{ tenantId: world.tenantId, objectId: principal, permissions: { secrets: ["all"] } }],
    });
    const adopted = converge(world, {
      ...created.resource,
      spec: {
        ...created.resource.spec,
        keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get"] } }],
      },
    } as UserAssignedIdentity);
    assert.equal(adopted.resource.status?.keyVaultAccessPolicies?.[0]?.owned, false);
    const deleting = {
      ...adopted.resource,
      metadata: { ...adopted.resource.metadata, deletionTimestamp: "2026-11-27T10:00:00Z" },
    } as UserAssignedIdentity;
    converge(world, deleting);
    assert.equal(entriesOf(world, vault).length, 1, "an entry azid did not add stays");
  });

  test("an RBAC-mode vault is refused with its reason and nothing is written to it", () => {
    const world = new World();
    const vault = world.addVault("rbac-kv", { rbac: true });
    const { run } = converge(
      world,
      uai({ keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get"] } }] }),
    );
    assert.equal(vaultWrites(world).length, 0);
    const granted = condition(run.final.status, "KeyVaultAccessGranted");
    assert.equal(granted?.status, "False");
    assert.equal(granted?.reason, "VaultInRbacMode");
    assert.match(granted?.message ?? "", /roleAssignments/);
    assert.equal(run.final.status?.keyVaultAccessPolicies?.[0]?.state, "Refused");
    assert.equal(condition(run.final.status, "Ready")?.reason, "VaultInRbacMode");
  });

  test("a missing vault fails with VaultNotFound", () => {
    const world = new World();
    const vault = `${world.addVault("x").replace(/x$/, "missing")}`;
    const { run } = converge(
      world,
      uai({ keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get"] } }] }),
    );
    assert.equal(condition(run.final.status, "KeyVaultAccessGranted")?.reason, "VaultNotFound");
  });

  test("SystemAssignedIdentity: grants its principal, removes the entry before turning it off", () => {
    const world = new World();
    world.addVm("vm-1");
    const vault = world.addVault("kv");
    const resource = sai({ keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get"] } }] });
    const run = world.converge(saiPlan(resource));
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
    const principal = run.final.status?.principalId as string;
    assert.deepEqual(entriesOf(world, vault), [
      { tenantId: world.tenantId, objectId: principal, permissions: { secrets: ["get"] } },
    ]);
    const deleting = {
      ...resource,
      metadata: { ...resource.metadata, deletionTimestamp: "2026-11-27T10:00:00Z" },
      status: run.final.status,
    };
    const gone = world.converge(saiPlan(deleting), run.final.status);
    assert.equal(gone.final.deleted, true);
    assert.deepEqual(entriesOf(world, vault), []);
  });
});

describe("IdentityPolicy keyVaults", () => {
  const TEAM = `${RG}/providers/Microsoft.KeyVault/vaults/team-kv`;
  const OTHER = `/subscriptions/${SUB}/resourceGroups/other-rg/providers/Microsoft.KeyVault/vaults/other-kv`;
  const policy: IdentityPolicy = {
    apiVersion: "azid.dev/v1alpha1",
    kind: "IdentityPolicy",
    metadata: { name: "team-a" },
    spec: {
      namespaceSelector: {},
      subscriptions: [{ subscriptionId: SUB }],
      keyVaults: [
        {
          scopes: [{ scope: RG, match: "Under" }],
          permissions: { secrets: ["all"], keys: ["get", "wrapKey"] },
        },
        { scopes: [{ scope: TEAM, match: "Exact" }], permissions: { secrets: ["purge"] } },
      ],
    },
  };
  const decide = (vaultId: string, permissions: Record<string, string[]>) =>
    evaluatePolicy(uai({ keyVaultAccessPolicies: [{ vaultId, permissions }] }), {
      namespaceLabels: {},
      policies: [policy],
      customRoles: [],
    });

  test("allows what a rule covers; `all` covers the ordinary permissions of its kind", () => {
    assert.equal(decide(TEAM, { secrets: ["get", "list", "set"], keys: ["wrapKey"] }).allowed, true);
  });
  test("refuses a vault outside every rule (default deny)", () => {
    const decision = decide(OTHER, { secrets: ["get"] });
    assert.equal(decision.allowed, false);
    assert.equal(decision.violations[0]?.rule, "default deny");
    assert.equal(decision.violations[0]?.field, "spec.keyVaultAccessPolicies[0]");
  });
  test("refuses a permission no rule names", () => {
    const decision = decide(TEAM, { keys: ["sign"] });
    assert.equal(decision.allowed, false);
    assert.match(decision.violations[0]?.message ?? "", /keys\/sign/);
  });
  test("privileged permissions need a rule naming each; `all` does not cover them", () => {
    const backup = decide(TEAM, { secrets: ["backup"] });
    assert.equal(backup.allowed, false);
    assert.equal(backup.violations[0]?.rule, "privileged permission");
    assert.equal(decide(TEAM, { secrets: ["purge"] }).allowed, true, "named one by one on this vault");
    const elsewhere = `${RG}/providers/Microsoft.KeyVault/vaults/shared-kv`;
    assert.equal(decide(elsewhere, { secrets: ["purge"] }).allowed, false);
    const all = decide(TEAM, { secrets: ["all"] });
    assert.equal(all.allowed, false, "a spec's all includes delete, purge and backup");
    assert.match(all.violations[0]?.message ?? "", /secrets\/delete/);
  });
  test("a refused entry writes nothing to any vault, the allowed ones included", () => {
    const world = new World();
    const allowed = world.addVault("team-kv");
    const resource = uai({
      keyVaultAccessPolicies: [
        { vaultId: allowed, permissions: { secrets: ["get"] } },
        {
          vaultId: allowed.replace("team-kv", "x-kv").replace("app-rg", "other-rg"),
          permissions: { secrets: ["get"] },
        },
      ],
    });
    const decision = evaluatePolicy(resource, { namespaceLabels: {}, policies: [policy], customRoles: [] });
    const { run } = converge(world, resource, context({ policy: decision }));
    assert.equal(vaultWrites(world).length, 0);
    assert.equal(world.calls.filter((c) => c.write).length, 0, "0 ARM writes");
    assert.equal(run.final.status?.keyVaultAccessPolicies?.[1]?.state, "Refused");
    assert.equal(condition(run.final.status, "Ready")?.reason, "PolicyDenied");
  });
});

describe("Key Vault tenant repair after a move", () => {
  const REPAIRABLE = (vaultIds: string[]) =>
    context({
      allowTenantRepair: true,
      policy: { ...ALLOWED, vaultTenantRepair: vaultIds.map((id) => armIdKey(id)) },
    });

  function moved() {
    const world = new World();
    const oldTenant = world.tenantId;
    const foreign = { tenantId: oldTenant, objectId: FOREIGN, permissions: { secrets: ["get", "list"] } };
    const vault = world.addVault("shared-kv", { entries: [foreign] });
    const first = converge(
      world,
      uai({ keyVaultAccessPolicies: [{ vaultId: vault, permissions: { secrets: ["get"] } }] }),
    );
    const oldPrincipal = first.resource.status?.principalId as string;
    world.moveTenant();
    world.calls = [];
    return { world, vault, resource: first.resource, oldTenant, oldPrincipal, foreign };
  }

  test("sets the vault's tenant, clearing the old tenant's entries, then adds the new principal's entry", () => {
    const { world, vault, resource, oldPrincipal } = moved();
    const { run } = converge(world, resource, REPAIRABLE([vault]));
    const newPrincipal = run.final.status?.principalId as string;
    assert.notEqual(newPrincipal, oldPrincipal);
    const stored = world.vaults.get(armIdKey(vault));
    assert.equal(stored?.tenantId, NEW_TENANT);
    assert.deepEqual(stored?.accessPolicies, [
      { tenantId: NEW_TENANT, objectId: newPrincipal, permissions: { secrets: ["get"] } },
    ]);
    const vaultSteps = run.steps
      .map((s) => s.action)
      .filter((a) => a.kind === "SetVaultTenant" || a.kind === "UpdateVaultAccessPolicy")
      .map((a) => (a.kind === "UpdateVaultAccessPolicy" ? `${a.operation} ${a.entry.objectId}` : a.kind));
    assert.deepEqual(
      vaultSteps,
      ["SetVaultTenant", `replace ${newPrincipal}`],
      "tenant, then access at once",
    );
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
    // Steady afterwards: nothing more to write.
    world.calls = [];
    converge(world, { ...resource, status: run.final.status }, REPAIRABLE([vault]));
    assert.deepEqual(
      world.calls.filter((c) => c.write),
      [],
    );
  });

  test("without allowTenantRepair for the vault, the vault is left alone: VaultTenantMismatch, 0 vault writes", () => {
    const { world, resource } = moved();
    const { run } = converge(world, resource, REPAIRABLE([]));
    assert.equal(vaultWrites(world).length, 0);
    assert.equal(world.calls.filter((c) => c.kind === "SetVaultTenant").length, 0);
    const granted = condition(run.final.status, "KeyVaultAccessGranted");
    assert.equal(granted?.reason, "VaultTenantMismatch");
    assert.match(granted?.message ?? "", /allowTenantRepair/);
  });

  test("the remediation plan lists the vault and the foreign entry it removes", () => {
    const { world, vault, resource, oldTenant, foreign } = moved();
    let observed = emptyObserved();
    const input = (): RemediationInput => ({
      subscriptionId: SUB,
      declared: { userAssigned: [resource], systemAssigned: [], customRoles: [] },
      observed,
      now: "2026-11-27T10:00:00Z",
      plannerOf,
      policy: () => ({ ...ALLOWED, vaultTenantRepair: [armIdKey(vault)] }),
    });
    for (let round = 0; round < 20; round++) {
      const reads = remediationReads(input());
      if (reads.length === 0) break;
      for (const read of reads) observed = applyResult(observed, read, world.answer(read));
    }
    const plan = planRemediation(input());
    assert.deepEqual(plan.assumptions, []);
    assert.deepEqual(plan.vaults, [
      { vaultId: vault, fromTenantId: oldTenant, toTenantId: NEW_TENANT, foreignEntries: [foreign] },
    ]);
    assert.equal(plan.counts.SetVaultTenant, 1);
    assert.equal(plan.counts.UpdateVaultAccessPolicy, 1, "the new entry: the PATCH clears the old ones");
    // The reports name the vault and the foreign entry, with its permissions, to grant again by hand.
    const report = planReport(SUB, plan, 1, new Date());
    const text = formatPlanSummary(report);
    assert.ok(text.includes(`Key Vault ${vault}: tenant ${oldTenant} -> ${NEW_TENANT}`), text);
    assert.ok(text.includes(`${FOREIGN} (secrets: get, list): to grant again by hand`), text);
    const page = renderHtmlReport({ ...report, applied: true });
    assert.match(page, /<h2>Key Vaults<\/h2>/);
    assert.match(page, /secrets: get, list/);
    assert.deepEqual(toMigrationPlan(plan, "2026-11-27T10:00:00Z").keyVaults, plan.vaults);
  });

  test("a vault left in the old tenant after the identities were repaired is still a move to repair", () => {
    const { world, vault, resource, oldTenant } = moved();
    // The identities repaired without the vault (no policy for it): the vault keeps the old tenant.
    const repaired = converge(world, resource, REPAIRABLE([]));
    let observed = emptyObserved();
    const input = (): RemediationInput => ({
      subscriptionId: SUB,
      declared: { userAssigned: [repaired.resource], systemAssigned: [], customRoles: [] },
      observed,
      now: "2026-11-27T10:00:00Z",
      plannerOf,
      policy: () => ({ ...ALLOWED, vaultTenantRepair: [armIdKey(vault)] }),
    });
    for (let round = 0; round < 20; round++) {
      const reads = remediationReads(input());
      if (reads.length === 0) break;
      for (const read of reads) observed = applyResult(observed, read, world.answer(read));
    }
    const plan = planRemediation(input());
    assert.deepEqual(plan.fromTenantIds, [oldTenant]);
    assert.equal(plan.counts.SetVaultTenant, 1);
    assert.equal(plan.counts.CreateIdentity, undefined, "the identity is not re-created again");
  });
});
