// Identity blocks on resources: type combinations, `{}` to add and `null` to remove, service principals
// created and removed with the system-assigned identity, long-running PATCH, and classic refusals.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ResourceManagementClient } from "@azure/arm-resources";
import { type ArmFixture, openApiValidator, startArmFixture } from "../../../test/support/arm.js";

const COMPUTE = "api-version=2024-11-01";

describe("resources with an identity block", () => {
  let f: ArmFixture;
  let sub: string;
  let rg: string;
  const ids: Record<string, string> = {};

  const vm = (name: string) => `${rg}/providers/Microsoft.Compute/virtualMachines/${name}?${COMPUTE}`;
  const put = (path: string, body: unknown) => f.request("PUT", path, { body });
  const patch = (path: string, body: unknown) => f.request("PATCH", path, { body });
  const graphSp = (id: string) => f.request("GET", `/v1.0/servicePrincipals/${id}`);

  before(async () => {
    f = await startArmFixture({ timeScale: 100, settings: { throttling: false } });
    sub = f.arm.subscriptionId;
    rg = `/subscriptions/${sub}/resourceGroups/rg`;
    await put(`${rg}?api-version=2025-04-01`, { location: "eastus" });
    for (const name of ["one", "two", "three"]) {
      const r = await put(
        `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=2024-11-30`,
        { location: "eastus" },
      );
      ids[name] = r.body.id;
    }
  });
  after(() => f.close());

  it("creates the system-assigned principal on enable, removes it on disable, and makes a new one on re-enable", async () => {
    const created = await put(vm("sys"), { location: "eastus", identity: { type: "SystemAssigned" } });
    assert.equal(created.status, 201);
    const first = created.body.identity.principalId;
    assert.equal(created.body.identity.tenantId, f.arm.tenantId);
    assert.equal((await graphSp(first)).status, 200, "the principal is in the directory");
    assert.equal((await graphSp(first)).body.servicePrincipalType, "ManagedIdentity");
    const same = await patch(vm("sys"), { identity: { type: "SystemAssigned" } });
    assert.equal(same.body.identity.principalId, first, "enabling it again changes nothing");
    const off = await patch(vm("sys"), { identity: { type: "None" } });
    assert.equal(off.body.identity, undefined);
    assert.equal((await graphSp(first)).status, 404, "disabling removes the principal");
    const on = await patch(vm("sys"), { identity: { type: "SystemAssigned" } });
    assert.notEqual(on.body.identity.principalId, first);
  });

  it("adds with {}, removes with null, keeps the system-assigned identity, and compares ids without case", async () => {
    await put(vm("mixed"), {
      location: "eastus",
      identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [ids.one!]: {} } },
    });
    const added = await patch(vm("mixed"), {
      identity: {
        type: "SystemAssigned, UserAssigned",
        userAssignedIdentities: { [ids.two!.toUpperCase()]: {}, [ids.one!.toLowerCase()]: {} },
      },
    });
    assert.equal(
      Object.keys(added.body.identity.userAssignedIdentities).length,
      2,
      "one and TWO, without a duplicate of one",
    );
    const one = added.body.identity.userAssignedIdentities[ids.one!];
    assert.match(one.principalId, /^[0-9a-f-]{36}$/);
    assert.match(one.clientId, /^[0-9a-f-]{36}$/);
    const removed = await patch(vm("mixed"), {
      identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [ids.one!]: null } },
    });
    assert.deepEqual(Object.keys(removed.body.identity.userAssignedIdentities), [ids.two!.toUpperCase()]);
    assert.ok(removed.body.identity.principalId, "the system-assigned identity stays");
    const last = await patch(vm("mixed"), {
      identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [ids.two!]: null } },
    });
    assert.equal(
      last.status,
      400,
      "removing the last user-assigned identity needs a type without UserAssigned",
    );
    assert.equal(last.body.error.code, "InvalidParameter");
    const typeChange = await patch(vm("mixed"), {
      identity: { type: "SystemAssigned", userAssignedIdentities: { [ids.two!]: null } },
    });
    assert.equal(typeChange.status, 200);
    assert.equal(typeChange.body.identity.type, "SystemAssigned");
    assert.equal(typeChange.body.identity.userAssignedIdentities, undefined);
    const put2 = await put(vm("mixed"), {
      location: "eastus",
      identity: { type: "UserAssigned", userAssignedIdentities: { [ids.three!]: {} } },
    });
    assert.deepEqual(
      Object.keys(put2.body.identity.userAssignedIdentities),
      [ids.three],
      "PUT replaces the map",
    );
    assert.equal(put2.body.identity.principalId, undefined);
  });

  it("refuses bad identity blocks with ARM's errors", async () => {
    const badType = await put(vm("bad"), { location: "eastus", identity: { type: "Both" } });
    assert.equal(badType.body.error.code, "InvalidParameter");
    const mapWithSystem = await put(vm("bad"), {
      location: "eastus",
      identity: { type: "SystemAssigned", userAssignedIdentities: { [ids.one!]: {} } },
    });
    assert.equal(mapWithSystem.body.error.code, "InvalidParameter");
    const missing = await put(vm("bad"), {
      location: "eastus",
      identity: {
        type: "UserAssigned",
        userAssignedIdentities: {
          [`${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost`]: {},
        },
      },
    });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, "FailedIdentityOperation");
    assert.match(missing.body.error.message, /ghost' was not found/);
    for (const r of [badType, mapWithSystem, missing])
      assert.deepEqual(openApiValidator().validateError(r.body), []);
  });

  it("refuses managed identities on Cloud Services (classic)", async () => {
    const path = `${rg}/providers/Microsoft.ClassicCompute/domainNames/legacy?api-version=2016-04-01`;
    const refused = await put(path, { location: "eastus", identity: { type: "SystemAssigned" } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, "ManagedIdentityNotSupported");
    assert.equal((await put(path, { location: "eastus" })).status, 201, "without an identity it is created");
    assert.equal(
      (await patch(path, { identity: { type: "UserAssigned", userAssignedIdentities: { [ids.one!]: {} } } }))
        .status,
      400,
    );
  });

  it("keeps a dangling attachment when an attached identity is deleted, as Azure does", async () => {
    const temp = await put(
      `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/temporary?api-version=2024-11-30`,
      { location: "eastus" },
    );
    await put(vm("dangling"), {
      location: "eastus",
      identity: { type: "UserAssigned", userAssignedIdentities: { [temp.body.id]: {} } },
    });
    await f.request("DELETE", `${temp.body.id}?api-version=2024-11-30`);
    const after = await f.request("GET", vm("dangling"));
    assert.deepEqual(Object.keys(after.body.identity.userAssignedIdentities), [temp.body.id]);
  });

  it("answers a Compute identity PATCH as Compute does when long-running operations are on: 200 with the resource and Azure-AsyncOperation", async () => {
    await put(vm("slow"), {
      location: "East US",
      identity: { type: "UserAssigned", userAssignedIdentities: { [ids.one!]: {} } },
    });
    f.arm.updateSettings({ lro: { enabled: true, durationSeconds: 100 } }); // 1 s at time scale 100
    try {
      const accepted = await patch(vm("slow"), {
        identity: { type: "UserAssigned", userAssignedIdentities: { [ids.two!]: {} } },
      });
      assert.equal(accepted.status, 200);
      assert.equal(accepted.body.properties.provisioningState, "Updating");
      assert.equal(accepted.body.name, "slow");
      const asyncUrl = new URL(String(accepted.headers["azure-asyncoperation"]));
      assert.match(
        asyncUrl.pathname,
        /\/providers\/Microsoft\.Compute\/locations\/eastus\/operations\/[0-9a-f-]{36}$/,
      );
      assert.equal(accepted.headers.location, undefined, "Compute's 200 carries no Location");
      const during = await f.request("GET", vm("slow"));
      assert.equal(during.body.properties.provisioningState, "Updating");
      assert.deepEqual(
        Object.keys(during.body.identity.userAssignedIdentities),
        [ids.one],
        "not applied yet",
      );
      const status = await f.request("GET", `${asyncUrl.pathname}${asyncUrl.search}`);
      assert.equal(status.body.status, "InProgress");
      assert.deepEqual(openApiValidator().validateOperationStatus(status.body), []);
      const conflict = await patch(vm("slow"), { tags: { a: "b" } });
      assert.equal(conflict.status, 409, "one operation at a time on a resource");
      // The operation finishes; then the SDK polls one of its own to completion.
      for (;;) {
        const polled = await f.request("GET", `${asyncUrl.pathname}${asyncUrl.search}`);
        if (polled.body.status === "Succeeded") break;
        await new Promise((resolve) => setTimeout(resolve, Number(polled.headers["retry-after"]) * 1000));
      }
      const rm = new ResourceManagementClient(f.credential, sub, f.clientOptions());
      const done = await rm.resources.beginUpdateAndWait(
        "rg",
        "Microsoft.Compute",
        "",
        "virtualMachines",
        "slow",
        "2024-11-01",
        {
          identity: { type: "UserAssigned", userAssignedIdentities: { [ids.three!]: {} } },
        },
        { updateIntervalInMs: 20 },
      );
      assert.deepEqual(
        Object.keys(done.identity?.userAssignedIdentities ?? {}).sort(),
        [ids.one, ids.two, ids.three].sort(),
      );
      assert.equal((done.properties as { provisioningState?: string }).provisioningState, "Succeeded");
      assert.deepEqual(f.validation.failures, []);
      assert.ok(
        f.validation.checked.includes("OperationStatus"),
        "the SDK polled the Azure-AsyncOperation URL",
      );
    } finally {
      f.arm.updateSettings({ lro: { enabled: false } });
    }
  });
});
