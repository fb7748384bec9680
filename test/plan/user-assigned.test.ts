import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { armIdKey } from "../../src/api/arm-id.js";
import { builtinRoleByName } from "../../src/api/builtin-roles.js";
import { roleAssignmentName } from "../../src/api/names.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import type { Action, PatchResourceIdentity, PutRoleAssignment } from "../../src/plan/actions.js";
import { applyResult } from "../../src/plan/apply-result.js";
import { emptyObserved, type ObservedState } from "../../src/plan/observed.js";
import type { Notice } from "../../src/plan/plan-types.js";
import { evaluatePolicy } from "../../src/plan/policy.js";
import { planUserAssignedIdentity } from "../../src/plan/user-assigned.js";
import {
  ALLOWED,
  condition,
  context,
  customRole,
  customRolePlan,
  uai,
  uaiPlan,
} from "./support/resources.js";
import { GRAPH_APP_ID, identityIdOf, NEW_TENANT, RG, SUB, vmId, World } from "./support/world.js";

const READER = builtinRoleByName("Reader")?.guid as string;
const CONTRIBUTOR = builtinRoleByName("Storage Blob Data Reader")?.guid as string;
const ISSUER = "https://oidc.example.com/issuer";
const fic = (name: string, subject = `system:serviceaccount:team-a:${name}`) => ({
  name,
  issuer: ISSUER,
  subject,
  audiences: ["api://AzureADTokenExchange"],
});
const full = () =>
  uai({
    tags: { team: "a" },
    roleAssignments: [
      { role: "Reader", scope: RG },
      { role: "Storage Blob Data Reader", scope: `${RG}/providers/Microsoft.Storage/storageAccounts/orders` },
    ],
    federatedCredentials: [fic("aks"), fic("ci-main")],
    attachTo: [vmId("vm-1")],
    graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRole: "User.Read.All" }],
  });

const kinds = (actions: readonly Action[]) => actions.map((a) => a.kind);
const writeKinds = (actions: readonly Action[]) => kinds(actions).filter((k) => !/^(Read|List|Find)/.test(k));
const roundOf = (steps: Array<{ round: number; action: Action }>, predicate: (a: Action) => boolean) =>
  steps.find((s) => predicate(s.action))?.round ?? -1;

/** Converges `resource` against `world` and returns the run plus the resource with its new status. */
function converge(world: World, resource: UserAssignedIdentity, ctx = context()) {
  const run = world.converge(uaiPlan(resource, ctx), resource.status);
  return { run, resource: { ...resource, status: run.final.status } };
}

describe("UserAssignedIdentity planner: creation and steady state", () => {
  test("converges from nothing to exactly the declared state, Ready", () => {
    const world = new World();
    world.addVm("vm-1", { type: "SystemAssigned", principalId: "s", tenantId: world.tenantId });
    const { run } = converge(world, full());
    const identity = world.identities.get(armIdKey(identityIdOf("orders")));
    assert.ok(identity);
    assert.deepEqual(identity.tags, { team: "a" });
    assert.deepEqual(
      world.credentials
        .get(armIdKey(identity.id))
        ?.map((c) => c.name)
        .sort(),
      ["aks", "ci-main"],
    );
    assert.deepEqual(
      world.assignments.map((a) => a.name).sort(),
      [
        roleAssignmentName(RG, READER, identity.principalId),
        roleAssignmentName(
          `${RG}/providers/Microsoft.Storage/storageAccounts/orders`,
          CONTRIBUTOR,
          identity.principalId,
        ),
      ].sort(),
    );
    assert.ok(world.assignments.every((a) => a.principalType === "ServicePrincipal"));
    const vm = world.targets.get(armIdKey(vmId("vm-1")))?.identity;
    assert.equal(vm?.type, "SystemAssigned, UserAssigned", "the VM keeps its system-assigned identity");
    assert.deepEqual(Object.keys(vm?.userAssignedIdentities ?? {}), [armIdKey(identity.id)]);
    assert.equal(world.appRoleAssignments.length, 1);
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
    assert.equal(run.final.status.principalId, identity.principalId);
    assert.equal(run.final.status.clientId, identity.clientId);
  });

  test("a resync of a converged identity costs reads only", () => {
    const world = new World();
    world.addVm("vm-1");
    const { resource } = converge(world, full());
    const writesBefore = world.writes();
    const again = world.converge(uaiPlan(resource), resource.status);
    assert.equal(world.writes(), writesBefore, "no ARM or Graph write on resync");
    assert.ok(again.steps.length > 0 && again.steps.every((s) => /^(Read|List)/.test(s.action.kind)));
    assert.equal(condition(again.final.status, "Ready")?.status, "True");
  });

  test("a complete observed state that matches gives an empty plan", () => {
    const world = new World();
    world.addVm("vm-1");
    const { run, resource } = converge(world, full());
    const plan = planUserAssignedIdentity(resource, run.observed, context());
    assert.deepEqual(plan.actions, []);
  });

  test("grants wait for the principal id, which the create's response carries", () => {
    const resource = uai({
      roleAssignments: [{ role: "Reader", scope: RG }],
      federatedCredentials: [fic("aks")],
    });
    let observed = emptyObserved();
    const first = planUserAssignedIdentity(resource, observed, context());
    assert.deepEqual(kinds(first.actions), ["ReadSubscription", "ReadIdentity"]);
    observed = applyResult(observed, first.actions[0] as Action, {
      subscription: { subscriptionId: SUB, tenantId: "t" },
    });
    observed = applyResult(observed, first.actions[1] as Action, { identity: null });
    const second = planUserAssignedIdentity({ ...resource, status: first.status }, observed, context());
    assert.deepEqual(writeKinds(second.actions), ["CreateIdentity"]);
    assert.equal(second.status.roleAssignments?.[0]?.state, "Pending");
    observed = applyResult(observed, second.actions[0] as Action, {
      identity: {
        id: identityIdOf("orders"),
        name: "orders",
        location: "westeurope",
        tags: {},
        principalId: "p-1",
        clientId: "c-1",
        tenantId: "t",
      },
    });
    const third = planUserAssignedIdentity({ ...resource, status: second.status }, observed, context());
    assert.deepEqual(kinds(third.actions).sort(), ["ListFederatedCredentials", "ListRoleAssignments"]);
  });

  test("the role assignment is PUT under its deterministic name with principalType ServicePrincipal", () => {
    const world = new World();
    const { run } = converge(
      world,
      uai({ roleAssignments: [{ role: "Reader", scope: RG, description: "read" }] }),
    );
    const put = run.steps
      .map((s) => s.action)
      .find((a): a is PutRoleAssignment => a.kind === "PutRoleAssignment");
    const principal = run.final.status.principalId as string;
    assert.equal(put?.name, roleAssignmentName(RG, READER, principal));
    assert.equal(put?.principalType, "ServicePrincipal");
    assert.equal(
      put?.roleDefinitionId,
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
    );
    assert.equal(put?.assignmentDescription, "read");
    assert.deepEqual(put?.limits, [{ class: "write", subscriptionId: SUB }]);
  });

  test("federated credential writes are serialised per identity and charged to ficWrite", () => {
    const world = new World();
    const { run } = converge(
      world,
      uai({ federatedCredentials: [fic("fic-1"), fic("fic-2"), fic("fic-3")] }),
    );
    const puts = run.steps.map((s) => s.action).filter((a) => a.kind === "PutFederatedCredential");
    assert.equal(puts.length, 3);
    assert.equal(new Set(puts.map((a) => a.serialKey)).size, 1);
    assert.ok(puts.every((a) => a.limits.some((l) => l.class === "ficWrite" && l.resourceId)));
  });

  test("identity creation is charged to the identityCreate bucket of its region", () => {
    const world = new World();
    const { run } = converge(world, uai({ location: "West Europe" }));
    const create = run.steps.find((s) => s.action.kind === "CreateIdentity")?.action;
    assert.deepEqual(create?.limits, [
      { class: "write", subscriptionId: SUB },
      { class: "identityCreate", subscriptionId: SUB, region: "westeurope" },
    ]);
  });
});

