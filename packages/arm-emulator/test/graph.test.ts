// The Microsoft Graph subset: service principals (the Microsoft Graph one in every tenant, and those
// of managed identities) and app-role assignments on the principal and on the resource.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ArmFixture, startArmFixture } from "../../../test/support/arm.js";

const GRAPH_APP = "00000003-0000-0000-c000-000000000000";
const USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214";
const AGENT_CARD_READ_ALL_DISABLED = "aec9e0a0-";

describe("the Microsoft Graph subset", () => {
  let f: ArmFixture;
  let identity: { principalId: string; clientId: string };
  let graphSp: { id: string; appRoles: { id: string; value: string; isEnabled: boolean }[] };
  let token: string;
  const graph = (method: string, path: string, body?: unknown) =>
    f.request(method, `/v1.0/${path}`, { body, token });

  before(async () => {
    f = await startArmFixture({ settings: { throttling: false } });
    token = f.arm.issueToken({ audience: "https://graph.microsoft.com" });
    const rg = `/subscriptions/${f.arm.subscriptionId}/resourceGroups/rg`;
    await f.request("PUT", `${rg}?api-version=2025-04-01`, { body: { location: "eastus" } });
    const r = await f.request(
      "PUT",
      `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reporter?api-version=2024-11-30`,
      {
        body: { location: "eastus" },
      },
    );
    identity = r.body.properties;
  });
  after(() => f.close());

  it("holds the Microsoft Graph service principal with its 716 app roles in every tenant", async () => {
    const r = await graph("GET", `servicePrincipals?$filter=appId eq '${GRAPH_APP}'`);
    assert.equal(r.status, 200);
    assert.equal(r.body.value.length, 1);
    graphSp = r.body.value[0];
    assert.equal(graphSp.appRoles.length, 716);
    assert.equal(graphSp.appRoles.find((role) => role.id === USER_READ_ALL)?.value, "User.Read.All");
    const newTenant = "6d5c4b3a-2918-4765-8432-10fedcba9801";
    f.arm.addTenant(newTenant);
    const there = await f.request("GET", `/v1.0/servicePrincipals(appId='${GRAPH_APP}')`, {
      token: f.arm.issueToken({ tenantId: newTenant, audience: "https://graph.microsoft.com" }),
    });
    assert.equal(there.status, 200);
    assert.notEqual(there.body.id, graphSp.id, "each tenant has its own object id");
  });

  it("finds a managed identity's service principal by appId, displayName and id", async () => {
    const byApp = await graph("GET", `servicePrincipals?$filter=appId eq '${identity.clientId}'`);
    assert.equal(byApp.body.value[0].id, identity.principalId);
    assert.equal(byApp.body.value[0].servicePrincipalType, "ManagedIdentity");
    const byName = await graph("GET", "servicePrincipals?$filter=displayName eq 'reporter'");
    assert.deepEqual(
      byName.body.value.map((sp: { id: string }) => sp.id),
      [identity.principalId],
    );
    assert.equal(
      (await graph("GET", `servicePrincipals/${identity.principalId}`)).body.appId,
      identity.clientId,
    );
    const bad = await graph("GET", "servicePrincipals?$filter=startswith(displayName,'r')");
    assert.equal(bad.status, 400);
  });

  it("creates, lists and deletes app-role assignments on the principal and on the resource", async () => {
    const created = await graph("POST", `servicePrincipals/${identity.principalId}/appRoleAssignments`, {
      principalId: identity.principalId,
      resourceId: graphSp.id,
      appRoleId: USER_READ_ALL,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.resourceDisplayName, "Microsoft Graph");
    assert.equal(created.body.principalType, "ServicePrincipal");
    const mine = await graph("GET", `servicePrincipals/${identity.principalId}/appRoleAssignments`);
    assert.deepEqual(
      mine.body.value.map((a: { appRoleId: string }) => a.appRoleId),
      [USER_READ_ALL],
    );
    const assignedTo = await graph("GET", `servicePrincipals/${graphSp.id}/appRoleAssignedTo`);
    assert.ok(assignedTo.body.value.some((a: { id: string }) => a.id === created.body.id));
    const duplicate = await graph("POST", `servicePrincipals/${identity.principalId}/appRoleAssignments`, {
      principalId: identity.principalId,
      resourceId: graphSp.id,
      appRoleId: USER_READ_ALL,
    });
    assert.equal(duplicate.status, 400);
    assert.equal(duplicate.body.error.message, "Permission being assigned already exists on the object");
    const disabled = graphSp.appRoles.find((r) => r.id.startsWith(AGENT_CARD_READ_ALL_DISABLED));
    assert.equal(disabled?.isEnabled, false);
    const refused = await graph("POST", `servicePrincipals/${graphSp.id}/appRoleAssignedTo`, {
      principalId: identity.principalId,
      resourceId: graphSp.id,
      appRoleId: disabled!.id,
    });
    assert.equal(refused.status, 400, "a disabled app role cannot be granted");
    const viaResource = await graph("POST", `servicePrincipals/${graphSp.id}/appRoleAssignedTo`, {
      principalId: identity.principalId,
      resourceId: graphSp.id,
      appRoleId: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    });
    assert.equal(viaResource.status, 201);
    assert.equal(
      (
        await graph(
          "DELETE",
          `servicePrincipals/${identity.principalId}/appRoleAssignments/${created.body.id}`,
        )
      ).status,
      204,
    );
    const gone = await graph(
      "DELETE",
      `servicePrincipals/${identity.principalId}/appRoleAssignments/${created.body.id}`,
    );
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, "Request_ResourceNotFound");
    assert.ok(gone.body.error.innerError["request-id"]);
    assert.equal(
      (await graph("DELETE", `servicePrincipals/${graphSp.id}/appRoleAssignedTo/${viaResource.body.id}`))
        .status,
      204,
    );
  });

  it("answers Graph-shaped errors, 401 without a token", async () => {
    const r = await f.request("GET", "/v1.0/servicePrincipals", { token: null });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "InvalidAuthenticationToken");
    const missing = await graph("GET", "servicePrincipals/0f0e0d0c-0b0a-4908-8706-050403020100");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "Request_ResourceNotFound");
  });
});
