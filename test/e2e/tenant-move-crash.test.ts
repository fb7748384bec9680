// The Manual-mode repair of 100 resources with the controller SIGKILLed at 5 random points of the
// repair (a new process started after each): the run finishes, Azure ends exactly as declared,
// nothing is duplicated (no extra identity, grant, attachment, or an identity re-created twice)
// and nothing is lost. The kill points are drawn from a seed printed by the test, so a failure
// can be replayed with TENANT_MOVE_SEED.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ControllerOptions, Stack } from "./stack.js";
import {
  applyAndWaitReady,
  armWrites,
  buildWorld,
  conditionOf,
  declaredNow,
  describeAction,
  driftOf,
  expectedRepair,
  HUNDRED,
  identitiesOf,
  migrationIn,
  moveSubscription,
  provision,
  random,
  tenantMigration,
  type World,
  waitUntil,
  writeCredentials,
} from "./tenant-move-world.js";

describe("tenant move repaired through 5 SIGKILLs of the controller", () => {
  let stack: Stack;
  let world: World;
  let options: ControllerOptions;
  let oldPrincipals: Map<string, string>;

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    world = buildWorld(stack, HUNDRED);
    await provision(stack, world);
    options = { resyncPeriod: "5s", credentialsFile: writeCredentials(stack, stack.arm.arm.tenantId) };
    await stack.startController(options);
    oldPrincipals = await applyAndWaitReady(stack, world);
  });
  after(() => stack?.close());

  test("the move is reported and planned as in Manual mode", async () => {
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    await waitUntil(
      "TenantMismatch on every identity",
      async () => {
        for (const resource of identitiesOf(await declaredNow(stack, world))) {
          assert.equal(conditionOf(resource, "TenantMismatch")?.status, "True", resource.metadata.name);
        }
      },
      90_000,
    );
    await stack.apply(tenantMigration(stack, "after-move"));
    const planned = await migrationIn(stack, "after-move", "AwaitingApproval");
    assert.deepEqual(planned.status.plan.actions.map(describeAction).sort(), expectedRepair(stack, world));
  });

  test("SIGKILL at 5 random points of the repair, restarted each time: Azure ends exactly as declared", async () => {
    const seed = Number(process.env.TENANT_MOVE_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`kill points seed: ${seed} (TENANT_MOVE_SEED=${seed} replays them)`);
    const draw = random(seed);
    stack.arm.arm.resetStats();
    // Kill points as ARM writes into the repair (489 planned), between 2% and 85% of the way.
    const points = Array.from({ length: 5 }, () => Math.round(489 * (0.02 + 0.83 * draw()))).sort(
      (a, b) => a - b,
    );
    await stack.must([
      "patch",
      "tenantmigration",
      "after-move",
      "--type=merge",
      "-p",
      '{"spec":{"approved":true}}',
    ]);

    for (const point of points) {
      await waitUntil(
        `${point} writes into the repair`,
        async () => assert.ok(armWrites(stack) >= point),
        120_000,
        50,
      );
      const victim = stack.controllers.at(-1);
      assert.ok(victim);
      await victim.kill("SIGKILL");
      assert.equal(victim.child.signalCode, "SIGKILL");
      const migration = (await stack.get("tenantmigration", "after-move")) as { status: { phase: string } };
      assert.equal(migration.status.phase, "Applying", `killed at ${point} writes: still repairing`);
      await stack.startController(options);
    }
    console.log(`killed at ${points.join(", ")} ARM writes into the repair`);

    const done = await migrationIn(stack, "after-move", "Succeeded", 240_000);
    for (const entry of done.status.progress) assert.equal(entry.done, entry.total, entry.kind);
    assert.deepEqual(await driftOf(stack, world), []);

    const declared = await declaredNow(stack, world);
    for (const resource of identitiesOf(declared)) {
      assert.notEqual(resource.status?.principalId, oldPrincipals.get(resource.metadata.name));
      assert.equal(conditionOf(resource, "Ready")?.status, "True", resource.metadata.name);
    }
    // Nothing done twice: each identity deleted once and created once (a second PUT would mean a
    // second principal, a second DELETE a lost one).
    const calls = stack.arm.arm.stats().byOperation;
    const count = (method: string) =>
      Object.entries(calls)
        .filter(
          ([operation]) =>
            operation.startsWith(`${method} `) &&
            operation.endsWith("/userAssignedIdentities/{resourceName}"),
        )
        .reduce((sum, [, n]) => sum + n, 0);
    assert.equal(count("DELETE"), 60, JSON.stringify(calls));
    assert.equal(count("PUT"), 60, JSON.stringify(calls));
    console.log(
      `ARM calls during the repair: ${JSON.stringify(stack.arm.arm.stats().requests)} (489 writes planned)`,
    );
  });
});