describe("UserAssignedIdentity planner: role assignments", () => {
  test("adopts an assignment with the same scope, role and principal under another name", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    world.addAssignment({
      name: "99999999-9999-4999-8999-999999999999",
      scope: RG,
      roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
      principalId: identity.principalId,
    });
    const { run } = converge(
      world,
      uai({
        roleAssignments: [
          { role: "Reader", scope: RG.toUpperCase().replace("/SUBSCRIPTIONS/", "/subscriptions/") },
        ],
      }),
    );
    assert.ok(!world.writeKinds().includes("PutRoleAssignment"));
    assert.equal(world.assignments.length, 1);
    const entry = run.final.status.roleAssignments?.[0];
    assert.equal(entry?.state, "Ready");
    assert.equal(entry?.owned, false);
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
  });

  test("a 409 RoleAssignmentExists re-reads and adopts instead of retrying the PUT", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    const resource = uai({ roleAssignments: [{ role: "Reader", scope: RG }] });
    // Someone else creates the same assignment between azid's list and its PUT.
    let raced = false;
    const run = world.converge((observed: ObservedState, status: UserAssignedIdentity["status"]) => {
      const plan = planUserAssignedIdentity(
        { ...resource, ...(status ? { status } : {}) },
        observed,
        context(),
      );
      if (!raced && plan.actions.some((a) => a.kind === "PutRoleAssignment")) {
        raced = true;
        world.addAssignment({
          name: "88888888-8888-4888-8888-888888888888",
          scope: RG,
          roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
          principalId: identity.principalId,
        });
      }
      return plan;
    });
    assert.ok(raced);
    assert.equal(
      run.steps.filter((s) => s.action.kind === "PutRoleAssignment").length,
      1,
      "one PUT, no 409 loop",
    );
    assert.equal(run.final.status.roleAssignments?.[0]?.state, "Ready");
    assert.equal(run.final.status.roleAssignments?.[0]?.owned, false);
  });

  test("an assignment dropped from the spec is deleted when azid made it, kept when it was adopted", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    const storage = `${RG}/providers/Microsoft.Storage/storageAccounts/orders`;
    world.addAssignment({
      name: "77777777-7777-4777-8777-777777777777",
      scope: storage,
      roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
      principalId: identity.principalId,
    });
    const before = uai({
      roleAssignments: [
        { role: "Reader", scope: RG },
        { role: "Reader", scope: storage },
      ],
    });
    const { resource } = converge(world, before);
    assert.equal(world.assignments.length, 2);
    converge(world, { ...resource, spec: { ...resource.spec, roleAssignments: [] } });
    assert.deepEqual(
      world.assignments.map((a) => a.name),
      ["77777777-7777-4777-8777-777777777777"],
      "only the adopted assignment is left",
    );
  });

  test("an azid-named assignment is removed even when the status that recorded it was lost", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    world.addAssignment({
      name: roleAssignmentName(RG, READER, identity.principalId),
      scope: RG,
      roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
      principalId: identity.principalId,
    });
    world.addAssignment({
      name: "66666666-6666-4666-8666-666666666666",
      scope: `${RG}/providers/Microsoft.Storage/storageAccounts/x`,
      roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
      principalId: identity.principalId,
    });
    converge(
      world,
      uai({
        roleAssignments: [{ role: "Reader", scope: `${RG}/providers/Microsoft.Storage/storageAccounts/x` }],
      }),
    );
    assert.deepEqual(
      world.assignments.map((a) => a.name),
      ["66666666-6666-4666-8666-666666666666"],
    );
  });

  test("a new principal gets new assignments first, then the old principal's owned ones go", () => {
    const world = new World();
    const resource = uai({ roleAssignments: [{ role: "Reader", scope: RG }] });
    const first = converge(world, resource);
    const oldPrincipal = first.run.final.status.principalId as string;
    // The identity is re-created outside azid: same id, new principal.
    world.identities.delete(armIdKey(identityIdOf("orders")));
    const fresh = world.addIdentity("orders");
    const { run } = converge(world, first.resource);
    const put = roundOf(run.steps, (a) => a.kind === "PutRoleAssignment");
    const del = roundOf(run.steps, (a) => a.kind === "DeleteRoleAssignment");
    assert.ok(put >= 0 && del > put, `create (round ${put}) comes before delete (round ${del})`);
    assert.deepEqual(
      world.assignments.map((a) => a.principalId),
      [fresh.principalId],
    );
    assert.notEqual(fresh.principalId, oldPrincipal);
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
  });

  test("a changed condition updates the assignment under its own name", () => {
    const world = new World();
    const { resource } = converge(world, uai({ roleAssignments: [{ role: "Reader", scope: RG }] }));
    const name = world.assignments[0]?.name;
    const cond = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'x'";
    converge(world, {
      ...resource,
      spec: { ...resource.spec, roleAssignments: [{ role: "Reader", scope: RG, condition: cond }] },
    });
    assert.equal(world.assignments.length, 1);
    assert.equal(world.assignments[0]?.name, name);
    assert.equal(world.assignments[0]?.condition, cond);
    assert.equal(world.assignments[0]?.conditionVersion, "2.0");
  });

  test("a CustomRole grant waits until the role definition exists, then grants it", () => {
    const world = new World();
    const role = customRole();
    const ctx = context({ customRoles: [role] });
    const resource = uai({ roleAssignments: [{ customRoleRef: { name: "orders-reader" }, scope: RG }] });
    const waiting = converge(world, resource, ctx);
    assert.equal(waiting.run.final.status.roleAssignments?.[0]?.state, "Pending");
    assert.match(
      waiting.run.final.status.roleAssignments?.[0]?.message ?? "",
      /waiting for CustomRole orders-reader/,
    );
    assert.equal(condition(waiting.run.final.status, "RolesGranted")?.reason, "Waiting");
    world.converge(customRolePlan(role, ctx)); // the CustomRole's own planner creates the definition
    converge(world, waiting.resource, ctx);
    assert.equal(world.assignments.length, 1);
    assert.match(world.assignments[0]?.roleDefinitionId ?? "", /roleDefinitions\/[0-9a-f-]{36}$/);
  });

  test("an owned assignment of a role looked up by name is not removed while the lookup runs", () => {
    const world = new World();
    world.definitions.set("12345678-1234-4234-8234-123456789012", {
      id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/12345678-1234-4234-8234-123456789012`,
      name: "12345678-1234-4234-8234-123456789012",
      roleName: "Team Reader",
      type: "CustomRole",
      permissions: [{ actions: ["*/read"] }],
      assignableScopes: [`/subscriptions/${SUB}`],
    });
    const { resource, run } = converge(world, uai({ roleAssignments: [{ role: "Team Reader", scope: RG }] }));
    assert.equal(world.assignments.length, 1);
    // The lookup fails this time (throttled): the assignment must not look undeclared.
    const lookup = `FindRoleDefinitions:${SUB}|team reader`;
    const observed = {
      ...run.observed,
      roleDefinitionsByName: {},
      failures: { [lookup]: { code: "TooManyRequests", message: "slow down", status: 429 } },
    };
    const plan = planUserAssignedIdentity(resource, observed, context());
    assert.deepEqual(writeKinds(plan.actions), [], "no removal of what may be the declared assignment");
    assert.ok(
      plan.status.roleAssignments?.some((entry) => entry.owned && entry.name === world.assignments[0]?.name),
    );
  });

  test("a role name only Azure knows is looked up before any write; a missing one stops the resource", () => {
    const world = new World();
    world.definitions.set("12345678-1234-4234-8234-123456789012", {
      id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/12345678-1234-4234-8234-123456789012`,
      name: "12345678-1234-4234-8234-123456789012",
      roleName: "Team Reader",
      type: "CustomRole",
      permissions: [{ actions: ["*/read"] }],
      assignableScopes: [`/subscriptions/${SUB}`],
    });
    const found = converge(world, uai({ roleAssignments: [{ role: "Team Reader", scope: RG }] }, "found"));
    assert.equal(world.assignments.length, 1);
    assert.match(world.assignments[0]?.roleDefinitionId ?? "", /12345678-1234-4234-8234-123456789012$/);
    assert.equal(condition(found.run.final.status, "Ready")?.status, "True");

    // A typo of a built-in role beside a good grant: nothing at all is written for the resource.
    const writes = world.writes();
    const { run } = converge(
      world,
      uai(
        {
          roleAssignments: [
            { role: "Reader", scope: RG },
            { role: "Storage Blob Data Raeder", scope: RG },
          ],
        },
        "typo",
      ),
    );
    assert.equal(world.writes(), writes, "no identity, no grant");
    const ready = condition(run.final.status, "Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "RoleNotFound");
    assert.match(
      ready?.message ?? "",
      /role "Storage Blob Data Raeder" does not exist in subscription .*\(did you mean "Storage Blob Data Reader"\?\)/,
    );
    assert.doesNotMatch(ready?.message ?? "", /privileged/);
  });
});

