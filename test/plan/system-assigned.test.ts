import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { armIdKey } from "../../src/api/arm-id.js";
import type { SystemAssignedIdentity } from "../../src/api/schemas/system-assigned-identity.js";
import type { PatchResourceIdentity } from "../../src/plan/actions.js";
import { emptyObserved } from "../../src/plan/observed.js";
import { simulate } from "../../src/plan/simulate.js";
import { planSystemAssignedIdentity } from "../../src/plan/system-assigned.js";
import { condition, context, sai, saiPlan } from "./support/resources.js";
import { GRAPH_APP_ID, NEW_TENANT, RG, SUB, vmId, World } from "./support/world.js";

function converge(world: World, resource: SystemAssignedIdentity, ctx = context()) {
  const run = world.converge(saiPlan(resource, ctx), resource.status);
  return { run, resource: { ...resource, status: run.final.status } };
}

const vm = (world: World) => world.targets.get(armIdKey(vmId("vm-1")))?.identity;
const grants = () =>
  sai({
    roleAssignments: [{ role: "Reader", scope: RG }],
    graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRole: "User.Read.All" }],
  });
const deleting = (resource: SystemAssignedIdentity): SystemAssignedIdentity => ({
  ...resource,
  metadata: { ...resource.metadata, deletionTimestamp: "2026-11-27T11:00:00Z" },
});

