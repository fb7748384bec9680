import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { armIdKey } from "../../src/api/arm-id.js";
import type { Action } from "../../src/plan/actions.js";
import { ActionResultError, applyResult } from "../../src/plan/apply-result.js";
import * as build from "../../src/plan/build.js";
import { emptyObserved, listingKey, type ObservedState } from "../../src/plan/observed.js";
import { identityIdOf, RG, SUB, vmId } from "./support/world.js";

const owner = { kind: "UserAssignedIdentity" as const, namespace: "team-a", name: "orders" };
const ID = identityIdOf("orders");
const SUBSCRIPTION_SCOPE = `/subscriptions/${SUB}`;
const identity = {
  id: ID,
  name: "orders",
  location: "westeurope",
  tags: {},
  principalId: "p-1",
  clientId: "c-1",
  tenantId: "t-1",
};
const listed = (state: ObservedState = emptyObserved()): ObservedState => ({
  ...state,
  roleAssignments: { [listingKey(SUBSCRIPTION_SCOPE, "p-1")]: [] },
  federatedCredentials: { [armIdKey(ID)]: [] },
  appRoleAssignments: { "p-1": [] },
});
const put = build.putRoleAssignment(owner, {
  scope: RG,
  name: "n-1",
  roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/r",
  principalId: "p-1",
});

describe("applyResult", () => {
  test("reads store what was read, 404 included", () => {
    let state = applyResult(emptyObserved(), build.readIdentity(owner, ID), { identity });
    assert.deepEqual(state.identities[armIdKey(ID)], identity);
    state = applyResult(state, build.readTarget(owner, vmId("vm")), {
      failure: { code: "ResourceNotFound", message: "", status: 404 },
    });
    assert.deepEqual(state.targets[armIdKey(vmId("vm"))], { state: "absent" });
    state = applyResult(state, build.listRoleAssignments(owner, SUBSCRIPTION_SCOPE, "P-1"), {
      roleAssignments: [],
    });
    assert.deepEqual(state.roleAssignments[listingKey(SUBSCRIPTION_SCOPE, "p-1")], []);
  });

  test("a read without its field is an act-layer bug, reported as such", () => {
    assert.throws(() => applyResult(emptyObserved(), build.readIdentity(owner, ID), {}), ActionResultError);
  });

  test("a create stores the identity with its principal and forgets its credentials until re-read", () => {
    const state = applyResult(listed(), build.createIdentity(owner, ID, "westeurope", {}), { identity });
    assert.equal(state.identities[armIdKey(ID)]?.principalId, "p-1");
    assert.equal(state.federatedCredentials[armIdKey(ID)], undefined);
  });

  test("a create that made a new identity (ARM said 201) knows it has no credentials: nothing to list", () => {
    const state = applyResult(emptyObserved(), build.createIdentity(owner, ID, "westeurope", {}), {
      identity,
      federatedCredentials: [],
    });
    assert.deepEqual(state.federatedCredentials[armIdKey(ID)], []);
  });

  test("writes update the lists they belong to", () => {
    let state = applyResult(listed(), put, {});
    assert.deepEqual(
      state.roleAssignments[listingKey(SUBSCRIPTION_SCOPE, "p-1")]?.map((a) => a.name),
      ["n-1"],
    );
    const assignment = state.roleAssignments[listingKey(SUBSCRIPTION_SCOPE, "p-1")]?.[0];
    assert.equal(assignment?.principalType, "ServicePrincipal");
    state = applyResult(
      state,
      build.deleteRoleAssignment(
        owner,
        { id: assignment?.id as string, scope: RG, principalId: "p-1" },
        "cleanup",
      ),
      {},
    );
    assert.deepEqual(state.roleAssignments[listingKey(SUBSCRIPTION_SCOPE, "p-1")], []);
    state = applyResult(
      state,
      build.putFederatedCredential(owner, ID, {
        name: "a",
        issuer: "https://i",
        subject: "s",
        audiences: ["x"],
      }),
      {},
    );
    assert.deepEqual(
      state.federatedCredentials[armIdKey(ID)]?.map((c) => c.name),
      ["a"],
    );
    state = applyResult(state, build.deleteFederatedCredential(owner, ID, "A"), {});
    assert.deepEqual(state.federatedCredentials[armIdKey(ID)], []);
    state = applyResult(state, build.deleteIdentity(owner, ID, "cleanup"), {});
    assert.equal(state.identities[armIdKey(ID)], null);
  });

  test("a Graph grant needs the assignment id Graph returns", () => {
    const grant = build.grantAppRole(owner, {
      tenantId: "t-1",
      principalId: "p-1",
      resourceServicePrincipalId: "g",
      appRoleId: "r",
      label: "User.Read.All",
    });
    assert.throws(() => applyResult(listed(), grant, {}), ActionResultError);
    const state = applyResult(listed(), grant, {
      appRoleAssignment: { id: "x", principalId: "p-1", resourceId: "g", appRoleId: "r" },
    });
    assert.deepEqual(
      state.appRoleAssignments["p-1"]?.map((a) => a.id),
      ["x"],
    );
  });

  test("a PATCH stores the response's identity block, or what it expected", () => {
    const patch = build.patchResourceIdentity(
      owner,
      vmId("vm"),
      "attach",
      { type: "UserAssigned", userAssignedIdentities: { [ID]: {} } },
      { type: "UserAssigned", userAssignedIdentities: { [ID]: {} } },
      "attachments",
    );
    const state = applyResult(emptyObserved(), patch, {});
    assert.deepEqual(state.targets[armIdKey(vmId("vm"))], {
      state: "present",
      identity: { type: "UserAssigned", userAssignedIdentities: { [ID]: {} } },
    });
  });

  test("enabling a system-assigned identity without a response forces a re-read (its principal is Azure's)", () => {
    const patch = build.patchResourceIdentity(
      owner,
      vmId("vm"),
      "enable",
      { type: "SystemAssigned" },
      { type: "SystemAssigned" },
      "identities",
    );
    const before = { ...emptyObserved(), targets: { [armIdKey(vmId("vm"))]: { state: "present" as const } } };
    const state = applyResult(before, patch, {});
    assert.equal(state.targets[armIdKey(vmId("vm"))], undefined);
  });

  test("a failure is remembered under the action's key; a 404 on a delete means done", () => {
    const failed = applyResult(listed(), put, {
      failure: { code: "AuthorizationFailed", message: "no", status: 403 },
    });
    assert.equal(failed.failures[put.key]?.code, "AuthorizationFailed");
    const gone = applyResult(listed(), build.deleteIdentity(owner, ID, "cleanup"), {
      failure: { code: "ResourceNotFound", message: "gone", status: 404 },
    });
    assert.equal(gone.identities[armIdKey(ID)], null);
    assert.deepEqual(gone.failures, {});
  });

  test("409 RoleAssignmentExists drops the listing so that the next plan re-reads and adopts", () => {
    const state = applyResult(listed(), put, {
      failure: { code: "RoleAssignmentExists", message: "exists", status: 409 },
    });
    assert.equal(state.roleAssignments[listingKey(SUBSCRIPTION_SCOPE, "p-1")], undefined);
    assert.ok(state.failures[put.key]);
  });

  test("never changes its input", () => {
    const before = listed();
    const copy = structuredClone(before);
    const actions: Action[] = [
      put,
      build.createIdentity(owner, ID, "westeurope", {}),
      build.deleteIdentity(owner, ID, "cleanup"),
    ];
    for (const action of actions)
      applyResult(before, action, action.kind === "CreateIdentity" ? { identity } : {});
    assert.deepEqual(before, copy);
  });
});
