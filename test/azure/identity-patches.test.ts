// Identities attached at the same moment to one VM, by resources reconciled side by side (as
// controller replicas do): each PATCH is rebased on the VM as it is under a shared Redis lock,
// so none undoes another and the VM's own system-assigned identity stays.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ResourceManagementClient } from "@azure/arm-resources";
import { Redis } from "ioredis";
import type { IdentityPolicy } from "../../src/api/schemas/identity-policy.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import { IdentityPatches } from "../../src/azure/identity-patches.js";
import { ObservationCache } from "../../src/engine/observation-cache.js";
import { syncResource } from "../../src/engine/resource-sync.js";
import * as build from "../../src/plan/build.js";
import { attachChange, detachChange } from "../../src/plan/identity-block.js";
import { RedisLocks } from "../../src/queue/redis-lock.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";
import { sandboxExecutor } from "../support/azure.js";
import { type RedisServer, startRedis } from "../support/redis.js";

describe("identity PATCHes of one target across replicas", () => {
  let f: ArmFixture;
  let redis: RedisServer;
  const clients: Redis[] = [];
  let sub: string;
  let vm: string;

  before(async () => {
    [f, redis] = await Promise.all([startArmFixture({ timeScale: 50 }), startRedis()]);
    f.arm.updateSettings({ lro: { enabled: true, durationSeconds: 2 } });
    sub = f.arm.subscriptionId;
    vm = `/subscriptions/${sub}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/shared`;
    const resources = new ResourceManagementClient(f.credential, sub, f.clientOptions());
    await resources.resourceGroups.createOrUpdate("app-rg", { location: "westeurope" });
    await resources.resources.beginCreateOrUpdateByIdAndWait(vm, "2024-11-01", {
      location: "westeurope",
      identity: { type: "SystemAssigned" },
    });
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all([f.close(), redis.stop()]);
  });

  /** One controller replica: its own executor, its own Redis connection, the shared lock. */
  const replica = () => {
    const client = new Redis(redis.url);
    clients.push(client);
    return sandboxExecutor(f.arm, {
      identityPatches: new IdentityPatches(
        new RedisLocks(client, { prefix: "azid", pollMs: 10, waitMs: 30_000 }),
      ),
    });
  };

  const policy: IdentityPolicy = {
    apiVersion: "azid.dev/v1alpha1",
    kind: "IdentityPolicy",
    metadata: { name: "p" },
    spec: {
      namespaceSelector: {},
      subscriptions: [{ subscriptionId: "" }],
      attachTargets: [{ scope: "/subscriptions/x", match: "Under" }],
    },
  };

  test("identities attached and detached at once: no attachment lost, the system-assigned identity kept", async () => {
    const allow = {
      ...policy,
      spec: {
        ...policy.spec,
        subscriptions: [{ subscriptionId: sub }],
        attachTargets: [{ scope: `/subscriptions/${sub}`, match: "Under" as const }],
      },
    };
    const replicas = [replica(), replica(), replica()];
    const statuses = new Map<string, UserAssignedIdentity["status"]>();
    const sync = (name: string, index: number, deleting: boolean) =>
      syncResource(
        {
          apiVersion: "azid.dev/v1alpha1",
          kind: "UserAssignedIdentity",
          metadata: {
            name,
            namespace: "team-a",
            generation: 1,
            ...(deleting ? { deletionTimestamp: new Date().toISOString() } : {}),
          },
          spec: { subscriptionId: sub, resourceGroup: "app-rg", location: "westeurope", attachTo: [vm] },
          status: statuses.get(name),
        } as UserAssignedIdentity,
        {
          executor: replicas[index % replicas.length]!,
          cache: new ObservationCache(),
          policyContext: { namespaceLabels: {}, policies: [allow], customRoles: [] },
          allowTenantRepair: false,
        },
      ).then((outcome) => statuses.set(name, outcome.status));
    const attachedNow = async () => {
      const target = await f.request("GET", `${vm}?api-version=2024-11-01`);
      return {
        type: String(target.body.identity?.type ?? "None").replace(/\s/g, ""),
        names: Object.keys(target.body.identity?.userAssignedIdentities ?? {})
          .map((id) => id.split("/").at(-1) as string)
          .sort(),
      };
    };
    const claimsAttached = (name: string) =>
      statuses.get(name)?.conditions?.some((c) => c.type === "Attached" && c.status === "True") ?? false;
    // Each trial: one identity leaves the VM (its detach is the last one by its own read, so it
    // sets the type back to SystemAssigned) while others arrive, reconciled side by side.
    for (let trial = 0; trial < 4; trial++) {
      const leaving = `leave-${trial}`;
      const arriving = [0, 1, 2].map((i) => `arrive-${trial}-${i}`);
      for (let round = 0; round < 40 && !(await attachedNow()).names.includes(leaving); round++) {
        await sync(leaving, 0, false);
      }
      for (let round = 0; round < 60; round++) {
        await Promise.all([sync(leaving, 0, true), ...arriving.map((name, i) => sync(name, i + 1, false))]);
        const now = await attachedNow();
        assert.equal(now.type.startsWith("SystemAssigned"), true, "the VM's own identity was dropped");
        for (const name of arriving) {
          if (claimsAttached(name)) assert.ok(now.names.includes(name), `${name} says Attached but is not`);
        }
        if (now.names.join() === arriving.join()) break;
      }
      assert.deepEqual((await attachedNow()).names, arriving);
      // Clean the VM for the next trial.
      for (let round = 0; round < 40 && (await attachedNow()).names.length > 0; round++) {
        await Promise.all(arriving.map((name, i) => sync(name, i, true)));
      }
    }
  });

  test("a detach planned from a stale read is rebased: it keeps an identity attached since", async () => {
    const rg = `/subscriptions/${sub}/resourceGroups/app-rg`;
    const target = `${rg}/providers/Microsoft.Compute/virtualMachines/stale`;
    const msi = (name: string) => `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
    for (const name of ["first", "second"]) {
      await f.request("PUT", `${msi(name)}?api-version=2024-11-30`, { body: { location: "westeurope" } });
    }
    await f.request("PUT", `${target}?api-version=2024-11-01`, {
      body: {
        location: "westeurope",
        identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [msi("first")]: {} } },
      },
    });
    // Both changes are planned from the same read: the VM holds `first` alone.
    const read = { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [msi("first")]: {} } };
    const owner = { kind: "UserAssignedIdentity" as const, namespace: "team-a", name: "x" };
    const patch = (change: ReturnType<typeof attachChange>, what: string) =>
      build.patchResourceIdentity(
        owner,
        target,
        what,
        change.identity,
        change.expected,
        "attachments",
        change.intent,
      );
    const attachSecond = patch(attachChange(read, msi("second")), "attach second");
    const detachFirst = patch(detachChange(read, msi("first")), "detach first");
    assert.equal(
      detachFirst.identity.type,
      "SystemAssigned",
      "planned alone, the detach drops the user-assigned type",
    );

    const executor = replica();
    f.arm.updateSettings({ lro: { enabled: false } });
    try {
      await executor.execute(attachSecond, sub);
      await executor.execute(detachFirst, sub);
    } finally {
      f.arm.updateSettings({ lro: { enabled: true } });
    }

    const after = await f.request("GET", `${target}?api-version=2024-11-01`);
    assert.deepEqual(
      Object.keys(after.body.identity.userAssignedIdentities ?? {}).map((id) => id.split("/").at(-1)),
      ["second"],
    );
    assert.equal(after.body.identity.type.replace(/\s/g, ""), "SystemAssigned,UserAssigned");
  });
});