describe("UserAssignedIdentity planner: a CustomRole that does not exist yet", () => {
  test("its grant waits with CustomRoleNotFound (not a refusal); the rest is made", () => {
    const world = new World();
    const { run } = converge(
      world,
      uai({
        roleAssignments: [
          { role: "Reader", scope: RG },
          { customRoleRef: { name: "ghost" }, scope: RG },
        ],
      }),
    );
    const ghost = run.final.status.roleAssignments?.find((r) => r.state !== "Ready");
    assert.equal(ghost?.state, "Pending");
    assert.match(ghost?.message ?? "", /CustomRole ghost does not exist in this namespace: waiting for it/);
    assert.equal(condition(run.final.status, "RolesGranted")?.reason, "CustomRoleNotFound");
    assert.equal(world.assignments.length, 1, "Reader is granted");
  });
});

describe("UserAssignedIdentity planner: federated credentials", () => {
  test("writes the declared credentials, updates a changed one and deletes only owned ones", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    world.credentials.set(armIdKey(identity.id), [
      {
        name: "manual",
        issuer: "https://other.example.com",
        subject: "x",
        audiences: ["api://AzureADTokenExchange"],
      },
    ]);
    const first = converge(world, uai({ federatedCredentials: [fic("aks"), fic("ci-main")] }));
    const second = converge(world, {
      ...first.resource,
      spec: {
        ...first.resource.spec,
        federatedCredentials: [fic("aks", "system:serviceaccount:team-a:renamed")],
      },
    });
    const names = world.credentials
      .get(armIdKey(identity.id))
      ?.map((c) => `${c.name}=${c.subject}`)
      .sort();
    assert.deepEqual(names, ["aks=system:serviceaccount:team-a:renamed", "manual=x"]);
    assert.equal(condition(second.run.final.status, "CredentialsReady")?.status, "True");
  });

  test("an issuer and subject used by a credential azid does not manage fails without a write", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    world.credentials.set(armIdKey(identity.id), [
      { ...fic("manual", "s"), audiences: ["api://AzureADTokenExchange"] },
    ]);
    const { run } = converge(world, uai({ federatedCredentials: [fic("aks", "s")] }));
    assert.ok(!world.writeKinds().includes("PutFederatedCredential"));
    const entry = run.final.status.federatedCredentials?.[0];
    assert.equal(entry?.state, "Failed");
    assert.match(entry?.message ?? "", /already used by federated credential manual/);
  });

  test("credentials beyond Azure's 20 per identity fail without a write", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    world.credentials.set(
      armIdKey(identity.id),
      Array.from({ length: 20 }, (_, i) => ({ ...fic(`manual-${i}`, `s${i}`) })),
    );
    const { run } = converge(world, uai({ federatedCredentials: [fic("aks")] }));
    assert.ok(!world.writeKinds().includes("PutFederatedCredential"));
    assert.match(run.final.status.federatedCredentials?.[0]?.message ?? "", /at most 20/);
  });
});

