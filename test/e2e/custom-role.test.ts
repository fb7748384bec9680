// A CustomRole's life through kubectl with the real controller process, and identities granting
// it by customRoleRef and by its roleName: a grant waits until the role exists in Azure.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type AzidObject,
  armGet,
  assignmentsOf,
  conditionOf,
  conditionReached,
  createResourceGroup,
  customRole,
  eventRecorded,
  NS,
  observed,
  ready,
  rg,
  teamNamespace,
  uai,
} from "./fixtures.js";
import { Stack } from "./stack.js";

const ROLE_NAME = "Orders Reader";

describe("CustomRole through kubectl and azid controller", () => {
  let stack: Stack;
  const ordersReader = (actions: string[]) =>
    customRole(stack, "orders-reader", {
      roleName: ROLE_NAME,
      description: "Reads the orders storage",
      permissions: [{ actions }],
      assignableScopes: [rg(stack)],
    });
  const definition = async (object: AzidObject) =>
    armGet(stack, object.status?.roleDefinitionId as string, "2022-04-01");

  /** The team's policy, with or without the right to define CustomRoles. */
  const teamPolicy = (allowCustomRoles: boolean) => {
    const [, policy] = teamNamespace(stack) as [object, { spec: object }];
    return { ...policy, spec: { ...policy.spec, allowCustomRoles } };
  };

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    await createResourceGroup(stack);
    await stack.apply(...teamNamespace(stack));
    await stack.apply(teamPolicy(false));
    await stack.startController({ resyncPeriod: "3s" });
  });
  after(() => stack?.close());

  test("a grant by customRoleRef waits until the CustomRole exists in Azure, then goes through", async () => {
    // Applied together, as a GitOps sync does; the role cannot be made in Azure yet (refused by policy).
    await stack.apply(
      ordersReader(["Microsoft.Storage/storageAccounts/read"]),
      uai(stack, "reporter", {
        roleAssignments: [{ customRoleRef: { name: "orders-reader" }, scope: rg(stack) }],
      }),
    );
    await conditionReached(stack, "azrole", "orders-reader", "Ready", "False", "PolicyDenied");
    const waiting = await conditionReached(stack, "uai", "reporter", "RolesGranted", "False", "Waiting");
    assert.match(
      conditionOf(waiting, "RolesGranted")?.message ?? "",
      /waiting for CustomRole orders-reader to exist in Azure/,
    );
    assert.equal(conditionOf(waiting, "IdentityReady")?.status, "True", "the identity itself is made");
    assert.deepEqual(await assignmentsOf(stack, waiting.status?.principalId), [], "nothing granted yet");

    await stack.apply(teamPolicy(true));
    const role = await ready(stack, "azrole", "orders-reader");
    const inAzure = await definition(role);
    assert.equal(inAzure.properties.roleName, ROLE_NAME);
    assert.equal(inAzure.properties.type, "CustomRole");
    assert.deepEqual(inAzure.properties.permissions[0].actions, ["Microsoft.Storage/storageAccounts/read"]);

    const reporter = await ready(stack, "uai", "reporter");
    const [assignment, ...others] = await assignmentsOf(stack, reporter.status?.principalId);
    assert.deepEqual(others, []);
    assert.equal(assignment?.properties.roleDefinitionId.toLowerCase(), inAzure.id.toLowerCase());
    await eventRecorded(stack, "customrole", "orders-reader", [/RoleDefinitionWritten/]);
  });

  test("a grant by the role's name resolves to the same definition", async () => {
    await stack.apply(uai(stack, "auditor", { roleAssignments: [{ role: ROLE_NAME, scope: rg(stack) }] }));
    const auditor = await ready(stack, "uai", "auditor");
    const role = await ready(stack, "azrole", "orders-reader");
    const [assignment] = await assignmentsOf(stack, auditor.status?.principalId);
    assert.equal(
      assignment?.properties.roleDefinitionId.toLowerCase(),
      String(role.status?.roleDefinitionId).toLowerCase(),
    );
  });

  test("a changed CustomRole updates the definition in place", async () => {
    await stack.apply(
      ordersReader([
        "Microsoft.Storage/storageAccounts/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/read",
      ]),
    );
    const role = await observed(stack, "azrole", "orders-reader", (object) => {
      assert.equal(object.metadata.generation, 2);
      assert.equal(conditionOf(object, "Ready")?.status, "True");
    });
    const inAzure = await definition(role);
    assert.equal(inAzure.properties.permissions[0].actions.length, 2);
    const roles = await armGet(
      stack,
      `/subscriptions/${stack.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions?$filter=type eq 'CustomRole'`,
      "2022-04-01",
    );
    assert.equal(roles.value.length, 1, "updated, not duplicated");
  });

  test("delete: refused by Azure while assigned, done once the identities are gone", async () => {
    const role = await ready(stack, "azrole", "orders-reader");
    await stack.must(["delete", "azrole", "orders-reader", "-n", NS, "--wait=false"]);
    await observed(stack, "azrole", "orders-reader", (object) => {
      assert.ok(object.metadata.deletionTimestamp);
      assert.match(conditionOf(object, "Ready")?.message ?? "", /still assigned/);
    });
    assert.ok(await definition(role), "the definition stays while assignments use it");

    await stack.must(["delete", "uai", "reporter", "auditor", "-n", NS, "--wait", "--timeout=60s"]);
    await stack.must(["wait", "--for=delete", "azrole/orders-reader", "-n", NS, "--timeout=60s"]);
    assert.equal(await definition(role), undefined);
  });
});
