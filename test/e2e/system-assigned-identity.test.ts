// A SystemAssignedIdentity's whole life through kubectl, with the real controller process: turned
// on beside the target's user-assigned identities, granted roles and a Graph app role, and on
// deletion turned off only when azid turned it on.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  armGet,
  asSomeoneElse,
  assignmentsOf,
  attachedTo,
  createIdentityInAzure,
  createResourceGroup,
  createVm,
  eventRecorded,
  eventually,
  identityId,
  NS,
  observed,
  ready,
  rg,
  sai,
  teamNamespace,
  vm,
} from "./fixtures.js";
import { Stack } from "./stack.js";

const appRoleAssignments = async (stack: Stack, principalId: string) =>
  (await stack.arm.request("GET", `/v1.0/servicePrincipals/${principalId}/appRoleAssignments`)).body?.value ??
  [];

describe("SystemAssignedIdentity through kubectl and azid controller", () => {
  let stack: Stack;
  const grants = (stack: Stack) => ({
    roleAssignments: [{ role: "Reader", scope: rg(stack) }],
    graphAppRoles: [{ appRole: "User.Read.All" }],
  });

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    await createResourceGroup(stack);
    // vm-shared carries someone's user-assigned identity and no system-assigned one;
    // vm-own had its system-assigned identity before azid was asked for it.
    const ops = await createIdentityInAzure(stack, "ops");
    await createVm(stack, "vm-shared", {
      type: "UserAssigned",
      userAssignedIdentities: { [identityId(stack, "ops")]: {} },
    });
    await createVm(stack, "vm-own", { type: "SystemAssigned" });
    assert.ok(ops.properties.principalId);
    await stack.apply(...teamNamespace(stack));
    await stack.startController({ resyncPeriod: "3s" });
  });
  after(() => stack?.close());

  test("enable: turned on beside the target's user-assigned identity, roles and Graph role granted", async () => {
    await stack.apply(sai(stack, "shared", vm(stack, "vm-shared"), grants(stack)));
    await stack.waitReady("sai", NS, "60s", "shared");
    const object = await ready(stack, "sai", "shared");
    const target = await armGet(stack, vm(stack, "vm-shared"), "2024-11-01");
    assert.equal(target.identity.type.replace(/\s/g, ""), "SystemAssigned,UserAssigned");
    assert.deepEqual(
      await attachedTo(stack, vm(stack, "vm-shared")),
      ["ops"],
      "the user-assigned one is kept",
    );
    const principal = target.identity.principalId as string;
    assert.equal(object.status?.principalId, principal);
    assert.equal(object.status?.tenantId, target.identity.tenantId);
    assert.equal(object.status?.enabledByAzid, true);
    const assignments = await assignmentsOf(stack, principal);
    assert.equal(assignments.length, 1);
    assert.equal(assignments[0]?.properties.scope.toLowerCase(), rg(stack).toLowerCase());
    assert.equal((await appRoleAssignments(stack, principal)).length, 1);
    assert.match(await stack.must(["get", "sai", "-n", NS]), /shared\s+True\s+Reconciled\s+[0-9a-f-]{36}/);
    await eventRecorded(stack, "systemassignedidentity", "shared", [/IdentityBlockChanged/]);
    await eventRecorded(stack, "systemassignedidentity", "shared", [/RoleGranted/]);
    await eventRecorded(stack, "systemassignedidentity", "shared", [/AppRoleGranted/]);
  });

  test("drift: a grant revoked in the portal comes back on resync", async () => {
    const object = await ready(stack, "sai", "shared");
    const principal = object.status?.principalId as string;
    const [assignment] = await assignmentsOf(stack, principal);
    assert.ok(assignment);
    assert.equal(
      (await asSomeoneElse(stack, "DELETE", `${assignment.id}?api-version=2022-04-01`)).status,
      200,
    );
    await eventually(
      async () => assert.equal((await assignmentsOf(stack, principal)).length, 1),
      30_000,
      "grant restored",
    );
  });

  test("delete: grants revoked and the identity azid turned on turned off; the user-assigned one stays", async () => {
    const object = await ready(stack, "sai", "shared");
    const principal = object.status?.principalId as string;
    await stack.must(["delete", "sai", "shared", "-n", NS, "--wait", "--timeout=60s"]);
    assert.equal(await stack.get("sai", "shared", NS), undefined);
    const target = await armGet(stack, vm(stack, "vm-shared"), "2024-11-01");
    assert.equal(target.identity.type, "UserAssigned");
    assert.equal(target.identity.principalId, undefined);
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-shared")), ["ops"]);
    assert.deepEqual(await assignmentsOf(stack, principal), []);
    const sp = await stack.arm.request("GET", `/v1.0/servicePrincipals/${principal}`);
    assert.equal(sp.status, 404, "the principal went with the system-assigned identity");
  });

  test("a target that had its system-assigned identity keeps it on delete; azid's grants go", async () => {
    const before = await armGet(stack, vm(stack, "vm-own"), "2024-11-01");
    const principal = before.identity.principalId as string;
    await stack.apply(sai(stack, "own", vm(stack, "vm-own"), grants(stack)));
    const object = await ready(stack, "sai", "own");
    assert.equal(object.status?.principalId, principal, "the existing identity is adopted");
    assert.equal(object.status?.enabledByAzid, false);
    assert.equal((await assignmentsOf(stack, principal)).length, 1);
    assert.equal((await appRoleAssignments(stack, principal)).length, 1);

    await stack.must(["delete", "sai", "own", "-n", NS, "--wait", "--timeout=60s"]);
    const after = await armGet(stack, vm(stack, "vm-own"), "2024-11-01");
    assert.equal(after.identity.type, "SystemAssigned");
    assert.equal(after.identity.principalId, principal, "the same identity, never turned off and on");
    assert.deepEqual(await assignmentsOf(stack, principal), []);
    assert.deepEqual(await appRoleAssignments(stack, principal), []);
  });

  test("a target that does not exist: TargetNotFound, then Ready once it is created", async () => {
    await stack.apply(sai(stack, "later", vm(stack, "vm-later")));
    await observed(stack, "sai", "later", (object) => {
      const ready = object.status?.conditions?.find((c) => c.type === "Ready");
      assert.equal(ready?.reason, "TargetNotFound", JSON.stringify(object.status?.conditions));
    });
    await createVm(stack, "vm-later");
    await ready(stack, "sai", "later");
    await stack.must(["delete", "sai", "later", "-n", NS, "--wait", "--timeout=60s"]);
  });
});
