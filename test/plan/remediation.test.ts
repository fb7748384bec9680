import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SystemAssignedIdentity } from "../../src/api/schemas/system-assigned-identity.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import { plannerOf } from "../../src/engine/kinds.js";
import { type ActionKind, PHASE_ORDER } from "../../src/plan/actions.js";
import { applyResult } from "../../src/plan/apply-result.js";
import { floorOf } from "../../src/plan/limits.js";
import { emptyObserved, type ObservedState } from "../../src/plan/observed.js";
import {
  type DeclaredResources,
  planRemediation,
  type RemediationInput,
  remediationReads,
  toMigrationPlan,
} from "../../src/plan/remediation.js";
import {
  ALLOWED,
  context,
  customRole,
  customRolePlan,
  NOW,
  sai,
  saiPlan,
  uai,
  uaiPlan,
} from "./support/resources.js";
import { GRAPH_APP_ID, NEW_TENANT, RG, SUB, TENANT, vmId, World } from "./support/world.js";

/** A populated world: a custom role, identities with credentials, attachments and grants, a system identity. */
function populated(identities = 3) {
  const world = new World();
  for (let i = 0; i < identities; i++) world.addVm(`vm-${i}`);
  world.addVm("vm-sys");
  const role = customRole();
  const ctx = context({ customRoles: [role] });
  const declared: DeclaredResources = { userAssigned: [], systemAssigned: [], customRoles: [] };
  const roleRun = world.converge(customRolePlan(role, ctx));
  (declared.customRoles as unknown[]).push({ ...role, status: roleRun.final.status });
  for (let i = 0; i < identities; i++) {
    const resource = uai(
      {
        roleAssignments: [
          { role: "Reader", scope: RG },
          { customRoleRef: { name: "orders-reader" }, scope: RG },
        ],
        federatedCredentials: [
          {
            name: "aks",
            issuer: "https://oidc.example.com",
            subject: `system:serviceaccount:a:${i}`,
            audiences: ["api://AzureADTokenExchange"],
          },
          {
            name: "ci-main",
            issuer: "https://token.actions.githubusercontent.com",
            subject: `repo:o/r${i}`,
            audiences: ["api://AzureADTokenExchange"],
          },
        ],
        attachTo: [vmId(`vm-${i}`)],
        graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRole: "User.Read.All" }],
      },
      `id-${i}`,
    );
    const run = world.converge(uaiPlan(resource, ctx));
    (declared.userAssigned as UserAssignedIdentity[]).push({ ...resource, status: run.final.status });
  }
  const system = sai({ resourceId: vmId("vm-sys"), roleAssignments: [{ role: "Reader", scope: RG }] }, "sys");
  const run = world.converge(saiPlan(system, ctx));
  (declared.systemAssigned as SystemAssignedIdentity[]).push({ ...system, status: run.final.status });
  return { world, declared, ctx };
}

/** What the CLI or the controller does before planning: read until the planners ask for nothing more. */
function observeAll(world: World, declared: DeclaredResources): RemediationInput {
  let observed: ObservedState = emptyObserved();
  const input = (): RemediationInput => ({
    subscriptionId: SUB,
    declared,
    observed,
    now: NOW,
    policy: () => ALLOWED,
    plannerOf,
  });
  for (let round = 0; round < 20; round++) {
    const reads = remediationReads(input());
    if (reads.length === 0) return input();
    for (const read of reads) observed = applyResult(observed, read, world.answer(read));
  }
  throw new Error("reads did not settle");
}

