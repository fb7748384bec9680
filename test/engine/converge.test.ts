// The act phase end to end: the real planner, azid's executor and the unmodified SDK clients
// against the ARM emulator. Azure's state is checked through the emulator's own API.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ResourceManagementClient } from "@azure/arm-resources";
import { armIdKey } from "../../src/api/arm-id.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import { converge } from "../../src/engine/converge.js";
import { isRead } from "../../src/plan/actions.js";
import { emptyObserved } from "../../src/plan/observed.js";
import type { PlanContext } from "../../src/plan/plan-types.js";
import { planUserAssignedIdentity } from "../../src/plan/user-assigned.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";
import { sandboxExecutor } from "../support/azure.js";

const ALLOWED: PlanContext["policy"] = {
  allowed: true,
  violations: [],
  policies: ["test"],
  tenantMoveRemediation: "Manual",
};
const context = (overrides: Partial<PlanContext> = {}): PlanContext => ({
  now: new Date().toISOString(),
  policy: ALLOWED,
  customRoles: [],
  allowTenantRepair: false,
  ...overrides,
});
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

describe("converge: planner + executor against the ARM emulator", () => {
  let f: ArmFixture;
  let sub: string;
  let rg: string;
  let vm: string;

  before(async () => {
    f = await startArmFixture({ timeScale: 50 });
    sub = f.arm.subscriptionId;
    rg = `/subscriptions/${sub}/resourceGroups/app-rg`;
    vm = `${rg}/providers/Microsoft.Compute/virtualMachines/vm-1`;
    const resources = new ResourceManagementClient(f.credential, sub, f.clientOptions());
    await resources.resourceGroups.createOrUpdate("app-rg", { location: "westeurope" });
    await resources.resources.beginCreateOrUpdateByIdAndWait(vm, "2024-11-01", {
      location: "westeurope",
      identity: { type: "SystemAssigned" },
    });
  });
  after(() => f.close());

  const identity = (name = "orders"): UserAssignedIdentity => ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: { name, namespace: "team-a", generation: 1 },
    spec: {
      subscriptionId: sub,
      resourceGroup: "app-rg",
      location: "westeurope",
      tags: { team: "a" },
      roleAssignments: [{ role: "Reader", scope: rg }],
      federatedCredentials: [
        {
          name: "aks",
          issuer: "https://oidc.example.com/issuer",
          subject: "system:serviceaccount:team-a:orders",
          audiences: ["api://AzureADTokenExchange"],
        },
      ],
      attachTo: [vm],
      graphAppRoles: [{ resourceAppId: "00000003-0000-0000-c000-000000000000", appRole: "User.Read.All" }],
    },
  });

  async function reconcile(resource: UserAssignedIdentity, ctx = context()) {
    const run = await converge(
      (observed, status) =>
        planUserAssignedIdentity({ ...resource, ...(status ? { status } : {}) }, observed, ctx),
      emptyObserved(),
      { executor: sandboxExecutor(f.arm), subscriptionId: sub, initialStatus: resource.status },
    );
    return { run, resource: { ...resource, status: run.final.status } };
  }

  test("creates the identity, its credential, its grant, its attachment and its Graph role; Ready", async () => {
    const { run, resource } = await reconcile(identity());
    assert.equal(run.cutShort, false);
    assert.deepEqual(run.errors, []);
    const ready = resource.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "True", JSON.stringify(resource.status?.conditions));
    assert.ok(
      !run.executed.some((action) => action.kind === "ListFederatedCredentials"),
      "ARM answered 201: the new identity's credentials are known (none), not listed",
    );

    const id = `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders`;
    const got = await f.request("GET", `${id}?api-version=2024-11-30`);
    assert.equal(got.status, 200);
    const principalId = got.body.properties.principalId as string;
    assert.equal(resource.status?.principalId, principalId);

    const fics = await f.request("GET", `${id}/federatedIdentityCredentials?api-version=2024-11-30`);
    assert.deepEqual(
      fics.body.value.map((c: { name: string }) => c.name),
      ["aks"],
    );
    const grants = await f.request(
      "GET",
      `${rg}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId eq '${principalId}'`,
    );
    assert.equal(grants.body.value.length, 1);
    assert.match(grants.body.value[0].properties.roleDefinitionId, new RegExp(READER));
    assert.equal(grants.body.value[0].properties.principalType, "ServicePrincipal");

    const target = await f.request("GET", `${vm}?api-version=2024-11-01`);
    assert.equal(target.body.identity.type.replace(/\s/g, ""), "SystemAssigned,UserAssigned");
    assert.deepEqual(Object.keys(target.body.identity.userAssignedIdentities).map(armIdKey), [armIdKey(id)]);

    const graph = await f.request("GET", `/v1.0/servicePrincipals/${principalId}/appRoleAssignments`);
    assert.equal(graph.body.value.length, 1);
  });

  test("a second reconcile of the same declaration only reads", async () => {
    const first = await reconcile(identity());
    const second = await reconcile(first.resource);
    assert.deepEqual(
      second.run.executed.filter((action) => !isRead(action)).map((action) => action.description),
      [],
    );
  });

  test("deletion detaches, revokes, ungrants and deletes, leaving nothing behind", async () => {
    // A name of its own: an identity that already existed would be adopted, and adopted ones stay.
    const { resource } = await reconcile(identity("payments"));
    const principalId = resource.status?.principalId as string;
    const deleting: UserAssignedIdentity = {
      ...resource,
      metadata: { ...resource.metadata, deletionTimestamp: new Date().toISOString() },
    };
    assert.equal(resource.status?.identityOwned, true, "created by azid");
    const { run } = await reconcile(deleting);
    console.log(
      JSON.stringify(run.executed.map((a) => a.description)),
      run.cutShort,
      JSON.stringify(run.notices),
      JSON.stringify(run.errors),
    );
    assert.equal(run.final.deleted, true);
    const id = `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/payments`;
    assert.equal((await f.request("GET", `${id}?api-version=2024-11-30`)).status, 404);
    const target = await f.request("GET", `${vm}?api-version=2024-11-01`);
    assert.ok(
      !Object.keys(target.body.identity.userAssignedIdentities ?? {})
        .map(armIdKey)
        .includes(armIdKey(id)),
    );
    const grants = await f.request(
      "GET",
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId eq '${principalId}'`,
    );
    assert.equal(grants.body.value.length, 0);
  });
});
