// Callers and tokens: 401s as ARM answers them, the sandbox's Entra token endpoint used by the real
// @azure/identity credentials (client secret, workload identity), and tenant checks on tokens.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { SubscriptionClient } from "@azure/arm-resources-subscriptions";
import { ClientSecretCredential, WorkloadIdentityCredential } from "@azure/identity";
import {
  type ArmFixture,
  openApiValidator,
  sandboxCredential,
  sandboxCredentialOptions,
  startArmFixture,
} from "../../../test/support/arm.js";

const OTHER_TENANT = "3c1f2b9e-7a4d-4c7e-9f0a-2b6d8e1c5a01";
const OTHER_SUB = "8e2d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c01";

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));

function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe("callers, tokens and the Entra token endpoint", () => {
  let f: ArmFixture;
  let sub: string;
  const dir = mkdtempSync(join(tmpdir(), "azid-arm-auth-"));

  before(async () => {
    f = await startArmFixture({ timeScale: 100 });
    sub = f.arm.subscriptionId;
    f.arm.addSubscription(OTHER_SUB, OTHER_TENANT);
    await f.request("PUT", `/subscriptions/${sub}/resourcegroups/rg?api-version=2025-04-01`, {
      body: { location: "eastus" },
    });
  });
  after(async () => {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers a request without Authorization with 401 AuthenticationFailed and a challenge", async () => {
    const r = await f.request("GET", `/subscriptions/${sub}?api-version=2022-12-01`, { token: null });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "AuthenticationFailed");
    assert.match(String(r.headers["www-authenticate"]), /^Bearer authorization_uri=/);
    assert.deepEqual(openApiValidator().validateError(r.body), []);
  });

  it("takes an opaque bearer token as a default caller in the subscription's current tenant", async () => {
    const mine = await f.request("GET", `/subscriptions/${sub}?api-version=2022-12-01`, {
      token: "anything",
    });
    assert.equal(mine.status, 200);
    const theirs = await f.request("GET", `/subscriptions/${OTHER_SUB}?api-version=2022-12-01`, {
      token: "anything",
    });
    assert.equal(theirs.status, 200, "an opaque token fits any subscription's tenant");
  });

  it("issues JWTs carrying tid, oid, appid, aud and exp to ClientSecretCredential", async () => {
    const token = await f.credential.getToken("https://management.azure.com/.default");
    assert.ok(token);
    const claims = claimsOf(token.token);
    assert.equal(claims.tid, f.arm.tenantId);
    assert.equal(claims.aud, "https://management.azure.com");
    assert.equal(claims.appid, "0ab4b0e6-6b1b-4a54-9d77-3d0e1f3a5c11");
    assert.match(claims.oid, /^[0-9a-f-]{36}$/);
    assert.ok(claims.exp > Date.now() / 1000);
    // The same app gets the same object id: it is a service principal in the tenant's directory.
    const graph = await f.request("GET", `/v1.0/servicePrincipals?$filter=appId eq '${claims.appid}'`, {
      token: "x",
    });
    assert.equal(graph.body.value[0].id, claims.oid);
  });

  it("refuses a wrong secret for an application registered with one", async () => {
    const appId = "9d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b01";
    f.arm.addPrincipal(f.arm.tenantId, "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a01", {
      appId,
      clientSecret: "right",
    });
    const good = new ClientSecretCredential(f.arm.tenantId, appId, "right", sandboxCredentialOptions(f.arm));
    assert.equal(
      claimsOf((await good.getToken("https://management.azure.com/.default")).token).oid,
      "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a01",
    );
    const bad = new ClientSecretCredential(f.arm.tenantId, appId, "wrong", sandboxCredentialOptions(f.arm));
    await assert.rejects(bad.getToken("https://management.azure.com/.default"), /AADSTS7000215/);
  });

  it("exchanges a federated token for a managed identity's token (workload identity)", async () => {
    const msi = new ManagedServiceIdentityClient(f.credential, sub, f.clientOptions());
    const identity = await msi.userAssignedIdentities.createOrUpdate("rg", "workload", {
      location: "eastus",
    });
    await msi.federatedIdentityCredentials.createOrUpdate("rg", "workload", "ns-app", {
      issuer: "https://kube.example.com",
      subject: "system:serviceaccount:ns:app",
      audiences: ["api://AzureADTokenExchange"],
    });
    const tokenFile = join(dir, "token");
    const exp = Math.floor(Date.now() / 1000) + 600;
    writeFileSync(
      tokenFile,
      unsignedJwt({
        iss: "https://kube.example.com",
        sub: "system:serviceaccount:ns:app",
        aud: "api://AzureADTokenExchange",
        exp,
      }),
    );
    const credential = new WorkloadIdentityCredential({
      tenantId: f.arm.tenantId,
      clientId: identity.clientId!,
      tokenFilePath: tokenFile,
      ...sandboxCredentialOptions(f.arm),
    });
    const token = await credential.getToken("https://management.azure.com/.default");
    assert.equal(claimsOf(token.token).oid, identity.principalId);
    // The identity's token works against ARM like any other.
    const subs = new SubscriptionClient(credential, f.clientOptions());
    assert.equal((await subs.subscriptions.get(sub)).subscriptionId, sub);

    const strangerFile = join(dir, "stranger");
    writeFileSync(
      strangerFile,
      unsignedJwt({
        iss: "https://kube.example.com",
        sub: "system:serviceaccount:ns:other",
        aud: "api://AzureADTokenExchange",
        exp,
      }),
    );
    const stranger = new WorkloadIdentityCredential({
      tenantId: f.arm.tenantId,
      clientId: identity.clientId!,
      tokenFilePath: strangerFile,
      ...sandboxCredentialOptions(f.arm),
    });
    await assert.rejects(stranger.getToken("https://management.azure.com/.default"), /AADSTS70021/);
  });

  it("answers 401 InvalidAuthenticationTokenTenant to a token from another tenant", async () => {
    const r = await f.request("GET", `/subscriptions/${OTHER_SUB}?api-version=2022-12-01`, {
      token: f.arm.issueToken({}),
    });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "InvalidAuthenticationTokenTenant");
    const theirs = sandboxCredential(f.arm, { tenantId: OTHER_TENANT });
    const subs = new SubscriptionClient(theirs, f.clientOptions());
    assert.equal((await subs.subscriptions.get(OTHER_SUB)).tenantId, OTHER_TENANT);
    const listed = [];
    for await (const s of subs.subscriptions.list()) listed.push(s.subscriptionId);
    assert.deepEqual(listed, [OTHER_SUB], "a tenant's token lists that tenant's subscriptions");
  });

  it("refuses tampered, expired and wrong-audience tokens", async () => {
    const token = f.arm.issueToken({});
    const [h, p] = token.split(".");
    const tampered = `${h}.${p}.${Buffer.from("forged").toString("base64url")}`;
    const path = `/subscriptions/${sub}?api-version=2022-12-01`;
    assert.equal(
      (await f.request("GET", path, { token: tampered })).body.error.code,
      "InvalidAuthenticationToken",
    );
    const expired = f.arm.issueToken({ lifetimeSeconds: -60 });
    assert.equal(
      (await f.request("GET", path, { token: expired })).body.error.code,
      "ExpiredAuthenticationToken",
    );
    const graphToken = f.arm.issueToken({ audience: "https://graph.microsoft.com" });
    assert.equal(
      (await f.request("GET", path, { token: graphToken })).body.error.code,
      "InvalidAuthenticationToken",
    );
    assert.equal(
      (await f.request("GET", path, { token: unsignedJwt({ tid: f.arm.tenantId, oid: "x" }) })).status,
      401,
    );
  });

  it("requires api-version and serves only the api-versions a resource type has", async () => {
    const missing = await f.request("GET", `/subscriptions/${sub}/resourcegroups/rg`);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, "MissingApiVersionParameter");
    const unknown = await f.request(
      "GET",
      `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/workload?api-version=2019-01-01`,
    );
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "NoRegisteredProviderFound");
  });

  it("answers missing things with ARM's codes", async () => {
    const noGroup = await f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/nowhere/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x-1?api-version=2024-11-30`,
      { body: { location: "eastus" } },
    );
    assert.equal(noGroup.status, 404);
    assert.equal(noGroup.body.error.code, "ResourceGroupNotFound");
    const noIdentity = await f.request(
      "GET",
      `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nobody?api-version=2024-11-30`,
    );
    assert.equal(noIdentity.body.error.code, "ResourceNotFound");
    const noSub = await f.request(
      "GET",
      "/subscriptions/00000000-0000-0000-0000-000000000001?api-version=2022-12-01",
    );
    assert.equal(noSub.body.error.code, "SubscriptionNotFound");
    const noLocation = await f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x-2?api-version=2024-11-30`,
      { body: {} },
    );
    assert.equal(noLocation.body.error.code, "LocationRequired");
    for (const r of [noGroup, noIdentity, noSub, noLocation])
      assert.deepEqual(openApiValidator().validateError(r.body), []);
  });
});