describe("tenant move remediation plan", () => {
  test("plans the whole repair in order: custom roles, teardown, identities, attachments, grants", () => {
    const { world, declared } = populated();
    world.moveTenant();
    const writesBefore = world.writes();
    const plan = planRemediation(observeAll(world, declared));
    assert.equal(world.writes(), writesBefore, "planning writes nothing");
    assert.deepEqual(plan.assumptions, []);
    assert.equal(plan.toTenantId, NEW_TENANT);
    assert.deepEqual(plan.fromTenantIds, [TENANT]);
    const phases = plan.actions.map((a) => PHASE_ORDER.indexOf(a.phase));
    assert.deepEqual(
      phases,
      [...phases].sort((a, b) => a - b),
      "phases never go back",
    );
    assert.equal(plan.actions[0]?.kind, "PutRoleDefinition", "custom roles first");
    const first = (kind: ActionKind) => plan.actions.findIndex((a) => a.kind === kind);
    const last = (kind: ActionKind) => plan.actions.map((a): ActionKind => a.kind).lastIndexOf(kind);
    assert.ok(last("DeleteIdentity") < first("CreateIdentity"));
    assert.ok(last("CreateIdentity") < first("PutRoleAssignment"));
    assert.deepEqual(plan.counts, {
      PutRoleDefinition: 1,
      PatchResourceIdentity: 3 + 3 + 2, // detach and re-attach three identities; turn one system identity off and on
      DeleteIdentity: 3,
      CreateIdentity: 3,
      PutFederatedCredential: 6,
      PutRoleAssignment: 3 * 2 + 1,
      GrantAppRole: 3,
    });
    assert.equal(plan.affected.length, 5);
    assert.deepEqual(plan.floor, floorOf(plan.actions));
    const grant = plan.actions.find((a) => a.kind === "PutRoleAssignment");
    assert.match(grant?.description ?? "", /\(new principal of (User|System)AssignedIdentity\/team-a\//);
  });

  test("the plan is what the planners then do: same actions per kind", () => {
    const { world, declared, ctx } = populated();
    world.moveTenant();
    const plan = planRemediation(observeAll(world, declared));
    const before = world.calls.length;
    const repair = context({ ...ctx, allowTenantRepair: true });
    for (const role of declared.customRoles) world.converge(customRolePlan(role, repair), role.status);
    for (const identity of declared.userAssigned) world.converge(uaiPlan(identity, repair), identity.status);
    for (const system of declared.systemAssigned) world.converge(saiPlan(system, repair), system.status);
    const done: Partial<Record<ActionKind, number>> = {};
    for (const call of world.calls.slice(before))
      if (call.write) done[call.kind] = (done[call.kind] ?? 0) + 1;
    assert.deepEqual(done, plan.counts);
    assert.equal(world.assignments.length, 3 * 2 + 1);
    assert.ok([...world.identities.values()].every((identity) => identity.tenantId === NEW_TENANT));
  });

  test("identities sharing a target: each is detached and re-attached once, nothing assumed", () => {
    const world = new World();
    world.addVm("shared", { type: "SystemAssigned", principalId: "s", tenantId: TENANT });
    const declared: DeclaredResources = {
      userAssigned: ["app-a", "app-b"].map((name) => {
        const resource = uai({ attachTo: [vmId("shared")] }, name);
        return { ...resource, status: world.converge(uaiPlan(resource)).final.status };
      }),
      systemAssigned: [],
      customRoles: [],
    };
    world.moveTenant();
    const plan = planRemediation(observeAll(world, declared));
    assert.deepEqual(plan.assumptions, []);
    assert.equal(plan.counts.PatchResourceIdentity, 4);
    const patches = plan.actions.filter((a) => a.kind === "PatchResourceIdentity");
    assert.deepEqual(
      patches.map((a) => a.description.split(" ")[0]),
      ["detach", "detach", "attach", "attach"],
    );
    // The bodies are indicative (execution re-plans from Azure); none drops the system identity.
    assert.ok(
      patches.every(
        (a) => a.kind === "PatchResourceIdentity" && a.identity.type.startsWith("SystemAssigned"),
      ),
    );
  });

  test("nothing to repair when the subscription has not moved", () => {
    const { world, declared } = populated(1);
    const plan = planRemediation(observeAll(world, declared));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(plan.fromTenantIds, []);
    assert.equal(plan.floor.seconds, 0);
  });

  test("an attach target's own system identity that no manifest declares is a warning, not a move", () => {
    const world = new World();
    // A VM with its own system-assigned identity, of the tenant the subscription left.
    const vm = world.addVm("vm-own", {
      type: "SystemAssigned",
      principalId: "30000000-0000-0000-0000-000000000003",
      tenantId: TENANT,
    });
    const ctx = context();
    const resource = uai({ attachTo: [vm] }, "web");
    world.moveTenant();
    const run = world.converge(uaiPlan(resource, ctx));
    const declared: DeclaredResources = {
      userAssigned: [{ ...resource, status: run.final.status }],
      systemAssigned: [],
      customRoles: [],
    };
    // The identity was repaired into the new tenant; only the VM's own identity is left behind.
    const plan = planRemediation(observeAll(world, declared));
    assert.deepEqual(plan.fromTenantIds, [], "nothing declared is in the old tenant");
    assert.deepEqual(plan.undeclaredSystemIdentities, [{ resourceId: vm, tenantId: TENANT }]);
    assert.deepEqual(plan.actions, []);
    // Declared, the same identity is a move to repair.
    const system = sai({ resourceId: vm }, "vm-own");
    const withSystem = { ...declared, systemAssigned: [system] };
    const repair = planRemediation(observeAll(world, withSystem));
    assert.deepEqual(repair.fromTenantIds, [TENANT]);
    assert.deepEqual(repair.undeclaredSystemIdentities, []);
  });

  test("the floor of a large repair comes from the binding bucket", () => {
    const { world, declared } = populated(100);
    world.moveTenant();
    const plan = planRemediation(observeAll(world, declared));
    assert.equal(plan.counts.CreateIdentity, 100);
    const byClass = Object.fromEntries(plan.floor.byClass.map((c) => [c.class, c]));
    // 100 creates in one region: (100 - 80) / 4 per second; FICs: 200 writes at 2/s after a burst of 2.
    assert.equal(byClass.identityCreate?.floorSeconds, 5);
    assert.equal(byClass.ficWrite?.floorSeconds, (200 - 2) / 2);
    assert.equal(plan.floor.seconds, Math.max(...plan.floor.byClass.map((c) => c.floorSeconds)));
    assert.ok(plan.floor.seconds >= 99);
  });

  test("what a TenantMigration's status carries", () => {
    const { world, declared } = populated();
    world.moveTenant();
    const plan = planRemediation(observeAll(world, declared));
    const status = toMigrationPlan(plan, NOW, 10);
    assert.equal(status.total, plan.actions.length);
    assert.equal(status.actions.length, 10);
    assert.equal(status.truncated, true);
    assert.deepEqual(
      status.counts.find((c) => c.kind === "CreateIdentity"),
      { kind: "CreateIdentity", count: 3 },
    );
    assert.equal(status.actions[0]?.resource, "CustomRole/team-a/orders-reader");
    assert.match(status.actions[0]?.target ?? "", /roleDefinitions\//);
    assert.equal(status.floorSeconds, plan.floor.seconds);
  });
});