describe("UserAssignedIdentity planner: attachments", () => {
  const attach = (targets: string[]) => uai({ attachTo: targets });

  test("PATCHes only the identity, keeping the system-assigned and other user-assigned identities", () => {
    const world = new World();
    const other = world.addIdentity("other");
    world.addVm("vm-1", {
      type: "SystemAssigned, UserAssigned",
      principalId: "sys",
      tenantId: world.tenantId,
      userAssignedIdentities: { [other.id.toUpperCase().replace("/SUBSCRIPTIONS/", "/subscriptions/")]: {} },
    });
    const { run } = converge(world, attach([vmId("vm-1")]));
    const patch = run.steps
      .map((s) => s.action)
      .find((a): a is PatchResourceIdentity => a.kind === "PatchResourceIdentity");
    assert.deepEqual(patch?.identity, {
      type: "SystemAssigned, UserAssigned",
      userAssignedIdentities: { [identityIdOf("orders")]: {} },
    });
    const vm = world.targets.get(armIdKey(vmId("vm-1")))?.identity;
    assert.equal(vm?.principalId, "sys");
    assert.equal(Object.keys(vm?.userAssignedIdentities ?? {}).length, 2);
  });

  test("an identity already attached under another casing is recognised, not re-attached", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    world.addVm("vm-1", {
      type: "UserAssigned",
      userAssignedIdentities: { [identity.id.toUpperCase()]: {} },
    });
    const { run } = converge(world, attach([vmId("vm-1").toLowerCase()]));
    assert.deepEqual(world.writeKinds(), []);
    assert.equal(run.final.status.attachments?.[0]?.state, "Ready");
    assert.equal(run.final.status.attachments?.[0]?.owned, false, "adopted, not owned");
  });

  test("Cloud Services (classic) is refused with a clear condition, without a read or a write", () => {
    const world = new World();
    world.addIdentity("orders");
    const classic = `${RG}/providers/Microsoft.ClassicCompute/domainNames/legacy`;
    const { run } = converge(world, attach([classic]));
    assert.ok(!run.steps.some((s) => s.action.kind === "ReadTarget"));
    assert.deepEqual(world.writeKinds(), []);
    const attached = condition(run.final.status, "Attached");
    assert.equal(attached?.status, "False");
    assert.equal(attached?.reason, "UnsupportedTarget");
    assert.match(run.final.status.attachments?.[0]?.message ?? "", /Cloud Services \(classic\)/);
  });

  test("an identity whose attachTo names a classic target is not created: nothing is written at all", () => {
    const world = new World();
    world.addVm("vm-1");
    const classic = `${RG}/providers/Microsoft.ClassicCompute/domainNames/legacy`;
    const { run } = converge(
      world,
      uai({ attachTo: [vmId("vm-1"), classic], roleAssignments: [{ role: "Reader", scope: RG }] }),
    );
    assert.deepEqual(world.writeKinds(), []);
    const ready = condition(run.final.status, "Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "UnsupportedTarget", ready?.message);
    assert.equal(condition(run.final.status, "Attached")?.reason, "UnsupportedTarget");
  });

  test("a missing target is reported, not created", () => {
    const world = new World();
    const { run } = converge(world, attach([vmId("ghost")]));
    assert.equal(condition(run.final.status, "Attached")?.reason, "TargetNotFound");
    assert.ok(!world.writeKinds().includes("PatchResourceIdentity"));
  });

  test("warns when a target ends with several user-assigned identities and no system-assigned one", () => {
    const world = new World();
    const other = world.addIdentity("other");
    world.addVm("vm-1", { type: "UserAssigned", userAssignedIdentities: { [other.id]: {} } });
    const { run, notices } = convergeWithNotices(world, attach([vmId("vm-1")]));
    assert.ok(
      notices.some((n) => n.reason === "NoDefaultIdentity" && n.type === "Warning"),
      "an event is asked for",
    );
    const attached = condition(run.final.status, "Attached");
    assert.equal(attached?.status, "True");
    assert.equal(attached?.reason, "NoDefaultIdentity");
    assert.match(attached?.message ?? "", /client_id/);
  });

  test("no such warning when the target keeps a system-assigned identity", () => {
    const world = new World();
    const other = world.addIdentity("other");
    world.addVm("vm-1", {
      type: "SystemAssigned, UserAssigned",
      principalId: "s",
      tenantId: world.tenantId,
      userAssignedIdentities: { [other.id]: {} },
    });
    const { run, notices } = convergeWithNotices(world, attach([vmId("vm-1")]));
    assert.ok(!notices.some((n) => n.reason === "NoDefaultIdentity"));
    assert.equal(condition(run.final.status, "Attached")?.reason, "Reconciled");
  });

  test("an attachment dropped from the spec is removed when azid made it; the last one changes the type", () => {
    const world = new World();
    world.addVm("vm-1");
    world.addVm("vm-2", { type: "SystemAssigned", principalId: "s", tenantId: world.tenantId });
    const { resource } = converge(world, attach([vmId("vm-1"), vmId("vm-2")]));
    converge(world, { ...resource, spec: { ...resource.spec, attachTo: [] } });
    assert.deepEqual(world.targets.get(armIdKey(vmId("vm-1")))?.identity?.type, "None");
    assert.deepEqual(world.targets.get(armIdKey(vmId("vm-2")))?.identity?.type, "SystemAssigned");
    assert.equal(world.targets.get(armIdKey(vmId("vm-2")))?.identity?.principalId, "s");
  });
});

