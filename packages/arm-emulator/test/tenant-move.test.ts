// A subscription moving to another Entra tenant, with the effects Microsoft documents.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { SubscriptionClient } from "@azure/arm-resources-subscriptions";
import { type ArmFixture, sandboxCredential, startArmFixture } from "../../../test/support/arm.js";

const NEW_TENANT = "b1a2c3d4-e5f6-4789-8abc-def012345601";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CUSTOM = "c0ffee00-1234-4abc-9def-0123456789ab";

describe("moving a subscription to another tenant", () => {
  let f: ArmFixture;
  let sub: string;
  let rg: string;
  let oldTenant: string;
  let uai: { id: string; properties: { principalId: string; clientId: string; tenantId: string } };
  let vmBefore: { identity: { principalId: string; tenantId: string } };
  let moved: {
    fromTenantId: string;
    toTenantId: string;
    deleted: { roleAssignments: string[]; customRoles: string[] };
  };

  const vmUrl = () => `${rg}/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-11-01`;
  const assign = (principalId: string, name: string, token?: string) =>
    f.request(
      "PUT",
      `${rg}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
            principalId,
            principalType: "ServicePrincipal",
          },
        },
        token,
      },
    );

  before(async () => {
    f = await startArmFixture({ timeScale: 100, settings: { throttling: false } });
    sub = f.arm.subscriptionId;
    oldTenant = f.arm.tenantId;
    rg = `/subscriptions/${sub}/resourceGroups/rg`;
    await f.request("PUT", `${rg}?api-version=2025-04-01`, { body: { location: "eastus" } });
    uai = (
      await f.request(
        "PUT",
        `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app?api-version=2024-11-30`,
        { body: { location: "eastus" } },
      )
    ).body;
    vmBefore = (
      await f.request("PUT", vmUrl(), {
        body: {
          location: "eastus",
          identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [uai.id]: {} } },
        },
      })
    ).body;
    assert.equal(
      (await assign(uai.properties.principalId, "aaaaaaaa-0000-4000-8000-000000000001")).status,
      201,
    );
    assert.equal(
      (await assign(vmBefore.identity.principalId, "aaaaaaaa-0000-4000-8000-000000000002")).status,
      201,
    );
    const custom = await f.request(
      "PUT",
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${CUSTOM}?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleName: "App reader",
            permissions: [{ actions: ["*/read"] }],
            assignableScopes: [`/subscriptions/${sub}`],
          },
        },
      },
    );
    assert.equal(custom.status, 201);
    const moveAnswer = await f.admin("POST", `subscriptions/${sub}/move`, { tenantId: NEW_TENANT });
    assert.equal(moveAnswer.status, 200, moveAnswer.text);
    moved = moveAnswer.body;
  });
  after(() => f.close());

  it("answers with what it deleted: every role assignment and custom role of the subscription", () => {
    assert.equal(moved.fromTenantId, oldTenant);
    assert.equal(moved.toTenantId, NEW_TENANT);
    assert.equal(moved.deleted.roleAssignments.length, 2);
    assert.deepEqual(moved.deleted.customRoles, [
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${CUSTOM}`,
    ]);
  });

  it("changes the subscription's tenant and refuses tokens of the old one", async () => {
    const stale = await f.request("GET", `/subscriptions/${sub}?api-version=2022-12-01`, {
      token: f.arm.issueToken({ tenantId: oldTenant }),
    });
    assert.equal(stale.status, 401);
    assert.equal(stale.body.error.code, "InvalidAuthenticationTokenTenant");
    const credential = sandboxCredential(f.arm, { tenantId: NEW_TENANT });
    const subs = new SubscriptionClient(credential, f.clientOptions());
    assert.equal((await subs.subscriptions.get(sub)).tenantId, NEW_TENANT);
    const auth = new AuthorizationManagementClient(credential, sub, f.clientOptions());
    const left = [];
    for await (const a of auth.roleAssignments.listForSubscription()) left.push(a);
    assert.deepEqual(left, []);
    await assert.rejects(auth.roleDefinitions.get(`/subscriptions/${sub}`, CUSTOM), { statusCode: 404 });
  });

  it("leaves user-assigned identities with their old tenant and a principal that no longer resolves", async () => {
    const credential = sandboxCredential(f.arm, { tenantId: NEW_TENANT });
    const msi = new ManagedServiceIdentityClient(credential, sub, f.clientOptions());
    const after = await msi.userAssignedIdentities.get("rg", "app");
    assert.equal(after.tenantId, oldTenant);
    assert.equal(after.principalId, uai.properties.principalId);
    const grant = await assign(uai.properties.principalId, "aaaaaaaa-0000-4000-8000-000000000003");
    assert.equal(grant.status, 400);
    assert.equal(grant.body.error.code, "PrincipalNotFound");
    assert.match(grant.body.error.message, new RegExp(NEW_TENANT));
    // Re-created, the identity gets a principal in the new tenant that can be granted again.
    await msi.userAssignedIdentities.delete("rg", "app");
    const fresh = await msi.userAssignedIdentities.createOrUpdate("rg", "app", { location: "eastus" });
    assert.equal(fresh.tenantId, NEW_TENANT);
    assert.notEqual(fresh.principalId, uai.properties.principalId);
    assert.equal((await assign(fresh.principalId!, "aaaaaaaa-0000-4000-8000-000000000004")).status, 201);
  });

  it("keeps a system-assigned identity's old tenant and principal until it is disabled and re-enabled", async () => {
    const kept = (await f.request("GET", vmUrl())).body;
    assert.equal(kept.identity.tenantId, oldTenant);
    assert.equal(kept.identity.principalId, vmBefore.identity.principalId);
    assert.equal(
      (await assign(kept.identity.principalId, "aaaaaaaa-0000-4000-8000-000000000005")).body.error.code,
      "PrincipalNotFound",
    );
    const same = await f.request("PATCH", vmUrl(), {
      body: { identity: { type: "SystemAssigned, UserAssigned" } },
    });
    assert.equal(
      same.body.identity.principalId,
      vmBefore.identity.principalId,
      "enabling again is not re-enabling",
    );
    await f.request("PATCH", vmUrl(), { body: { identity: { type: "UserAssigned" } } });
    const renewed = await f.request("PATCH", vmUrl(), {
      body: { identity: { type: "SystemAssigned, UserAssigned" } },
    });
    assert.equal(renewed.body.identity.tenantId, NEW_TENANT);
    assert.notEqual(renewed.body.identity.principalId, vmBefore.identity.principalId);
    assert.equal(
      (await assign(renewed.body.identity.principalId, "aaaaaaaa-0000-4000-8000-000000000006")).status,
      201,
    );
  });

  it("moves through the in-process handle too, and refuses bad moves", async () => {
    const other = "d4c3b2a1-0f9e-4d8c-8b7a-6f5e4d3c2b11";
    f.arm.addSubscription(other, oldTenant);
    const result = f.arm.moveSubscription(other, NEW_TENANT);
    assert.equal(result.fromTenantId, oldTenant);
    assert.deepEqual(result.deleted, { roleAssignments: [], customRoles: [] });
    const bad = await f.admin("POST", `subscriptions/${other}/move`, { tenantId: "not-a-guid" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "SandboxConfigError");
  });
});
