// Automatic repair after a tenant move, without any TenantMigration: first for a namespace whose
// IdentityPolicy asks for it (the controller itself in Manual mode), with a second move arriving
// in the middle of that repair; then for the whole controller (--tenant-remediation Auto).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ControllerOptions, Stack } from "./stack.js";
import {
  applyAndWaitReady,
  buildWorld,
  conditionOf,
  declaredNow,
  driftOf,
  identitiesOf,
  moveSubscription,
  namespaceAndPolicy,
  provision,
  type World,
  waitUntil,
  writeCredentials,
} from "./tenant-move-world.js";

const SIZE = { customRoles: 4, userAssigned: 20, systemAssigned: 10, sharedVms: 8 };

describe("tenant move in Auto mode", () => {
  let stack: Stack;
  let world: World;
  let options: ControllerOptions;
  const principals: Array<Map<string, string>> = [];

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    world = buildWorld(stack, SIZE, "auto");
    await provision(stack, world, "Auto");
    options = {
      resyncPeriod: "5s",
      tenantRemediation: "Manual",
      credentialsFile: writeCredentials(stack, stack.arm.arm.tenantId),
    };
    await stack.startController(options);
    principals.push(await applyAndWaitReady(stack, world));
  });
  after(() => stack?.close());

  /** Every identity in `tenant`, Ready, with a principal it did not have before; Azure exact. */
  async function repairedInto(tenant: string): Promise<Map<string, string>> {
    const now = new Map<string, string>();
    await waitUntil(
      `every identity repaired into tenant ${tenant}`,
      async () => {
        const declared = await declaredNow(stack, world);
        for (const resource of [...declared.customRoles, ...identitiesOf(declared)]) {
          assert.equal(conditionOf(resource, "Ready")?.status, "True", resource.metadata.name);
        }
        for (const resource of identitiesOf(declared)) {
          assert.equal(resource.status?.tenantId, tenant, resource.metadata.name);
          now.set(resource.metadata.name, resource.status?.principalId as string);
        }
      },
      180_000,
    );
    assert.deepEqual(await driftOf(stack, world), []);
    for (const [name, principal] of now) {
      for (const earlier of principals)
        assert.notEqual(principal, earlier.get(name), `${name}: a new principal`);
    }
    const migrations = JSON.parse(await stack.must(["get", "tenantmigrations", "-o", "json"])).items;
    assert.deepEqual(migrations, [], "no TenantMigration was needed");
    return now;
  }

  test("an IdentityPolicy with Auto repairs its namespace; a second move in the middle of the repair is repaired too", async () => {
    // Slower writes (100 ms each at this time scale) so that the second move lands mid-repair.
    stack.arm.arm.setFaults({ write: { latencyMs: 2000 }, delete: { latencyMs: 2000 } });
    const first = await moveSubscription(stack);
    writeCredentials(stack, first.toTenantId);
    const midway = await waitUntil(
      "part of the identities repaired",
      async () => {
        const identities = identitiesOf(await declaredNow(stack, world));
        const repaired = identities.filter(
          (r) => r.status?.tenantId === first.toTenantId && conditionOf(r, "Ready")?.status === "True",
        );
        assert.ok(repaired.length > 0 && repaired.length < identities.length, `${repaired.length} repaired`);
        return repaired.length;
      },
      120_000,
      200,
    );
    const second = await moveSubscription(stack);
    writeCredentials(stack, second.toTenantId);
    stack.arm.arm.setFaults({});
    console.log(`second move after ${midway} of 30 identities were repaired`);
    principals.push(await repairedInto(second.toTenantId));
  });

  test("--tenant-remediation Auto repairs every namespace, whatever its policy says", async () => {
    await stack.controllers.at(-1)?.kill("SIGTERM");
    await stack.apply(...namespaceAndPolicy(stack, world, "Manual"));
    options = { ...options, tenantRemediation: "Auto" };
    await stack.startController(options);
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    principals.push(await repairedInto(moved.toTenantId));
  });
});