/** Converges and collects the notices (events) of every plan on the way. */
function convergeWithNotices(world: World, resource: UserAssignedIdentity, ctx = context()) {
  const notices: Notice[] = [];
  const run = world.converge((observed: ObservedState, status: UserAssignedIdentity["status"]) => {
    const plan = planUserAssignedIdentity({ ...resource, ...(status ? { status } : {}) }, observed, ctx);
    notices.push(...plan.notices);
    return plan;
  }, resource.status);
  return { run, notices, resource: { ...resource, status: run.final.status } };
}

describe("UserAssignedIdentity planner: deletion", () => {
  const deleting = (resource: UserAssignedIdentity): UserAssignedIdentity => ({
    ...resource,
    metadata: { ...resource.metadata, deletionTimestamp: "2026-11-27T11:00:00Z" },
  });

  test("Delete detaches everywhere, removes owned grants, then deletes the identity; adopted grants stay", () => {
    const world = new World();
    world.addVm("vm-1");
    const pre = world.addIdentity("orders");
    // azid adopted the identity; its status says it created it (it did, before a status loss would matter).
    const createdByAzid = (r: ReturnType<typeof uai>) => ({
      ...r,
      status: { ...r.status, identityOwned: true },
    });
    world.addVm("vm-2", { type: "UserAssigned", userAssignedIdentities: { [pre.id]: {} } }); // adopted attachment
    const adopted = world.addAssignment({
      name: "55555555-5555-4555-8555-555555555555",
      scope: RG,
      roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
      principalId: pre.principalId,
    });
    const { resource } = converge(
      world,
      uai({
        roleAssignments: [
          { role: "Reader", scope: RG },
          { role: "Reader", scope: `${RG}/providers/Microsoft.Storage/storageAccounts/x` },
        ],
        attachTo: [vmId("vm-1"), vmId("vm-2")],
        graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRole: "User.Read.All" }],
      }),
    );
    assert.equal(world.assignments.length, 2);
    const { run, notices } = convergeWithNotices(world, deleting(createdByAzid(resource)));
    assert.equal(world.identities.size, 0);
    assert.deepEqual(world.assignments, [adopted], "the adopted assignment is not azid's to delete");
    const caching = notices.filter((n) => n.reason === "TokenCaching").map((n) => n.message);
    assert.ok(
      caching.some((m) => /tokens already issued keep them/.test(m)),
      "revocations say that tokens lag",
    );
    assert.ok(
      caching.some((m) => /tokens already issued to it stay valid/.test(m)),
      "so does the deletion",
    );
    assert.equal(world.appRoleAssignments.length, 0);
    assert.equal(world.targets.get(armIdKey(vmId("vm-1")))?.identity?.type, "None");
    assert.equal(
      world.targets.get(armIdKey(vmId("vm-2")))?.identity?.type,
      "None",
      "detached even where adopted",
    );
    const detach = Math.max(
      ...run.steps.filter((s) => s.action.kind === "PatchResourceIdentity").map((s) => s.round),
    );
    const revoke = Math.max(
      ...run.steps.filter((s) => s.action.kind === "DeleteRoleAssignment").map((s) => s.round),
    );
    const remove = roundOf(run.steps, (a) => a.kind === "DeleteIdentity");
    assert.ok(remove > detach && remove > revoke, "the identity goes last");
    assert.equal(run.final.deleted, true);
  });

  test("Delete leaves an identity azid adopted in Azure, removing only what azid made", () => {
    const world = new World();
    world.addVm("vm-1");
    world.addIdentity("orders");
    const { resource } = converge(
      world,
      uai({ roleAssignments: [{ role: "Reader", scope: RG }], attachTo: [vmId("vm-1")] }),
    );
    assert.equal(resource.status?.identityOwned, undefined, "found, not created");
    const { run, notices } = convergeWithNotices(world, deleting(resource));
    assert.equal(world.identities.size, 1, "the adopted identity stays");
    assert.deepEqual(world.assignments, [], "the grant azid made is revoked");
    assert.equal(
      world.targets.get(armIdKey(vmId("vm-1")))?.identity?.type,
      "None",
      "and its attachment removed",
    );
    assert.ok(notices.some((n) => /azid adopted it and did not create it/.test(n.message)));
    assert.equal(run.final.deleted, true);
  });

  test("an identity azid creates is recorded as its own", () => {
    const world = new World();
    const { resource } = converge(world, uai());
    assert.equal(resource.status?.identityOwned, true);
  });

  test("the identity is deleted only after it is detached everywhere", () => {
    const world = new World();
    world.addVm("vm-1");
    world.addVm("vm-2");
    const { resource } = converge(world, uai({ attachTo: [vmId("vm-1"), vmId("vm-2")] }));
    const { run } = converge(world, deleting(resource));
    const detached = Math.max(
      ...run.steps.filter((s) => s.action.kind === "PatchResourceIdentity").map((s) => s.round),
    );
    assert.ok(roundOf(run.steps, (a) => a.kind === "DeleteIdentity") > detached);
    assert.equal(world.targets.get(armIdKey(vmId("vm-2")))?.identity?.type, "None");
    assert.equal(world.identities.size, 0);
  });

  test("the finalizer stays while a removal fails", () => {
    const world = new World();
    const { resource, run } = converge(world, uai({ roleAssignments: [{ role: "Reader", scope: RG }] }));
    const assignment = world.assignments[0];
    assert.ok(assignment);
    const observed = {
      ...run.observed,
      failures: {
        [`DeleteRoleAssignment:${armIdKey(assignment.id)}`]: {
          code: "AuthorizationFailed",
          message: "no",
          status: 403,
        },
      },
    };
    const plan = planUserAssignedIdentity(deleting(resource), observed, context());
    assert.deepEqual(writeKinds(plan.actions), []);
    assert.equal(plan.deleted, false);
    assert.equal(condition(plan.status, "Ready")?.reason, "MissingPermission");
  });

  test("deleting after a tenant move detaches and deletes without chasing the old tenant's grants", () => {
    const world = new World();
    world.addVm("vm-1");
    const { resource } = converge(
      world,
      uai({
        attachTo: [vmId("vm-1")],
        graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRole: "User.Read.All" }],
      }),
    );
    world.moveTenant();
    const { run } = converge(world, deleting(resource));
    assert.equal(world.identities.size, 0);
    assert.ok(!run.steps.some((s) => /AppRole/.test(s.action.kind)), "no Graph call into the old tenant");
    assert.equal(run.final.deleted, true);
  });

  test("Orphan leaves Azure alone", () => {
    const world = new World();
    const { resource } = converge(world, uai({ roleAssignments: [{ role: "Reader", scope: RG }] }));
    const writes = world.writes();
    const { run } = converge(
      world,
      deleting({ ...resource, spec: { ...resource.spec, deletionPolicy: "Orphan" } }),
    );
    assert.equal(world.writes(), writes);
    assert.equal(run.steps.length, 0, "not even a read");
    assert.equal(run.final.deleted, true);
    assert.equal(world.identities.size, 1);
  });
});

