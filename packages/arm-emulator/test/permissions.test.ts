// Restricted callers (RBAC over the emulator's own role assignments), LinkedAuthorizationFailed on
// attaching an identity, Microsoft.Authorization/permissions agreeing with it, and Azure Policy denials.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { permits } from "@azid/arm-emulator/internal/rbac.js";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { type ArmFixture, type HttpResult, startArmFixture } from "../../../test/support/arm.js";

const ROLES = {
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  vmContributor: "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
  identityOperator: "f1a07417-d97a-45cb-824c-7a7467783830",
};
const CALLER = "7c6b5a49-3827-4165-9a0b-1c2d3e4f5a61";

describe("permissions of restricted callers, and Azure Policy", () => {
  let f: ArmFixture;
  let sub: string;
  let rg: string;
  let caller: string;
  let n = 0;

  const grant = async (roleGuid: string, scope: string) => {
    n++;
    const r = await f.request(
      "PUT",
      `${scope}/providers/Microsoft.Authorization/roleAssignments/9a8b7c6d-0000-4000-8000-${String(n).padStart(12, "0")}?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
            principalId: CALLER,
            principalType: "ServicePrincipal",
          },
        },
      },
    );
    assert.equal(r.status, 201, r.text);
  };
  const identityUrl = (name: string) =>
    `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=2024-11-30`;
  const vmUrl = (name: string) =>
    `${rg}/providers/Microsoft.Compute/virtualMachines/${name}?api-version=2024-11-01`;
  const asCaller = (method: string, path: string, body?: unknown): Promise<HttpResult> =>
    f.request(method, path, { body, token: caller });

  before(async () => {
    f = await startArmFixture({ timeScale: 100, settings: { throttling: false } });
    sub = f.arm.subscriptionId;
    rg = `/subscriptions/${sub}/resourceGroups/rg`;
    await f.request("PUT", `${rg}?api-version=2025-04-01`, { body: { location: "eastus" } });
    await f.request("PUT", identityUrl("shared"), { body: { location: "eastus" } });
    await f.request("PUT", vmUrl("vm1"), { body: { location: "eastus" } });
    f.arm.addPrincipal(f.arm.tenantId, CALLER, { kind: "ServicePrincipal", displayName: "restricted app" });
    const restrict = await f.admin("PUT", `callers/${CALLER}`, { restricted: true });
    assert.equal(restrict.status, 200);
    caller = f.arm.issueToken({ oid: CALLER });
  });
  after(() => f.close());

  it("refuses everything to a restricted caller without role assignments, naming action and scope", async () => {
    const r = await asCaller("GET", identityUrl("shared"));
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, "AuthorizationFailed");
    assert.match(r.body.error.message, /'Microsoft\.ManagedIdentity\/userAssignedIdentities\/read'/);
    assert.match(r.body.error.message, /over scope '\/subscriptions\/.*\/userAssignedIdentities\/shared'/);
    assert.deepEqual(f.arm.restrictedCallers(), [CALLER]);
  });

  it("grants what the caller's roles allow, inherited from above, minus notActions", async () => {
    await grant(ROLES.reader, rg);
    assert.equal((await asCaller("GET", identityUrl("shared"))).status, 200);
    const write = await asCaller("PUT", identityUrl("mine"), { location: "eastus" });
    assert.equal(write.status, 403);
    assert.match(write.body.error.message, /userAssignedIdentities\/write/);
    await grant(ROLES.contributor, `/subscriptions/${sub}`);
    assert.equal(
      (await asCaller("PUT", identityUrl("mine"), { location: "eastus" })).status,
      201,
      "inherited from the subscription",
    );
    const assignment = await asCaller(
      "PUT",
      `${rg}/providers/Microsoft.Authorization/roleAssignments/5f5f5f5f-0000-4000-8000-000000000001?api-version=2022-04-01`,
      {
        properties: {
          roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ROLES.reader}`,
          principalId: CALLER,
        },
      },
    );
    assert.equal(assignment.status, 403, "Contributor's notActions exclude Microsoft.Authorization/*/Write");
    assert.match(assignment.body.error.message, /Microsoft\.Authorization\/roleAssignments\/write/);
  });

  it("answers LinkedAuthorizationFailed when attaching an identity without its assign action", async () => {
    const identity = (await f.request("GET", identityUrl("shared"))).body;
    // Contributor (from the previous test) holds */assign/action too; a VM-only caller does not.
    const vmOnly = "2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091";
    f.arm.addPrincipal(f.arm.tenantId, vmOnly, {});
    f.arm.setCallerRestricted(vmOnly, true);
    const token = f.arm.issueToken({ oid: vmOnly });
    const r = await f.request(
      "PUT",
      `${rg}/providers/Microsoft.Authorization/roleAssignments/6a6a6a6a-0000-4000-8000-000000000001?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ROLES.vmContributor}`,
            principalId: vmOnly,
            principalType: "ServicePrincipal",
          },
        },
      },
    );
    assert.equal(r.status, 201);
    const attach = { identity: { type: "UserAssigned", userAssignedIdentities: { [identity.id]: {} } } };
    const refused = await f.request("PATCH", vmUrl("vm1"), { body: attach, token });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "LinkedAuthorizationFailed");
    assert.match(
      refused.body.error.message,
      /'Microsoft\.ManagedIdentity\/userAssignedIdentities\/assign\/action'/,
    );
    assert.match(
      refused.body.error.message,
      /has permission to perform action 'Microsoft\.Compute\/virtualMachines\/write'/,
    );
    const tagsOnly = await f.request("PATCH", vmUrl("vm1"), { body: { tags: { a: "b" } }, token });
    assert.equal(tagsOnly.status, 200, "writing the VM itself is allowed");
    // Managed Identity Operator on the identity grants .../*/assign/action.
    const grantOperator = await f.request(
      "PUT",
      `${identity.id}/providers/Microsoft.Authorization/roleAssignments/6a6a6a6a-0000-4000-8000-000000000002?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ROLES.identityOperator}`,
            principalId: vmOnly,
            principalType: "ServicePrincipal",
          },
        },
      },
    );
    assert.equal(grantOperator.status, 201, grantOperator.text);
    const attached = await f.request("PATCH", vmUrl("vm1"), { body: attach, token });
    assert.equal(attached.status, 200, attached.text);
  });

  it("answers Microsoft.Authorization/permissions consistently with the decisions it takes", async () => {
    const auth = new AuthorizationManagementClient(
      { getToken: async () => ({ token: caller, expiresOnTimestamp: Date.now() + 3600_000 }) },
      sub,
      f.clientOptions(),
    );
    const atGroup = [];
    for await (const p of auth.permissions.listForResourceGroup("rg")) atGroup.push(p);
    const atVm = [];
    for await (const p of auth.permissions.listForResource(
      "rg",
      "Microsoft.Compute",
      "",
      "virtualMachines",
      "vm1",
    ))
      atVm.push(p);
    assert.ok(
      atGroup.some((p) => p.actions?.includes("*/read")),
      "Reader at the group",
    );
    assert.ok(
      atGroup.some((p) => p.notActions?.includes("Microsoft.Authorization/*/Write")),
      "Contributor from above",
    );
    const checks = [
      ["Microsoft.ManagedIdentity/userAssignedIdentities/read", identityUrl("shared"), "GET"],
      ["Microsoft.ManagedIdentity/userAssignedIdentities/write", identityUrl("mine"), "PATCH"],
      [
        "Microsoft.Authorization/roleAssignments/write",
        `${rg}/providers/Microsoft.Authorization/roleAssignments/7b7b7b7b-0000-4000-8000-000000000001?api-version=2022-04-01`,
        "PUT",
      ],
    ] as const;
    for (const [action, path, method] of checks) {
      const allowed = permits(atGroup as never, action);
      const r = await asCaller(
        method,
        path,
        method === "PATCH"
          ? { tags: {} }
          : method === "PUT"
            ? {
                properties: {
                  roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ROLES.reader}`,
                  principalId: CALLER,
                  principalType: "ServicePrincipal",
                },
              }
            : undefined,
      );
      assert.equal(
        r.status !== 403,
        allowed,
        `${action}: permissions say ${allowed}, the request got ${r.status}`,
      );
    }
    assert.ok(permits(atVm as never, "Microsoft.Compute/virtualMachines/write"));
    assert.deepEqual(f.validation.failures, []);
  });

  it("denies by Azure Policy per scope and resource type, naming the policy", async () => {
    await f.request("PUT", `/subscriptions/${sub}/resourcegroups/locked?api-version=2025-04-01`, {
      body: { location: "eastus" },
    });
    const set = await f.admin("PUT", "policies", [
      {
        name: "deny-identities",
        displayName: "No user-assigned identities here",
        scope: `/subscriptions/${sub}/resourceGroups/locked`,
        resourceType: "Microsoft.ManagedIdentity/userAssignedIdentities",
      },
    ]);
    assert.equal(set.status, 200);
    const denied = await f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/locked/providers/Microsoft.ManagedIdentity/userAssignedIdentities/blocked?api-version=2024-11-30`,
      { body: { location: "eastus" } },
    );
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, "RequestDisallowedByPolicy");
    assert.match(denied.body.error.message, /No user-assigned identities here/);
    assert.equal(denied.body.error.additionalInfo[0].info.policyAssignmentName, "deny-identities");
    assert.equal(
      (await f.request("PUT", identityUrl("allowed"), { body: { location: "eastus" } })).status,
      201,
      "other groups are free",
    );
    const vm = await f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/locked/providers/Microsoft.Compute/virtualMachines/vm?api-version=2024-11-01`,
      {
        body: { location: "eastus" },
      },
    );
    assert.equal(vm.status, 201, "other types are free");
    f.arm.setPolicies([]);
    assert.deepEqual((await f.admin("GET", "policies")).body, []);
  });
});
