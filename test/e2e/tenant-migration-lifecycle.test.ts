// A TenantMigration's life around the move itself, through kubectl and a real controller process:
// made before any move it has nothing to repair; when the subscription moves while azid's
// credential is still the old tenant's, it says that planning failed and why (a condition and a
// Warning event) instead of staying silent; once the credential is the new tenant's, it plans,
// waits for approval and repairs.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Stack as StackType } from "./stack.js";
import { Stack } from "./stack.js";
import {
  applyAll,
  buildWorld,
  conditionOf,
  eventsOf,
  migrationIn,
  moveSubscription,
  provision,
  tenantMigration,
  type World,
  waitUntil,
  writeCredentials,
} from "./tenant-move-world.js";

// biome-ignore lint/suspicious/noExplicitAny: the migration's status is read loosely
type Body = any;

const SMALL = { customRoles: 1, userAssigned: 3, systemAssigned: 1, sharedVms: 2 };

describe("TenantMigration: nothing to repair, a plan that fails on the old credential, then the repair", () => {
  let stack: StackType;
  let world: World;
  let newTenant: string;

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    world = buildWorld(stack, SMALL, "lifecycle");
    await provision(stack, world);
    const credentials = writeCredentials(stack, stack.arm.arm.tenantId);
    await stack.startController({ resyncPeriod: "2s", credentialsFile: credentials });
    await applyAll(stack, world);
    for (const kind of ["customroles.azid.dev", "uai", "sai"])
      await stack.waitReady(kind, world.namespace, "120s");
  });
  after(() => stack?.close());

  test("before any move: NotNeeded, with nothing to repair", async () => {
    await stack.apply(tenantMigration(stack, "early"));
    const early = await migrationIn(stack, "early", "NotNeeded");
    assert.equal(conditionOf(early, "Planned")?.reason, "NothingToRepair");
    assert.equal(early.status.toTenantId, stack.arm.arm.tenantId);
  });

  test("the subscription moves, azid's credential is refused: Planned=False PlanFailed, a Warning, no plan", async () => {
    newTenant = (await moveSubscription(stack)).toTenantId;
    const failed = await waitUntil("PlanFailed", async () => {
      const found: Body = await stack.get("tenantmigration", "early");
      assert.equal(conditionOf(found, "Planned")?.reason, "PlanFailed", JSON.stringify(found?.status));
      return found;
    });
    assert.equal(conditionOf(failed, "Planned")?.status, "False");
    assert.match(conditionOf(failed, "Planned")?.message ?? "", /CredentialTenantMismatch/);
    assert.equal(failed.status.phase, "Pending");
    assert.equal(failed.status.plan, undefined, "a plan of the old tenant is not kept");
    const events = (await eventsOf(stack, "default")).filter((e) => e.name === "early");
    assert.ok(
      events.some((e) => e.reason === "PlanFailed" && e.type === "Warning"),
      JSON.stringify(events),
    );
  });

  test("with the new tenant's credential it plans, waits for approval, follows a second move, and repairs", async () => {
    writeCredentials(stack, newTenant);
    const planned = await migrationIn(stack, "early", "AwaitingApproval");
    assert.equal(conditionOf(planned, "Planned")?.reason, "PlanReady");
    assert.equal(planned.status.toTenantId, newTenant);
    assert.ok(planned.status.plan.total > 0);

    // ARM answers every write 429: the approved repair cannot finish before the second move.
    stack.arm.arm.setFaults({ write: { throttleRate: 1 }, delete: { throttleRate: 1 } });
    await stack.must(["annotate", "tenantmigration", "early", "azid.dev/approved=true"]);
    await migrationIn(stack, "early", "Applying");
    const third = (await moveSubscription(stack)).toTenantId;
    writeCredentials(stack, third);
    const retargeted = await waitUntil("the repair retargeted", async () => {
      const found: Body = await stack.get("tenantmigration", "early");
      assert.equal(found?.status?.toTenantId, third);
      return found;
    });
    assert.equal(retargeted.status.phase, "Applying");
    const events = (await eventsOf(stack, "default")).filter((e) => e.name === "early");
    assert.ok(
      events.some((e) => e.reason === "TenantChanged" && e.type === "Warning"),
      JSON.stringify(events),
    );

    stack.arm.arm.setFaults({});
    const done = await migrationIn(stack, "early", "Succeeded", 180_000);
    assert.match(done.status.report.summary, /repaired/);
    for (const kind of ["uai", "sai"]) {
      const list: Body = JSON.parse(await stack.must(["get", kind, "-n", world.namespace, "-o", "json"]));
      for (const item of list.items) assert.equal(item.status.tenantId, third, item.metadata.name);
    }
  });
});