describe("UserAssignedIdentity planner: ObserveOnly", () => {
  test("writes nothing and reports drift", () => {
    const world = new World();
    world.addIdentity("orders");
    world.addVm("vm-1");
    const { run } = converge(
      world,
      uai({
        managementPolicy: "ObserveOnly",
        tags: { team: "a" },
        roleAssignments: [{ role: "Reader", scope: RG }],
        attachTo: [vmId("vm-1")],
      }),
    );
    assert.deepEqual(world.writeKinds(), []);
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
    assert.equal(condition(run.final.status, "Ready")?.reason, "Drifted");
    assert.equal(condition(run.final.status, "RolesGranted")?.reason, "Drifted");
    assert.equal(condition(run.final.status, "Attached")?.reason, "Drifted");
    assert.equal(condition(run.final.status, "IdentityReady")?.reason, "Drifted");
  });

  test("reports a missing identity instead of creating it", () => {
    const world = new World();
    const { run } = converge(world, uai({ managementPolicy: "ObserveOnly" }));
    assert.deepEqual(world.writeKinds(), []);
    assert.equal(condition(run.final.status, "Ready")?.status, "False");
    assert.equal(condition(run.final.status, "Ready")?.reason, "IdentityNotFound");
  });

  test("in sync: Ready with reason Observed", () => {
    const world = new World();
    world.addIdentity("orders");
    const { run } = converge(world, uai({ managementPolicy: "ObserveOnly" }));
    assert.equal(condition(run.final.status, "Ready")?.reason, "Observed");
  });
});

