// A TenantMigration that is applying and meets a failure no retry fixes (azid's credential lost its
// permissions) says so in a condition and a Warning event, stays Applying, and looks again after
// the recheck delay: once the permission is back it carries on. Real parts: the Kubernetes and ARM
// emulators, Redis and the manager with the TenantMigration controller, in this process.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SANDBOX_CLIENT_ID } from "../../src/config/controller-config.js";
import type { ControllerProcess } from "../../src/controller/run.js";
import { tenantMigrationController } from "../../src/controller/tenant-migration-controller.js";
import { cleanUp, TestCluster, waitFor } from "../kube/support/cluster.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { startInProcess } from "./runtime-fixtures/harness.js";

/** azid's service principal in the sandbox tenant, registered so that the test can restrict it. */
const AZID_OID = "a2d1d000-0000-4000-8000-0000000000b7";
const MIGRATIONS = "/apis/azid.dev/v1alpha1/tenantmigrations";

// biome-ignore lint/suspicious/noExplicitAny: the migration's status is read loosely
type Body = any;

describe("TenantMigration: a terminal failure while applying", () => {
  let cluster: TestCluster;
  let redis: RedisServer;
  let f: ArmFixture;
  let dir: string;
  let controller: ControllerProcess | undefined;

  before(async () => {
    [cluster, redis, f] = await Promise.all([
      TestCluster.start(),
      startRedis(),
      startArmFixture({ timeScale: 100 }),
    ]);
    dir = mkdtempSync(join(tmpdir(), "azid-migration-"));
  });
  after(() =>
    cleanUp(
      () => controller?.stop(),
      () => cluster.close(),
      () => redis.stop(),
      () => f.close(),
      () => rmSync(dir, { recursive: true, force: true }),
    ),
  );

  test("gets a condition and an event, stays Applying, and is looked at again", async () => {
    const arm = f.arm;
    const sub = arm.subscriptionId;
    arm.addPrincipal(arm.tenantId, AZID_OID, { kind: "ServicePrincipal", appId: SANDBOX_CLIENT_ID });
    await cluster.createNamespace("team-a");
    // A declared custom role: applying checks that it exists again before identities repair.
    await cluster.call("POST", "/apis/azid.dev/v1alpha1/namespaces/team-a/customroles", {
      apiVersion: "azid.dev/v1alpha1",
      kind: "CustomRole",
      metadata: { name: "reader" },
      spec: {
        subscriptionId: sub,
        roleName: "Orders Reader",
        permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
        assignableScopes: [`/subscriptions/${sub}`],
      },
    });
    await cluster.call("POST", MIGRATIONS, {
      apiVersion: "azid.dev/v1alpha1",
      kind: "TenantMigration",
      metadata: { name: "approved", annotations: { "azid.dev/approved": "true" } },
      spec: { subscriptionId: sub, mode: "Apply" },
    });
    const created: Body = await cluster.call("GET", `${MIGRATIONS}/approved`);
    await cluster.call("PUT", `${MIGRATIONS}/approved/status`, {
      ...created,
      status: {
        phase: "Applying",
        observedGeneration: created.metadata.generation,
        toTenantId: arm.tenantId,
      },
    });
    // Every ARM call of azid's is refused from now on: AuthorizationFailed.
    arm.setCallerRestricted(AZID_OID, true);

    const sandboxFile = join(dir, "sandbox.json");
    writeFileSync(
      sandboxFile,
      JSON.stringify({
        arm: arm.url,
        caFile: arm.caFile,
        tenantId: arm.tenantId,
        subscriptionId: sub,
        authorityHost: arm.authorityHost,
        graph: arm.graphUrl,
        timeScale: arm.timeScale,
      }),
    );
    controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [tenantMigrationController()],
      flags: { sandbox: sandboxFile, redisPrefix: "migration-errors" },
    });

    const restoredOf = (migration: Body) =>
      migration?.status?.conditions?.find((c: Body) => c.type === "CustomRolesRestored");
    let stuck: Body;
    await waitFor(
      async () => {
        stuck = await cluster.call("GET", `${MIGRATIONS}/approved`);
        return restoredOf(stuck)?.reason === "MissingPermission";
      },
      "a condition naming the missing permission",
      30_000,
    );
    assert.equal(stuck.status.phase, "Applying", "the approved phase is kept");
    assert.equal(restoredOf(stuck).status, "False");
    assert.match(restoredOf(stuck).message, /roleDefinitions\/read/);
    await waitFor(async () => {
      const events: Body = await cluster.call("GET", "/apis/events.k8s.io/v1/namespaces/default/events");
      return events.items.some(
        (e: Body) =>
          e.regarding?.name === "approved" && e.type === "Warning" && e.reason === "MissingPermission",
      );
    }, "a Warning event");

    // The permission comes back; the recheck (5 min of ARM time) finds out without a nudge.
    arm.setCallerRestricted(AZID_OID, false);
    await waitFor(
      async () => {
        const found: Body = await cluster.call("GET", `${MIGRATIONS}/approved`);
        return restoredOf(found)?.reason === "Restoring" && found.status.phase === "Applying";
      },
      "the migration to carry on once allowed again",
      30_000,
    );
  });
});
