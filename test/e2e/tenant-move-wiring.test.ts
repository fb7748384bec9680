// A tenant move repaired by an approved TenantMigration, seen from the workloads: the plan lists
// the cluster changes; after the repair the ServiceAccount carries the new client id, the
// ConfigMaps the new ids, the workload-identity Deployment was restarted exactly once and nothing
// else was touched; the report gives old -> new principal and client id per identity, system-
// assigned ones included, and the workloads restarted.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createResourceGroup, createVm, NS, ready, sai, teamNamespace, uai, vm } from "./fixtures.js";
import { Stack } from "./stack.js";
import {
  migrationIn,
  moveSubscription,
  tenantMigration,
  waitUntil,
  writeCredentials,
} from "./tenant-move-world.js";

const CLIENT_ID = "azure.workload.identity/client-id";

function deployment(name: string, useWorkloadIdentity: boolean) {
  const labels = { app: name, ...(useWorkloadIdentity ? { "azure.workload.identity/use": "true" } : {}) };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: { serviceAccountName: "web-sa", containers: [{ name: "app", image: "app:1" }] },
      },
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: statuses are read loosely
type Body = any;

describe("tenant move: the workloads are wired again", () => {
  let stack: Stack;
  let before_: { uai: Body; sai: Body };

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    await createResourceGroup(stack);
    await createVm(stack, "vm-1");
    await stack.apply(...teamNamespace(stack));
    await stack.apply(
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "web-sa", namespace: NS } },
      deployment("web", true),
      deployment("plain", false),
    );
    await stack.startController({
      resyncPeriod: "3s",
      credentialsFile: writeCredentials(stack, stack.arm.arm.tenantId),
    });
    await stack.apply(
      uai(stack, "web-id", {
        serviceAccounts: [{ name: "web-sa" }],
        exports: { configMap: { name: "web-id" } },
      }),
      sai(stack, "vm-1-identity", vm(stack, "vm-1"), { exports: { configMap: { name: "vm-1-identity" } } }),
    );
    before_ = {
      uai: await ready(stack, "uai", "web-id"),
      sai: await ready(stack, "sai", "vm-1-identity"),
    };
  });
  after(() => stack?.close());

  test("the plan lists the cluster changes; the report and the cluster show the new ids, one restart", async () => {
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    await stack.apply(tenantMigration(stack, "move", true));
    const planned: Body = await waitUntil("the plan", async () => {
      const found: Body = await stack.get("tenantmigration", "move");
      assert.ok(found?.status?.plan, JSON.stringify(found?.status));
      return found;
    });
    assert.deepEqual(planned.status.plan.wiring, [
      {
        resource: `UserAssignedIdentity/${NS}/web-id`,
        action: "AnnotateServiceAccount",
        target: "ServiceAccount/web-sa",
      },
      {
        resource: `UserAssignedIdentity/${NS}/web-id`,
        action: "RestartWorkloads",
        target: "ServiceAccount/web-sa",
      },
      { resource: `UserAssignedIdentity/${NS}/web-id`, action: "WriteExport", target: "ConfigMap/web-id" },
      {
        resource: `SystemAssignedIdentity/${NS}/vm-1-identity`,
        action: "WriteExport",
        target: "ConfigMap/vm-1-identity",
      },
    ]);

    const done: Body = await migrationIn(stack, "move", "Succeeded", 180_000);
    const after = {
      uai: await ready(stack, "uai", "web-id"),
      sai: await ready(stack, "sai", "vm-1-identity"),
    };
    const newClientId = after.uai.status?.clientId;
    assert.notEqual(newClientId, before_.uai.status?.clientId);

    const byResource = new Map(done.status.report.principals.map((p: Body) => [p.resource, p]));
    assert.deepEqual(byResource.get(`UserAssignedIdentity/${NS}/web-id`), {
      resource: `UserAssignedIdentity/${NS}/web-id`,
      oldPrincipalId: before_.uai.status?.principalId,
      newPrincipalId: after.uai.status?.principalId,
      oldClientId: before_.uai.status?.clientId,
      newClientId,
      restarted: ["Deployment/web"],
    });
    assert.deepEqual(byResource.get(`SystemAssignedIdentity/${NS}/vm-1-identity`), {
      resource: `SystemAssignedIdentity/${NS}/vm-1-identity`,
      oldPrincipalId: before_.sai.status?.principalId,
      newPrincipalId: after.sai.status?.principalId,
    });
    assert.notEqual(after.sai.status?.principalId, before_.sai.status?.principalId);

    const sa: Body = await stack.get("sa", "web-sa", NS);
    assert.equal(sa.metadata.annotations[CLIENT_ID], newClientId);
    assert.equal(sa.metadata.annotations["azure.workload.identity/tenant-id"], moved.toTenantId);
    const exported: Body = await stack.get("configmap", "web-id", NS);
    assert.equal(exported.data.clientId, newClientId);
    assert.equal(exported.data.tenantId, moved.toTenantId);
    const system: Body = await stack.get("configmap", "vm-1-identity", NS);
    assert.deepEqual(system.data, { principalId: after.sai.status?.principalId, tenantId: moved.toTenantId });
    assert.equal(
      ((await stack.get("deployment", "web", NS)) as Body).metadata.generation,
      2,
      "restarted once",
    );
    assert.equal(((await stack.get("deployment", "plain", NS)) as Body).metadata.generation, 1, "untouched");
  });
});
