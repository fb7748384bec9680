// A UserAssignedIdentity's whole life through kubectl, with the real controller process:
// create, Ready, change, drift repaired, delete leaving nothing behind in Azure.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  armGet,
  asSomeoneElse,
  assignmentsOf,
  attachedTo,
  createResourceGroup,
  createVm,
  eventually,
  identityId,
  NS,
  rg,
  teamNamespace,
  uai,
  vm,
} from "./fixtures.js";
import { Stack } from "./stack.js";

interface Uai {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    principalId?: string;
    clientId?: string;
    resourceId?: string;
    tenantId?: string;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

describe("UserAssignedIdentity through kubectl and azid controller", () => {
  let stack: Stack;

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    await createResourceGroup(stack);
    await Promise.all([createVm(stack, "vm-1", { type: "SystemAssigned" }), createVm(stack, "vm-2")]);
    await stack.apply(...teamNamespace(stack));
    await stack.startController({ resyncPeriod: "3s" });
  });
  after(() => stack?.close());

  const settled = (name: string) =>
    eventually(
      async () => {
        const object = await stack.get<Uai>("uai", name, NS);
        const ready = object?.status?.conditions?.find((c) => c.type === "Ready");
        assert.equal(
          object?.status?.observedGeneration,
          object?.metadata.generation,
          "observed the last spec",
        );
        assert.equal(ready?.status, "True", JSON.stringify(object?.status?.conditions));
        return object as Uai;
      },
      60_000,
      `${name} Ready`,
    );

  test("create: Ready with its credential, grant, attachment and Graph role in Azure", async () => {
    await stack.apply(
      uai(stack, "orders", {
        roleAssignments: [{ role: "Reader", scope: rg(stack) }],
        federatedCredentials: [
          {
            name: "aks",
            issuer: "https://oidc.example.com/issuer",
            subject: "system:serviceaccount:team-a:orders",
          },
        ],
        attachTo: [vm(stack, "vm-1")],
        graphAppRoles: [{ appRole: "User.Read.All" }],
      }),
    );
    await stack.waitReady("uai", NS);
    const orders = await settled("orders");
    const principal = orders.status?.principalId as string;
    const identity = await armGet(stack, identityId(stack, "orders"), "2024-11-30");
    assert.equal(identity.properties.principalId, principal);
    assert.equal(orders.status?.clientId, identity.properties.clientId);
    assert.equal(orders.status?.resourceId?.toLowerCase(), identityId(stack, "orders").toLowerCase());

    const fics = await armGet(
      stack,
      `${identityId(stack, "orders")}/federatedIdentityCredentials`,
      "2024-11-30",
    );
    assert.deepEqual(
      fics.value.map((c: { name: string }) => c.name),
      ["aks"],
    );
    assert.equal((await assignmentsOf(stack, principal)).length, 1);
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-1")), ["orders"]);
    const vm1 = await armGet(stack, vm(stack, "vm-1"), "2024-11-01");
    assert.equal(
      vm1.identity.type.replace(/\s/g, ""),
      "SystemAssigned,UserAssigned",
      "the VM's own identity is kept",
    );
    const graph = await stack.arm.request("GET", `/v1.0/servicePrincipals/${principal}/appRoleAssignments`);
    assert.equal(graph.body.value.length, 1);

    // The reason and the client id by default; the principal id with -o wide.
    const table = await stack.must(["get", "uai", "-n", NS]);
    assert.match(table, /orders\s+True\s+Reconciled\s+[0-9a-f-]{36}\s+\S+$/m, table);
    const wide = await stack.must(["get", "uai", "-n", NS, "-o", "wide"]);
    assert.match(wide, /orders\s+True\s+Reconciled\s+[0-9a-f-]{36}\s+[0-9a-f-]{36}/, wide);
    // What the controller did, as events on the object (kubectl events reads events.k8s.io).
    await eventually(
      async () => {
        const events = await stack.must(["events", "-n", NS, "--for", "userassignedidentity/orders"]);
        for (const reason of [
          "IdentityCreated",
          "CredentialWritten",
          "RoleGranted",
          "IdentityBlockChanged",
          "AppRoleGranted",
        ]) {
          assert.match(events, new RegExp(reason), events);
        }
      },
      30_000,
      "events recorded",
    );
  });

  test("change: a new role, a credential dropped, moved from vm-1 to vm-2", async () => {
    await stack.apply(
      uai(stack, "orders", {
        roleAssignments: [
          { role: "Reader", scope: rg(stack) },
          { role: "Storage Blob Data Reader", scope: rg(stack) },
        ],
        attachTo: [vm(stack, "vm-2")],
        graphAppRoles: [{ appRole: "User.Read.All" }],
      }),
    );
    const orders = await eventually(
      async () => {
        const object = await settled("orders");
        assert.equal(object.metadata.generation, 2);
        assert.deepEqual(await attachedTo(stack, vm(stack, "vm-2")), ["orders"]);
        return object;
      },
      60_000,
      "the change applied",
    );
    const principal = orders.status?.principalId as string;
    assert.equal((await assignmentsOf(stack, principal)).length, 2);
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-1")), []);
    const fics = await armGet(
      stack,
      `${identityId(stack, "orders")}/federatedIdentityCredentials`,
      "2024-11-30",
    );
    assert.deepEqual(fics.value, [], "the credential azid made and the spec dropped is gone");
    const vm1 = await armGet(stack, vm(stack, "vm-1"), "2024-11-01");
    assert.equal(
      vm1.identity.type,
      "SystemAssigned",
      "the last user-assigned identity removed changes the type",
    );
  });

  test("drift: an assignment deleted and an identity detached in the portal come back on resync", async () => {
    const orders = await settled("orders");
    const principal = orders.status?.principalId as string;
    const [first] = await assignmentsOf(stack, principal);
    assert.ok(first);
    assert.equal((await asSomeoneElse(stack, "DELETE", `${first.id}?api-version=2022-04-01`)).status, 200);
    const detach = await asSomeoneElse(stack, "PATCH", `${vm(stack, "vm-2")}?api-version=2024-11-01`, {
      body: { identity: { type: "None" } },
    });
    assert.equal(detach.status, 200, detach.text);
    await eventually(
      async () => {
        assert.equal((await assignmentsOf(stack, principal)).length, 2);
        assert.deepEqual(await attachedTo(stack, vm(stack, "vm-2")), ["orders"]);
      },
      60_000,
      "drift repaired",
    );
  });

  test("delete: detached everywhere, grants and Graph role removed, identity deleted, object gone", async () => {
    const orders = await settled("orders");
    const principal = orders.status?.principalId as string;
    await stack.must(["delete", "uai", "orders", "-n", NS, "--wait", "--timeout=60s"]);
    assert.equal(await stack.get("uai", "orders", NS), undefined);
    assert.equal(await armGet(stack, identityId(stack, "orders"), "2024-11-30"), undefined);
    assert.deepEqual(await assignmentsOf(stack, principal), []);
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-2")), []);
    const graph = await stack.arm.request("GET", `/v1.0/servicePrincipals/${principal}/appRoleAssignments`);
    assert.notEqual(graph.status, 200, "the service principal went with the identity");
  });
});