describe("UserAssignedIdentity planner: identity properties", () => {
  test("sets declared tags, removes tags azid set before, leaves the others", () => {
    const world = new World();
    const identity = world.addIdentity("orders");
    identity.tags = { owner: "platform" };
    const first = converge(world, uai({ tags: { team: "a", env: "prod" } }));
    assert.deepEqual(identity.tags, { owner: "platform", team: "a", env: "prod" });
    converge(world, { ...first.resource, spec: { ...first.resource.spec, tags: { team: "b" } } });
    assert.deepEqual(identity.tags, { owner: "platform", team: "b" });
  });

  test("a region that differs is reported, never 'fixed'", () => {
    const world = new World();
    world.addIdentity("orders", "app-rg", "northeurope");
    const { run } = converge(world, uai({ location: "westeurope" }));
    assert.deepEqual(world.writeKinds(), []);
    assert.equal(condition(run.final.status, "IdentityReady")?.reason, "LocationMismatch");
  });

  test("a changed resource group creates, attaches and grants the new identity before removing the old", () => {
    const world = new World();
    world.addVm("vm-1");
    const declared = {
      roleAssignments: [{ role: "Reader", scope: RG }],
      federatedCredentials: [fic("aks")],
      attachTo: [vmId("vm-1")],
    };
    const first = converge(world, uai(declared));
    const oldId = identityIdOf("orders");
    const { run } = converge(world, {
      ...first.resource,
      spec: { ...first.resource.spec, resourceGroup: "new-rg" },
    });
    const newId = identityIdOf("orders", "new-rg");
    const at = (kind: string, id?: string) =>
      roundOf(
        run.steps,
        (a) =>
          a.kind === kind && (id === undefined || JSON.stringify(a).toLowerCase().includes(id.toLowerCase())),
      );
    assert.ok(at("CreateIdentity", newId) < at("PutRoleAssignment"));
    assert.ok(at("PutRoleAssignment") < at("DeleteRoleAssignment"), "grant new before revoking old");
    assert.ok(at("PutFederatedCredential") < at("DeleteIdentity", oldId));
    assert.ok(at("DeleteRoleAssignment") < at("DeleteIdentity", oldId));
    assert.deepEqual([...world.identities.keys()], [armIdKey(newId)]);
    const vm = world.targets.get(armIdKey(vmId("vm-1")))?.identity;
    assert.deepEqual(Object.keys(vm?.userAssignedIdentities ?? {}), [armIdKey(newId)]);
    const identity = world.identities.get(armIdKey(newId));
    assert.deepEqual(
      world.assignments.map((a) => a.principalId),
      [identity?.principalId],
    );
    assert.equal(run.final.status.previousIdentities, undefined);
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
  });
});

describe("UserAssignedIdentity planner: tenant move", () => {
  const declared = () =>
    uai({
      roleAssignments: [{ role: "Reader", scope: RG }],
      federatedCredentials: [fic("aks")],
      attachTo: [vmId("vm-1")],
      graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRole: "User.Read.All" }],
    });

  test("without approval: TenantMismatch with old and new tenant, and no write", () => {
    const world = new World();
    world.addVm("vm-1");
    const { resource } = converge(world, declared());
    world.moveTenant();
    const writes = world.writes();
    const { run, notices } = convergeWithNotices(world, resource);
    assert.equal(world.writes(), writes);
    const mismatch = condition(run.final.status, "TenantMismatch");
    assert.equal(mismatch?.status, "True");
    assert.match(mismatch?.message ?? "", new RegExp(`${NEW_TENANT}`));
    assert.match(mismatch?.message ?? "", /aaaaaaaa-aaaa/);
    assert.equal(condition(run.final.status, "Ready")?.reason, "RepairAwaitingApproval");
    assert.ok(notices.some((n) => n.reason === "TenantMoved"));
  });

  test("with repair allowed: detach, delete, re-create, credentials, attach and grants, in that order", () => {
    const world = new World();
    world.addVm("vm-1");
    const first = converge(world, declared());
    const oldPrincipal = first.run.final.status.principalId;
    world.moveTenant();
    const { run } = converge(world, first.resource, context({ allowTenantRepair: true }));
    const order = [
      roundOf(run.steps, (a) => a.kind === "PatchResourceIdentity"),
      roundOf(run.steps, (a) => a.kind === "DeleteIdentity"),
      roundOf(run.steps, (a) => a.kind === "CreateIdentity"),
      roundOf(run.steps, (a) => a.kind === "PutFederatedCredential"),
      roundOf(run.steps, (a) => a.kind === "PutRoleAssignment"),
    ];
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      `rounds ${order}`,
    );
    const identity = world.identities.get(armIdKey(identityIdOf("orders")));
    assert.equal(identity?.tenantId, NEW_TENANT);
    assert.notEqual(identity?.principalId, oldPrincipal);
    assert.equal(run.final.status.principalId, identity?.principalId, "the new principal flows into status");
    assert.deepEqual(
      world.assignments.map((a) => a.principalId),
      [identity?.principalId],
    );
    assert.deepEqual(
      world.appRoleAssignments.map((a) => a.principalId),
      [identity?.principalId],
    );
    assert.equal(world.credentials.get(armIdKey(identityIdOf("orders")))?.length, 1);
    const vm = world.targets.get(armIdKey(vmId("vm-1")))?.identity;
    assert.deepEqual(Object.keys(vm?.userAssignedIdentities ?? {}), [armIdKey(identityIdOf("orders"))]);
    assert.equal(condition(run.final.status, "TenantMismatch")?.status, "False");
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
  });

  test("the tenant recorded in status also reveals a move", () => {
    const world = new World();
    const { resource } = converge(world, uai());
    const status = { ...resource.status, tenantId: "cccccccc-cccc-cccc-cccc-cccccccccccc" };
    const { run } = converge(world, { ...resource, status });
    assert.equal(condition(run.final.status, "TenantMismatch")?.status, "True");
  });
});

