// The tenant move end to end in Manual mode, through kubectl and a real `azid controller` process:
// 100 resources Ready, the subscription moves, azid's credential is refused until the operator
// gives it one from the new tenant (no restart), every identity reports the move, a
// TenantMigration plans the exact repair and waits for approval, then repairs, and Azure ends
// exactly as declared with new principals.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { declaredPrincipals, differences } from "../../src/cli/demo/exact-state.js";
import type { ControllerProcess } from "./stack.js";
import { Stack } from "./stack.js";
import {
  applyAll,
  buildWorld,
  conditionOf,
  type DeclaredResource,
  declaredNow,
  describeAction,
  eventsOf,
  expectedRepair,
  HUNDRED,
  identitiesOf,
  moveSubscription,
  provision,
  readEstate,
  repairStep,
  type World,
  waitUntil,
  writeCredentials,
} from "./tenant-move-world.js";

// biome-ignore lint/suspicious/noExplicitAny: the migration's status is read loosely
type Migration = any;

describe("tenant move in Manual mode: 100 resources, a TenantMigration approved", () => {
  let stack: Stack;
  let world: World;
  let controller: ControllerProcess;
  let oldTenant: string;
  let newTenant: string;
  let movedAt: number;
  /** Principal ids before the move, by resource name. */
  const oldPrincipals = new Map<string, string>();

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    world = buildWorld(stack, HUNDRED);
    oldTenant = stack.arm.arm.tenantId;
    await provision(stack, world);
    const credentials = writeCredentials(stack, oldTenant);
    // The default resync (10 minutes): the move is found by the leader's sweep, not by a resync.
    controller = await stack.startController({ resyncPeriod: "10m", credentialsFile: credentials });
  });
  after(() => stack?.close());

  test("100 resources of every kind become Ready, and Azure holds exactly what they declare", async () => {
    await applyAll(stack, world);
    for (const kind of ["customroles.azid.dev", "uai", "sai"]) {
      await stack.waitReady(kind, world.namespace, "240s");
    }
    const declared = await declaredNow(stack, world);
    assert.equal(declared.customRoles.length + identitiesOf(declared).length, 100);
    const estate = await readEstate(stack, declaredPrincipals(declared));
    assert.deepEqual(differences(declared, estate), []);
    assert.equal(estate.identities.length, 60);
    assert.equal(estate.roleAssignments.length, 135);
    for (const resource of identitiesOf(declared)) {
      oldPrincipals.set(resource.metadata.name, resource.status?.principalId as string);
    }
  });

  test("after the move, azid's credential is refused: CredentialTenantMismatch as condition, event and metric", async () => {
    const moved = await moveSubscription(stack);
    newTenant = moved.toTenantId;
    movedAt = Date.now();
    assert.equal(moved.fromTenantId, oldTenant);
    assert.equal(moved.deleted.roleAssignments.length, 135, "Azure deletes every role assignment");
    assert.equal(moved.deleted.customRoles.length, 10, "and every custom role");

    // Within a sweep of the leader (every minute), which reads each subscription's tenant.
    await waitUntil(
      "every resource says its credential is refused",
      async () => {
        const declared = await declaredNow(stack, world);
        for (const resource of [...declared.customRoles, ...identitiesOf(declared)]) {
          const ready = conditionOf(resource, "Ready");
          assert.equal(
            ready?.reason,
            "CredentialTenantMismatch",
            `${resource.metadata.name}: ${ready?.message}`,
          );
          assert.equal(ready?.status, "False");
        }
      },
      90_000,
    );
    const declared = await declaredNow(stack, world);
    const ready = conditionOf(declared.userAssigned[0] as DeclaredResource, "Ready");
    assert.match(
      ready?.message ?? "",
      /credential .* another tenant: configure one from the subscription's tenant/,
    );
    await waitUntil("a warning event on every resource", async () => {
      const warned = new Set(
        (await eventsOf(stack, world.namespace))
          .filter((e) => e.reason === "CredentialTenantMismatch" && e.type === "Warning")
          .map((e) => `${e.kind}/${e.name}`),
      );
      assert.equal(warned.size, 100);
    });
    const metrics = await controller.metrics();
    assert.match(
      metrics,
      new RegExp(`azid_credential_tenant_mismatch\\{subscription="${stack.subscriptionId}"\\} 1`),
    );
  });

  test("given a credential from the new tenant, the same process resumes and every identity reports the move", async () => {
    writeCredentials(stack, newTenant);
    await waitUntil(
      "TenantMismatch on every identity, custom roles back",
      async () => {
        const declared = await declaredNow(stack, world);
        for (const resource of identitiesOf(declared)) {
          const mismatch = conditionOf(resource, "TenantMismatch");
          assert.equal(mismatch?.status, "True", `${resource.metadata.name}: ${JSON.stringify(mismatch)}`);
          assert.ok(
            mismatch?.message.includes(oldTenant) && mismatch.message.includes(newTenant),
            mismatch?.message,
          );
          assert.equal(conditionOf(resource, "Ready")?.reason, "RepairAwaitingApproval");
        }
        // A custom role definition deletes nothing: it is restored as soon as azid can write.
        for (const role of declared.customRoles) assert.equal(conditionOf(role, "Ready")?.status, "True");
      },
      90_000,
    );
    assert.equal(stack.controllers.length, 1, "no restart");
    assert.equal(controller.child.exitCode, null);
    assert.match(
      await controller.metrics(),
      new RegExp(`azid_credential_tenant_mismatch\\{subscription="${stack.subscriptionId}"\\} 0`),
    );
    // Waiting for approval: the old principals are untouched, nothing is granted to them.
    const declared = await declaredNow(stack, world);
    const estate = await readEstate(stack, []);
    assert.equal(estate.identities.length, 60);
    for (const identity of estate.identities) {
      assert.equal(identity.principalId, oldPrincipals.get(identity.name), identity.name);
      assert.equal(identity.tenantId, oldTenant);
    }
    assert.deepEqual(estate.roleAssignments, []);
    assert.equal(estate.customRoles.length, 10);
    assert.ok(
      identitiesOf(declared).every((r) => r.status?.principalId === oldPrincipals.get(r.metadata.name)),
    );
  });

  test("a TenantMigration plans the exact repair in order and waits for approval", async () => {
    await stack.apply({
      apiVersion: "azid.dev/v1alpha1",
      kind: "TenantMigration",
      metadata: { name: "after-move" },
      spec: { subscriptionId: stack.subscriptionId, mode: "Apply" },
    });
    const migration: Migration = await waitUntil("the plan", async () => {
      const found: Migration = await stack.get("tenantmigration", "after-move");
      assert.equal(found?.status?.phase, "AwaitingApproval", JSON.stringify(found?.status?.conditions));
      return found;
    });
    const { plan } = migration.status;
    assert.equal(migration.status.fromTenantId, oldTenant);
    assert.equal(migration.status.toTenantId, newTenant);
    assert.deepEqual(Object.fromEntries(plan.counts.map((c: Migration) => [c.kind, c.count])), {
      PatchResourceIdentity: 152, // 46 attachments detached and attached again, 30 system identities off and on
      DeleteIdentity: 60,
      CreateIdentity: 60,
      PutFederatedCredential: 75, // 60 declared, 15 for serviceAccounts[] (every fourth identity)
      PutRoleAssignment: 135,
      GrantAppRole: 7,
    });
    assert.equal(plan.total, 489);
    assert.deepEqual(plan.actions.map(describeAction).sort(), expectedRepair(stack, world));
    const steps = plan.actions.map(repairStep);
    assert.deepEqual(
      steps,
      [...steps].sort((a: number, b: number) => a - b),
      "teardown, identities, attachments, grants",
    );
    assert.ok(plan.floorSeconds > 0);
    assert.equal(conditionOf(migration, "Planned")?.reason, "PlanReady");

    const writes = () => {
      const { write, delete: deletes } = stack.arm.arm.stats().requests;
      return write + deletes;
    };
    // Every identity reconciled again (a touch of its metadata) writes nothing without approval.
    const reconciles = async () =>
      [
        ...(await controller.metrics()).matchAll(
          /^controller_runtime_reconcile_total\{controller="(user|system)assignedidentity".*\} (\d+)$/gm,
        ),
      ].reduce((sum, match) => sum + Number(match[2]), 0);
    const writesBefore = writes();
    const reconcilesBefore = await reconciles();
    await stack.must(["annotate", "uai,sai", "--all", "-n", world.namespace, "example.com/touched=1"]);
    // The positive signal: the 90 reconciles have ended (the counter counts ends), each without a write.
    await waitUntil("90 reconciles", async () => assert.ok((await reconciles()) >= reconcilesBefore + 90));
    assert.equal(writes(), writesBefore, "no write to Azure before approval");
    assert.equal(
      ((await stack.get("tenantmigration", "after-move")) as Migration).status.phase,
      "AwaitingApproval",
    );
  });

  test("approved, it repairs with progress in its status, and Azure ends exactly as declared with new principals", async () => {
    await stack.must(["annotate", "tenantmigration", "after-move", "azid.dev/approved=true"]);
    const phases = new Set<string>();
    let partial = false;
    const started = Date.now();
    const done: Migration = await waitUntil(
      "the repair",
      async () => {
        const found: Migration = await stack.get("tenantmigration", "after-move");
        phases.add(found?.status?.phase);
        const progress = found?.status?.progress ?? [];
        if (progress.some((p: Migration) => p.done > 0 && p.done < p.total)) partial = true;
        assert.equal(found?.status?.phase, "Succeeded", JSON.stringify(progress));
        return found;
      },
      180_000,
      500,
    );
    const seconds = (Date.now() - started) / 1000;
    assert.ok(phases.has("Applying"), [...phases].join());
    assert.ok(partial, "progress was visible while it ran");
    for (const entry of done.status.progress) {
      assert.equal(entry.done, entry.total, entry.kind);
    }
    assert.equal(done.status.report.actionsDone, 489);
    assert.equal(done.status.report.actionsFailed, 0);
    assert.deepEqual(done.status.failures ?? [], []);

    const declared = await declaredNow(stack, world);
    const estate = await readEstate(stack, declaredPrincipals(declared));
    assert.deepEqual(differences(declared, estate), []);
    assert.equal(estate.tenantId, newTenant);
    for (const resource of identitiesOf(declared)) {
      const name = resource.metadata.name;
      assert.notEqual(resource.status?.principalId, oldPrincipals.get(name), `${name} has a new principal`);
      assert.equal(resource.status?.tenantId, newTenant);
      assert.equal(conditionOf(resource, "TenantMismatch")?.status, "False");
      assert.equal(conditionOf(resource, "Ready")?.status, "True");
    }
    const principals = new Map(
      done.status.report.principals.map((p: Migration) => [p.resource.split("/").at(-1), p]),
    );
    for (const identity of declared.userAssigned) {
      const change = principals.get(identity.metadata.name) as Migration;
      assert.equal(change?.oldPrincipalId, oldPrincipals.get(identity.metadata.name));
      assert.equal(change?.newPrincipalId, identity.status?.principalId);
    }

    // Custom roles first: every definition was back before the first identity was re-created.
    const events = (await eventsOf(stack, world.namespace)).filter((e) => Date.parse(e.time) > movedAt);
    const times = (reason: string) =>
      events.filter((e) => e.reason === reason).map((e) => Date.parse(e.time));
    const restored = times("RoleDefinitionWritten");
    const recreated = times("IdentityCreated");
    assert.equal(restored.length, 10);
    assert.equal(recreated.length, 60);
    assert.ok(Math.max(...restored) <= Math.min(...recreated));
    const migrationEvents = (await eventsOf(stack, "default")).filter((e) => e.name === "after-move");
    for (const reason of ["Planned", "Approved", "RepairSucceeded"]) {
      assert.ok(
        migrationEvents.some((e) => e.reason === reason),
        reason,
      );
    }
    const floor = done.status.plan.floorSeconds / stack.arm.arm.timeScale;
    console.log(`manual repair: ${seconds.toFixed(1)} s for 474 actions; ARM's floor ${floor.toFixed(1)} s`);
  });
});
