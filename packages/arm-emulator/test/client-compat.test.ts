// What Azure clients other than the JS SDK need (found with the Azure SDK for Python and az 2.45):
// the api-versions Azure publishes, subscription locations, the ADFS-style tenant of a custom
// cloud, and the Graph queries az uses to resolve `--assignee <clientId>`.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ArmFixture, startArmFixture } from "../../../test/support/arm.js";

const decode = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));

describe("what other Azure clients need", () => {
  let f: ArmFixture;
  let sub: string;
  let identity: { principalId: string; clientId: string };

  before(async () => {
    f = await startArmFixture({ settings: { throttling: false } });
    sub = f.arm.subscriptionId;
    await f.request("PUT", `/subscriptions/${sub}/resourcegroups/rg?api-version=2022-09-01`, {
      body: { location: "westeurope" },
    });
    const made = await f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1?api-version=2018-11-30`,
      { body: { location: "westeurope" } },
    );
    assert.equal(made.status, 201);
    identity = made.body.properties;
  });
  after(() => f.close());

  it("accepts the api-versions Azure publishes per type, not only what one SDK sends", async () => {
    for (const version of ["2016-06-01", "2019-11-01", "2021-01-01", "2022-01-01", "2022-12-01"]) {
      const r = await f.request("GET", `/subscriptions/${sub}?api-version=${version}`);
      assert.equal(r.status, 200, `Subscriptions ${version}`);
    }
    const vm = `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`;
    for (const version of ["2022-08-01", "2022-11-01", "2021-07-01"]) {
      const r = await f.request("PUT", `${vm}?api-version=${version}`, { body: { location: "westeurope" } });
      assert.ok([200, 201].includes(r.status), `Compute ${version}: ${r.status}`);
    }
    const roles = await f.request(
      "GET",
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2020-04-01-preview`,
    );
    assert.equal(roles.status, 200, "az 2.45's role assignments version");
    const unknown = await f.request("GET", `/subscriptions/${sub}?api-version=2099-01-01`);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "InvalidApiVersionParameter");
    const ficTooOld = await f.request(
      "GET",
      `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1/federatedIdentityCredentials?api-version=2018-11-30`,
    );
    assert.equal(ficTooOld.status, 400, "federated credentials exist from 2022-01-31-preview on");
  });

  it("lists a subscription's locations", async () => {
    const r = await f.request("GET", `/subscriptions/${sub}/locations?api-version=2022-12-01`);
    assert.equal(r.status, 200);
    const eastus = r.body.value.find((l: { name: string }) => l.name === "eastus");
    assert.deepEqual(
      [eastus.id, eastus.displayName, eastus.type, eastus.metadata.regionType],
      [`/subscriptions/${sub}/locations/eastus`, "East US", "Region", "Physical"],
    );
  });

  it("serves the ADFS-style tenant `adfs` as the tenant that holds the first subscription", async () => {
    const metadata = await f.request("GET", "/adfs/.well-known/openid-configuration", { token: null });
    assert.equal(metadata.status, 200);
    assert.equal(metadata.body.token_endpoint, `${f.arm.url}/adfs/oauth2/token`);
    const form = {
      grant_type: "client_credentials",
      client_id: "5b0c8f7e-3a1d-4c2b-9e6f-8d7a1b2c3d4e",
      client_secret: "any",
      scope: "https://management.core.windows.net//.default",
    };
    const issued = await f.request("POST", "/adfs/oauth2/token", { form, token: null });
    assert.equal(issued.status, 200);
    assert.equal(decode(issued.body.access_token).tid, f.arm.tenantId);
    const subs = await f.request("GET", "/subscriptions?api-version=2022-01-01", {
      token: issued.body.access_token,
    });
    assert.deepEqual(
      subs.body.value.map((s: { subscriptionId: string }) => s.subscriptionId),
      [sub],
    );
    const newTenant = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a";
    f.arm.addTenant(newTenant);
    f.arm.moveSubscription(sub, newTenant);
    try {
      const moved = await f.request("POST", "/adfs/oauth2/token", { form, token: null });
      assert.equal(decode(moved.body.access_token).tid, newTenant, "after a tenant move, the new tenant");
    } finally {
      f.arm.moveSubscription(sub, f.arm.tenantId);
    }
    const other = await f.request("POST", "/not-a-tenant/oauth2/token", { form, token: null });
    assert.equal(other.status, 400, "other non-GUID tenants are still refused");
  });

  it("Graph finds a service principal by servicePrincipalNames and objects by getByIds", async () => {
    const token = f.arm.issueToken({ audience: "https://graph.microsoft.com" });
    const bySpn = await f.request(
      "GET",
      `/v1.0/servicePrincipals?$filter=servicePrincipalNames/any(c:c eq '${identity.clientId}')`,
      { token },
    );
    assert.equal(bySpn.status, 200);
    assert.deepEqual(
      bySpn.body.value.map((sp: { id: string }) => sp.id),
      [identity.principalId],
    );
    const none = await f.request(
      "GET",
      `/v1.0/servicePrincipals?$filter=servicePrincipalNames/any(x:x eq '${identity.principalId}')`,
      { token },
    );
    assert.deepEqual(none.body.value, [], "an object id is not a service principal name");
    const missing = "0b9d2b1c-64d0-4c6f-9d0e-1f2a3b4c5d6e";
    const found = await f.request("POST", "/v1.0/directoryObjects/getByIds", {
      token,
      body: { ids: [identity.principalId, missing], types: ["user", "group", "servicePrincipal"] },
    });
    assert.equal(found.status, 200);
    assert.deepEqual(
      found.body.value.map((o: { id: string; "@odata.type": string }) => [o.id, o["@odata.type"]]),
      [[identity.principalId, "#microsoft.graph.servicePrincipal"]],
    );
    const usersOnly = await f.request("POST", "/v1.0/directoryObjects/getByIds", {
      token,
      body: { ids: [identity.principalId], types: ["user"] },
    });
    assert.deepEqual(usersOnly.body.value, []);
    const bad = await f.request("POST", "/v1.0/directoryObjects/getByIds", { token, body: { ids: "x" } });
    assert.equal(bad.status, 400);
  });
});