describe("UserAssignedIdentity planner: policy and failures", () => {
  test("a resource-level refusal touches nothing in Azure, not even a read", () => {
    const resource = uai({ roleAssignments: [{ role: "Reader", scope: RG }] });
    const policy = evaluatePolicy(resource, { namespaceLabels: {}, policies: [], customRoles: [] });
    const plan = planUserAssignedIdentity(resource, emptyObserved(), context({ policy }));
    assert.deepEqual(plan.actions, []);
    assert.equal(condition(plan.status, "PolicyViolation")?.status, "True");
    assert.match(condition(plan.status, "PolicyViolation")?.message ?? "", /default deny/);
    assert.equal(condition(plan.status, "Ready")?.reason, "PolicyDenied");
  });

  test("an item refusal blocks every write of the resource and names the rule", () => {
    const world = new World();
    const resource = uai({
      roleAssignments: [
        { role: "Reader", scope: RG },
        { role: "Owner", scope: RG },
      ],
    });
    const policy = {
      ...ALLOWED,
      allowed: false,
      violations: [
        {
          field: "spec.roleAssignments[1]",
          item: { list: "roleAssignments" as const, index: 1 },
          rule: "privileged role",
          message: "Owner is refused",
        },
      ],
    };
    const { run, notices } = convergeWithNotices(world, resource, context({ policy }));
    assert.deepEqual(world.writeKinds(), []);
    assert.ok(
      notices.some(
        (n) => n.type === "Warning" && n.reason === "PolicyDenied" && /privileged role/.test(n.message),
      ),
    );
    assert.equal(run.final.status.roleAssignments?.[1]?.state, "Refused");
    assert.match(run.final.status.roleAssignments?.[1]?.message ?? "", /privileged role/);
    assert.equal(condition(run.final.status, "PolicyViolation")?.status, "True");
  });

  test("a failed write is not retried within the reconcile and its reason reaches the condition", () => {
    const cases: Array<[string, string]> = [
      ["RequestDisallowedByPolicy", "AzurePolicyDenied"],
      ["AuthorizationFailed", "MissingPermission"],
      ["LinkedAuthorizationFailed", "MissingPermission"],
      ["RoleAssignmentLimitExceeded", "RoleAssignmentLimitExceeded"],
      ["PrincipalNotFound", "PrincipalNotFound"],
      ["TooManyRequests", "Throttled"],
    ];
    for (const [code, reason] of cases) {
      const world = new World();
      world.addIdentity("orders");
      let puts = 0;
      const run = world.converge((observed: ObservedState, status: UserAssignedIdentity["status"]) => {
        const plan = planUserAssignedIdentity(
          { ...uai({ roleAssignments: [{ role: "Reader", scope: RG }] }), ...(status ? { status } : {}) },
          observed,
          context(),
        );
        const put = plan.actions.find((a) => a.kind === "PutRoleAssignment");
        if (put) {
          puts++;
          // The act layer reports the failure; the world is not asked.
          return { ...plan, actions: plan.actions.filter((a) => a !== put) };
        }
        return plan;
      });
      assert.equal(puts, 1);
      // Fold a failure as the act layer would and plan once more.
      const failed = planUserAssignedIdentity(
        { ...uai({ roleAssignments: [{ role: "Reader", scope: RG }] }), status: run.final.status },
        {
          ...run.observed,
          failures: {
            [(
              planUserAssignedIdentity(
                uai({ roleAssignments: [{ role: "Reader", scope: RG }] }),
                run.observed,
                context(),
              ).actions.find((a) => a.kind === "PutRoleAssignment") as Action
            ).key]: { code, message: `${code} says no` },
          },
        },
        context(),
      );
      assert.deepEqual(writeKinds(failed.actions), [], code);
      assert.equal(condition(failed.status, "RolesGranted")?.reason, reason, code);
      assert.match(condition(failed.status, "RolesGranted")?.message ?? "", new RegExp(`${code} says no`));
      assert.equal(condition(failed.status, "Ready")?.status, "False");
    }
  });

  test("a credential from the old tenant is named as the cause", () => {
    const observed = {
      ...emptyObserved(),
      failures: {
        [`ReadSubscription:${SUB}`]: {
          code: "InvalidAuthenticationTokenTenant",
          message: "The access token is from the wrong issuer",
          status: 401,
        },
      },
    };
    const plan = planUserAssignedIdentity(uai(), observed, context());
    assert.ok(!plan.actions.some((a) => a.kind === "ReadSubscription"), "a failed read is not asked again");
    assert.equal(condition(plan.status, "Ready")?.reason, "CredentialTenantMismatch");
  });
});

describe("UserAssignedIdentity planner: crafted input that bypassed admission", () => {
  const crafted: Array<[string, Partial<UserAssignedIdentity["spec"]>]> = [
    ["an identity name climbing out of its group", { name: "../../../other-rg/providers/x/y/z" }],
    ["a resource group with a query", { resourceGroup: "rg?api-version=2015-01-01" }],
    [
      "a federated credential name with a slash",
      { federatedCredentials: [{ ...fic("aks"), name: "a/../../b" }] },
    ],
    [
      "a scope in another subscription through ..",
      { roleAssignments: [{ role: "Reader", scope: `${RG}/../../22222222-2222-2222-2222-222222222222` }] },
    ],
    ["an attach target with an encoded slash", { attachTo: [`${vmId("vm-1")}%2F..%2F..%2Fother`] }],
  ];
  for (const [name, spec] of crafted) {
    test(`refuses ${name} without touching Azure`, () => {
      const plan = planUserAssignedIdentity(uai(spec), emptyObserved(), context());
      assert.deepEqual(plan.actions, []);
      assert.equal(condition(plan.status, "Ready")?.reason, "InvalidSpec");
    });
  }
});