describe("SystemAssignedIdentity planner", () => {
  test("enables the system-assigned identity keeping user-assigned ones, then grants its principal", () => {
    const world = new World();
    const other = world.addIdentity("other");
    world.addVm("vm-1", { type: "UserAssigned", userAssignedIdentities: { [other.id]: {} } });
    const { run } = converge(world, grants());
    const patch = run.steps
      .map((s) => s.action)
      .find((a): a is PatchResourceIdentity => a.kind === "PatchResourceIdentity");
    assert.deepEqual(patch?.identity, { type: "SystemAssigned, UserAssigned" });
    const identity = vm(world);
    assert.equal(
      Object.keys(identity?.userAssignedIdentities ?? {}).length,
      1,
      "the user-assigned identity stays",
    );
    assert.deepEqual(
      world.assignments.map((a) => a.principalId),
      [identity?.principalId],
    );
    assert.deepEqual(
      world.appRoleAssignments.map((a) => a.principalId),
      [identity?.principalId],
    );
    assert.equal(run.final.status.enabledByAzid, true);
    assert.equal(run.final.status.principalId, identity?.principalId);
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
  });

  test("an identity that was already on is not azid's, and a resync writes nothing", () => {
    const world = new World();
    world.addVm("vm-1", { type: "SystemAssigned", principalId: "sys-1", tenantId: world.tenantId });
    const { resource, run } = converge(world, grants());
    assert.equal(run.final.status.enabledByAzid, false);
    const writes = world.writes();
    converge(world, resource);
    assert.equal(world.writes(), writes);
  });

  test("deletion revokes what azid granted and turns the identity off only if azid turned it on", () => {
    for (const startsOn of [false, true]) {
      const world = new World();
      world.addVm(
        "vm-1",
        startsOn ? { type: "SystemAssigned", principalId: "s", tenantId: world.tenantId } : undefined,
      );
      const { resource } = converge(world, grants());
      const { run } = converge(world, deleting(resource));
      assert.equal(world.assignments.length, 0);
      assert.equal(world.appRoleAssignments.length, 0);
      assert.equal(vm(world)?.type, startsOn ? "SystemAssigned" : "None", `starts on: ${startsOn}`);
      assert.equal(run.final.deleted, true);
      const disable = run.steps.findIndex((s) => s.action.kind === "PatchResourceIdentity");
      const revoke = run.steps.findIndex((s) => s.action.kind === "DeleteRoleAssignment");
      if (!startsOn) assert.ok(disable > revoke, "grants go before the identity");
    }
  });

  test("a resync that reads Graph again keeps azid's ownership of the app roles it granted", () => {
    const world = new World();
    world.addVm("vm-1", { type: "SystemAssigned", principalId: "s", tenantId: world.tenantId });
    const first = converge(world, grants());
    // The controller keeps Graph's service principal across reconciles (its observation cache):
    // the resync knows the app role before it has read the assignments.
    const cached = { ...emptyObserved(), servicePrincipals: first.run.observed.servicePrincipals };
    const resync = simulate(saiPlan(first.resource), cached, (action) => world.answer(action), {
      initialStatus: first.resource.status,
    });
    assert.equal(resync.final.status.graphAppRoles?.[0]?.owned, true);
    converge(world, deleting({ ...first.resource, status: resync.final.status }));
    assert.equal(world.appRoleAssignments.length, 0, "revoked on deletion");
  });

  test("after a tenant move with repair allowed: off, on, and grants for the new principal", () => {
    const world = new World();
    world.addVm("vm-1", { type: "SystemAssigned", principalId: "old", tenantId: world.tenantId });
    const { resource } = converge(world, grants());
    world.moveTenant();
    const waiting = converge(world, resource);
    assert.equal(condition(waiting.run.final.status, "TenantMismatch")?.status, "True");
    assert.equal(condition(waiting.run.final.status, "Ready")?.reason, "RepairAwaitingApproval");
    assert.equal(vm(world)?.principalId, "old");
    const { run } = converge(world, resource, context({ allowTenantRepair: true }));
    const patches = run.steps
      .filter((s) => s.action.kind === "PatchResourceIdentity")
      .map((s) => (s.action as PatchResourceIdentity).identity.type);
    assert.deepEqual(patches, ["None", "SystemAssigned"]);
    const identity = vm(world);
    assert.notEqual(identity?.principalId, "old");
    assert.equal(identity?.tenantId, NEW_TENANT);
    assert.deepEqual(
      world.assignments.map((a) => a.principalId),
      [identity?.principalId],
    );
    assert.equal(run.final.status.enabledByAzid, false, "a repair does not make azid the owner");
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
  });

  test("ObserveOnly reports an identity that is off instead of turning it on", () => {
    const world = new World();
    world.addVm("vm-1");
    const { run } = converge(world, sai({ managementPolicy: "ObserveOnly" }));
    assert.deepEqual(world.writeKinds(), []);
    assert.equal(condition(run.final.status, "Ready")?.reason, "IdentityNotFound");
  });

  test("Cloud Services (classic) and missing resources are reported without a write", () => {
    const classic = planSystemAssignedIdentity(
      sai({ resourceId: `${RG}/providers/Microsoft.ClassicCompute/domainNames/legacy` }),
      emptyObserved(),
      context(),
    );
    assert.deepEqual(classic.actions, []);
    assert.equal(condition(classic.status, "Ready")?.reason, "UnsupportedTarget");
    const world = new World();
    const { run } = converge(world, sai({ resourceId: vmId("ghost") }));
    assert.deepEqual(world.writeKinds(), []);
    assert.equal(condition(run.final.status, "Ready")?.reason, "TargetNotFound");
  });

  test("a refused read of the resource names its cause (a credential from the old tenant)", () => {
    const refused = { code: "InvalidAuthenticationTokenTenant", message: "wrong issuer", status: 401 };
    const observed = {
      ...emptyObserved(),
      failures: {
        [`ReadSubscription:${SUB}`]: refused,
        [`ReadTarget:${armIdKey(vmId("vm-1"))}`]: refused,
      },
    };
    const plan = planSystemAssignedIdentity(grants(), observed, context());
    assert.deepEqual(plan.actions, [], "failed reads are not asked again");
    assert.equal(condition(plan.status, "Ready")?.status, "False");
    assert.equal(condition(plan.status, "Ready")?.reason, "CredentialTenantMismatch");
  });
});
