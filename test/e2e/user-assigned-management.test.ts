// How far a UserAssignedIdentity reaches into Azure, through kubectl and the real controller
// process: ObserveOnly adopts and reports without writing, deletionPolicy Orphan leaves Azure
// alone, a changed resourceGroup moves the identity (create, re-attach, re-grant, delete old), an
// attachment that leaves IMDS without a default identity is reported, and only what azid made is
// removed when the spec drops it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  armGet,
  armWrites,
  asSomeoneElse,
  assignmentsOf,
  attachedTo,
  conditionOf,
  createIdentityInAzure,
  createResourceGroup,
  createVm,
  eventRecorded,
  eventually,
  grantInAzure,
  identityId,
  NS,
  observed,
  ROLE,
  ready,
  rg,
  teamNamespace,
  uai,
  vm,
} from "./fixtures.js";
import { Stack } from "./stack.js";

const FIC_API = "2024-11-30";
const credential = (name: string, subject = `system:serviceaccount:${NS}:${name}`) => ({
  name,
  issuer: "https://oidc.example.com/issuer",
  subject,
});

describe("UserAssignedIdentity management and ownership through kubectl and azid controller", () => {
  let stack: Stack;
  const credentialsOf = async (name: string, group = "app-rg") =>
    (
      (await armGet(stack, `${identityId(stack, name, group)}/federatedIdentityCredentials`, FIC_API))
        ?.value ?? []
    )
      .map((c: { name: string }) => c.name)
      .sort();
  const roleGuids = async (principalId: string) =>
    (await assignmentsOf(stack, principalId))
      .map((a) => `${a.properties.roleDefinitionId.split("/").at(-1)}@${a.properties.scope.toLowerCase()}`)
      .sort();

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    await Promise.all([createResourceGroup(stack), createResourceGroup(stack, "new-rg")]);
    await Promise.all(
      ["vm-observed", "vm-orphan", "vm-move", "vm-w1", "vm-w2"].map((name) => createVm(stack, name)),
    );
    await stack.apply(...teamNamespace(stack));
    await stack.startController({ resyncPeriod: "3s" });
  });
  after(() => stack?.close());

  test("ObserveOnly adopts an existing identity, reports drift, and writes nothing", async () => {
    const legacy = await createIdentityInAzure(stack, "legacy");
    await grantInAzure(stack, legacy.properties.principalId, ROLE.Reader, rg(stack));
    const writes = armWrites(stack);
    await stack.apply(
      uai(stack, "legacy", {
        managementPolicy: "ObserveOnly",
        roleAssignments: [
          { role: "Reader", scope: rg(stack) },
          { role: "Storage Blob Data Reader", scope: rg(stack) },
        ],
        attachTo: [vm(stack, "vm-observed")],
      }),
    );
    const drifted = await observed(stack, "uai", "legacy", (object) => {
      assert.equal(
        conditionOf(object, "Ready")?.reason,
        "Drifted",
        JSON.stringify(object.status?.conditions),
      );
    });
    assert.equal(
      drifted.status?.principalId,
      legacy.properties.principalId,
      "the existing identity, adopted",
    );
    assert.equal(conditionOf(drifted, "RolesGranted")?.status, "False");
    assert.equal(conditionOf(drifted, "Attached")?.status, "False");
    const states = drifted.status?.roleAssignments.map(
      (r: { role: string; state: string }) => `${r.role}=${r.state}`,
    );
    assert.deepEqual(states.sort(), ["Reader=Ready", "Storage Blob Data Reader=Drifted"]);
    assert.deepEqual(
      drifted.status?.attachments.map((a: { state: string }) => a.state),
      ["Drifted"],
    );

    // Someone fixes Azure by hand: the drift report clears on its own.
    await grantInAzure(stack, legacy.properties.principalId, ROLE.StorageBlobDataReader, rg(stack));
    const patch = await asSomeoneElse(stack, "PATCH", `${vm(stack, "vm-observed")}?api-version=2024-11-01`, {
      body: {
        identity: { type: "UserAssigned", userAssignedIdentities: { [identityId(stack, "legacy")]: {} } },
      },
    });
    assert.equal(patch.status, 200, patch.text);
    await observed(stack, "uai", "legacy", (object) =>
      assert.equal(conditionOf(object, "Ready")?.reason, "Observed"),
    );
    const ours = armWrites(stack) - writes - 2; // the test's own grant and PATCH
    assert.equal(ours, 0, "azid wrote nothing to Azure");

    await stack.must(["delete", "uai", "legacy", "-n", NS, "--wait", "--timeout=60s"]);
    assert.ok(await armGet(stack, identityId(stack, "legacy"), FIC_API), "the identity stays");
    assert.equal((await assignmentsOf(stack, legacy.properties.principalId)).length, 2);
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-observed")), ["legacy"]);
    assert.equal(armWrites(stack) - writes - 2, 0, "deleting an observer writes nothing either");
  });

  test("deletionPolicy Orphan: the finalizer goes, Azure is left as it is", async () => {
    await stack.apply(
      uai(stack, "keeper", {
        deletionPolicy: "Orphan",
        roleAssignments: [{ role: "Reader", scope: rg(stack) }],
        federatedCredentials: [credential("keeper")],
        attachTo: [vm(stack, "vm-orphan")],
      }),
    );
    const keeper = await ready(stack, "uai", "keeper");
    assert.deepEqual(keeper.metadata.finalizers, ["azid.dev/cleanup"]);
    const writes = armWrites(stack);
    await stack.must(["delete", "uai", "keeper", "-n", NS, "--wait", "--timeout=60s"]);
    assert.equal(await stack.get("uai", "keeper", NS), undefined);
    assert.equal(armWrites(stack), writes, "no ARM write");
    assert.ok(await armGet(stack, identityId(stack, "keeper"), FIC_API));
    assert.equal((await assignmentsOf(stack, keeper.status?.principalId)).length, 1);
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-orphan")), ["keeper"]);
    assert.deepEqual(await credentialsOf("keeper"), ["keeper"]);
  });

  test("a changed resourceGroup: create in the new group, re-attach, re-grant, then delete the old", async () => {
    const spec = (resourceGroup: string) =>
      uai(stack, "mover", {
        resourceGroup,
        roleAssignments: [{ role: "Reader", scope: rg(stack) }],
        federatedCredentials: [credential("mover")],
        attachTo: [vm(stack, "vm-move")],
        graphAppRoles: [{ appRole: "User.Read.All" }],
      });
    await stack.apply(spec("app-rg"));
    const before = await ready(stack, "uai", "mover");
    const oldPrincipal = before.status?.principalId as string;

    // Deletes fail for a while: whatever happens before the old identity is deleted shows.
    stack.arm.arm.setFaults({ delete: { errorRate: 1 } });
    await stack.apply(spec("new-rg"));
    const newId = identityId(stack, "mover", "new-rg");
    const newPrincipal = await eventually(
      async () => {
        const created = await armGet(stack, newId, FIC_API);
        assert.ok(created, "the new identity is created");
        const target = await armGet(stack, vm(stack, "vm-move"), "2024-11-01");
        assert.deepEqual(
          Object.keys(target.identity.userAssignedIdentities).map((id) => id.toLowerCase()),
          [newId.toLowerCase()],
          "re-attached: the new identity replaces the old on the target",
        );
        assert.equal((await assignmentsOf(stack, created.properties.principalId)).length, 1, "re-granted");
        assert.deepEqual(await credentialsOf("mover", "new-rg"), ["mover"]);
        return created.properties.principalId as string;
      },
      60_000,
      "the new identity in place",
    );
    assert.ok(await armGet(stack, identityId(stack, "mover"), FIC_API), "the old one is not deleted yet");
    stack.arm.arm.setFaults({});

    const moved = await observed(stack, "uai", "mover", (object) => {
      assert.equal(object.metadata.generation, 2);
      assert.equal(conditionOf(object, "Ready")?.status, "True", JSON.stringify(object.status?.conditions));
    });
    assert.equal(moved.status?.principalId, newPrincipal);
    assert.equal(moved.status?.resourceId.toLowerCase(), newId.toLowerCase());
    await eventually(
      async () => assert.equal(await armGet(stack, identityId(stack, "mover"), FIC_API), undefined),
      30_000,
      "the old identity deleted",
    );
    assert.deepEqual(await assignmentsOf(stack, oldPrincipal), []);
    const graph = await stack.arm.request(
      "GET",
      `/v1.0/servicePrincipals/${newPrincipal}/appRoleAssignments`,
    );
    assert.equal(graph.body.value.length, 1);
  });

  test("an attachment that leaves IMDS without a default identity is reported", async () => {
    await createIdentityInAzure(stack, "ops");
    await createVm(stack, "vm-multi", {
      type: "UserAssigned",
      userAssignedIdentities: { [identityId(stack, "ops")]: {} },
    });
    await stack.apply(uai(stack, "second", { attachTo: [vm(stack, "vm-multi")] }));
    const second = await ready(stack, "uai", "second");
    const attached = conditionOf(second, "Attached");
    assert.equal(attached?.status, "True");
    assert.equal(attached?.reason, "NoDefaultIdentity");
    assert.match(attached?.message ?? "", /client_id/);
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-multi")), ["ops", "second"]);
    await eventRecorded(stack, "userassignedidentity", "second", [/Warning/, /NoDefaultIdentity/]);
  });

  test("items dropped from the spec are removed only when azid made them", async () => {
    const spec = (extra: Record<string, unknown>) => uai(stack, "worker", extra);
    await stack.apply(
      spec({
        roleAssignments: [
          { role: "Reader", scope: rg(stack) },
          { role: "Storage Blob Data Reader", scope: rg(stack) },
        ],
        federatedCredentials: [credential("aks")],
        attachTo: [vm(stack, "vm-w1")],
      }),
    );
    const worker = await ready(stack, "uai", "worker");
    const principal = worker.status?.principalId as string;
    const sub = `/subscriptions/${stack.subscriptionId}`;

    // Someone else grants, federates and attaches the same identity.
    await grantInAzure(stack, principal, ROLE.Reader, sub);
    await grantInAzure(stack, principal, ROLE.StorageBlobDataReader, vm(stack, "vm-w1"));
    const put = await asSomeoneElse(
      stack,
      "PUT",
      `${identityId(stack, "worker")}/federatedIdentityCredentials/portal?api-version=${FIC_API}`,
      {
        body: {
          properties: {
            issuer: "https://token.actions.githubusercontent.com",
            subject: "repo:org/app:ref:refs/heads/main",
            audiences: ["api://AzureADTokenExchange"],
          },
        },
      },
    );
    assert.equal(put.status, 201, put.text);
    const attach = await asSomeoneElse(stack, "PATCH", `${vm(stack, "vm-w2")}?api-version=2024-11-01`, {
      body: {
        identity: { type: "UserAssigned", userAssignedIdentities: { [identityId(stack, "worker")]: {} } },
      },
    });
    assert.equal(attach.status, 200, attach.text);

    // The spec now declares what someone else made (adopted) and drops a grant azid made.
    await stack.apply(
      spec({
        roleAssignments: [
          { role: "Reader", scope: rg(stack) },
          { role: "Storage Blob Data Reader", scope: vm(stack, "vm-w1") },
        ],
        federatedCredentials: [credential("aks")],
        attachTo: [vm(stack, "vm-w1"), vm(stack, "vm-w2")],
      }),
    );
    const adopted = await observed(stack, "uai", "worker", (object) => {
      assert.equal(object.metadata.generation, 2);
      assert.equal(conditionOf(object, "Ready")?.status, "True", JSON.stringify(object.status?.conditions));
    });
    const owned = (list: Array<{ owned: boolean; scope?: string; resourceId?: string }>) =>
      Object.fromEntries(
        list.map((item) => [(item.scope ?? item.resourceId ?? "").split("/").at(-1), item.owned]),
      );
    assert.deepEqual(owned(adopted.status?.roleAssignments), { "app-rg": true, "vm-w1": false });
    assert.deepEqual(owned(adopted.status?.attachments), { "vm-w1": true, "vm-w2": false });
    assert.deepEqual(
      await roleGuids(principal),
      [
        `${ROLE.Reader}@/subscriptions/${stack.subscriptionId}`,
        `${ROLE.Reader}@${rg(stack).toLowerCase()}`,
        `${ROLE.StorageBlobDataReader}@${vm(stack, "vm-w1").toLowerCase()}`,
      ].sort(),
      "azid's grant at app-rg is revoked; the one someone else made is adopted",
    );

    // Everything dropped: only azid's own items go.
    await stack.apply(
      spec({ roleAssignments: [{ role: "Reader", scope: rg(stack) }], attachTo: [vm(stack, "vm-w1")] }),
    );
    await observed(stack, "uai", "worker", (object) => {
      assert.equal(object.metadata.generation, 3);
      assert.equal(conditionOf(object, "Ready")?.status, "True", JSON.stringify(object.status?.conditions));
    });
    await eventually(
      async () => assert.deepEqual(await credentialsOf("worker"), ["portal"]),
      30_000,
      "aks removed",
    );
    assert.deepEqual(
      await roleGuids(principal),
      [
        `${ROLE.Reader}@/subscriptions/${stack.subscriptionId}`,
        `${ROLE.Reader}@${rg(stack).toLowerCase()}`,
        `${ROLE.StorageBlobDataReader}@${vm(stack, "vm-w1").toLowerCase()}`,
      ].sort(),
      "the adopted grant survives being dropped",
    );
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-w2")), ["worker"], "the adopted attachment stays");
  });
});
