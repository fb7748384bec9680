// The rules a reconciler meets in the field: federated credential limits and concurrency, and
// role assignment conflicts, principal replication and the per-subscription limit.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ArmFixture, type HttpResult, startArmFixture } from "../../../test/support/arm.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("federated credential and role assignment rules", () => {
  let f: ArmFixture;
  let sub: string;
  let rg: string;

  const identityUrl = (name: string) =>
    `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=2024-11-30`;
  const ficUrl = (identity: string, name: string) =>
    `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity}/federatedIdentityCredentials/${name}?api-version=2024-11-30`;
  const putFic = (identity: string, name: string, properties: Record<string, unknown>) =>
    f.request("PUT", ficUrl(identity, name), { body: { properties } });
  const credential = (subject: string, audiences = ["api://AzureADTokenExchange"]) => ({
    issuer: "https://oidc.example.com/cluster",
    subject,
    audiences,
  });
  async function createIdentity(name: string): Promise<{ principalId: string; clientId: string }> {
    const r = await f.request("PUT", identityUrl(name), { body: { location: "eastus" } });
    assert.equal(r.status, 201, r.text);
    return r.body.properties;
  }
  const assign = (scope: string, name: string, properties: Record<string, unknown>): Promise<HttpResult> =>
    f.request(
      "PUT",
      `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`,
      {
        body: { properties },
      },
    );
  const role = (guid: string) =>
    `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

  before(async () => {
    f = await startArmFixture({ timeScale: 1000, settings: { throttling: false, ficWriteSeconds: 0 } });
    sub = f.arm.subscriptionId;
    rg = `/subscriptions/${sub}/resourceGroups/rg`;
    await f.request("PUT", `${rg}?api-version=2025-04-01`, { body: { location: "eastus" } });
  });
  after(() => f.close());

  it("allows at most 20 federated credentials per identity", async () => {
    await createIdentity("many");
    for (let i = 0; i < 20; i++)
      assert.equal((await putFic("many", `fic-${i}`, credential(`s-${i}`))).status, 201);
    const over = await putFic("many", "fic-20", credential("s-20"));
    assert.equal(over.status, 400);
    assert.match(over.body.error.message, /maximum of 20/);
    assert.equal(
      (await putFic("many", "fic-0", credential("s-0"))).status,
      200,
      "updating one of the 20 is fine",
    );
  });

  it("requires exactly one audience, an https issuer, a valid name and an existing parent", async () => {
    await createIdentity("strict");
    const none = await putFic("strict", "no-audience", credential("a", []));
    assert.equal(none.status, 400);
    assert.equal(none.body.error.message, "Federated identity credentials must have exactly 1 audience.");
    const two = await putFic(
      "strict",
      "two-audiences",
      credential("a", ["api://AzureADTokenExchange", "other"]),
    );
    assert.equal(two.status, 400);
    assert.equal(
      (await putFic("strict", "http-issuer", { ...credential("a"), issuer: "http://insecure" })).status,
      400,
    );
    assert.equal((await putFic("strict", "-bad", credential("a"))).status, 400);
    const orphan = await putFic("nobody", "fic", credential("a"));
    assert.equal(orphan.status, 404);
    assert.equal(orphan.body.error.message, "The parent user-assigned identity does not exist.");
  });

  it("keeps issuer+subject unique within an identity", async () => {
    await createIdentity("unique");
    assert.equal((await putFic("unique", "first", credential("same"))).status, 201);
    const clash = await putFic("unique", "second", credential("same"));
    assert.equal(clash.status, 400);
    assert.equal(
      clash.body.error.message,
      "Issuer and subject combination already exists for this Managed Identity.",
    );
  });

  it("answers 409 to a second credential write on an identity while one is in flight", async () => {
    await createIdentity("busy");
    f.arm.updateSettings({ ficWriteSeconds: 200 }); // 200 ms at time scale 1000
    try {
      const [a, b] = await Promise.all([
        putFic("busy", "one", credential("one")),
        putFic("busy", "two", credential("two")),
      ]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [201, 409]);
      const conflict = a.status === 409 ? a : b;
      assert.equal(
        conflict.body.error.code,
        "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
      );
      await createIdentity("calm");
      const parallel = await Promise.all([
        putFic("busy", "three", credential("three")),
        putFic("calm", "one", credential("one")),
      ]);
      assert.deepEqual(
        parallel.map((r) => r.status),
        [201, 201],
        "writes under different identities run in parallel",
      );
    } finally {
      f.arm.updateSettings({ ficWriteSeconds: 0 });
    }
  });

  it("answers 409 RoleAssignmentExists for the same scope, role and principal under another name", async () => {
    const { principalId } = await createIdentity("reader");
    const first = await assign(rg, "11111111-1111-4111-8111-111111111101", {
      roleDefinitionId: role(READER),
      principalId,
      principalType: "ServicePrincipal",
    });
    assert.equal(first.status, 201, first.text);
    const again = await assign(rg, "11111111-1111-4111-8111-111111111101", {
      roleDefinitionId: role(READER),
      principalId,
      principalType: "ServicePrincipal",
    });
    assert.equal(again.status, 200, "the same assignment under its own name is idempotent");
    const duplicate = await assign(rg, "11111111-1111-4111-8111-111111111102", {
      roleDefinitionId: role(READER),
      principalId,
      principalType: "ServicePrincipal",
    });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.error.code, "RoleAssignmentExists");
  });

  it("answers RoleAssignmentUpdateNotPermitted when a name gets another principal or scope", async () => {
    const { principalId: other } = await createIdentity("other");
    const newPrincipal = await assign(rg, "11111111-1111-4111-8111-111111111101", {
      roleDefinitionId: role(READER),
      principalId: other,
      principalType: "ServicePrincipal",
    });
    assert.equal(newPrincipal.status, 400);
    assert.equal(newPrincipal.body.error.code, "RoleAssignmentUpdateNotPermitted");
    const newScope = await assign(`/subscriptions/${sub}`, "11111111-1111-4111-8111-111111111101", {
      roleDefinitionId: role(READER),
      principalId: other,
      principalType: "ServicePrincipal",
    });
    assert.equal(newScope.body.error.code, "RoleAssignmentUpdateNotPermitted");
  });

  it("answers PrincipalNotFound for a principal still replicating, unless principalType is sent", async () => {
    f.arm.updateSettings({ replicationDelaySeconds: 3600 });
    try {
      const { principalId } = await createIdentity("fresh");
      const blind = await assign(rg, "22222222-2222-4222-8222-222222222201", {
        roleDefinitionId: role(READER),
        principalId,
      });
      assert.equal(blind.status, 400);
      assert.equal(blind.body.error.code, "PrincipalNotFound");
      assert.match(blind.body.error.message, /replication delay/);
      const typed = await assign(rg, "22222222-2222-4222-8222-222222222201", {
        roleDefinitionId: role(READER),
        principalId,
        principalType: "ServicePrincipal",
      });
      assert.equal(typed.status, 201);
    } finally {
      f.arm.updateSettings({ replicationDelaySeconds: 0.01 });
    }
    const { principalId } = await createIdentity("settled");
    await sleep(50); // 10 ms of replication at time scale 1000
    const later = await assign(rg, "22222222-2222-4222-8222-222222222202", {
      roleDefinitionId: role(READER),
      principalId,
    });
    assert.equal(later.status, 201, "once replicated, principalType is not needed");
    assert.equal(later.body.properties.principalType, "ServicePrincipal");
  });

  it("answers PrincipalNotFound for a principal the directory does not hold, and checks principalType", async () => {
    const unknown = await assign(rg, "33333333-3333-4333-8333-333333333301", {
      roleDefinitionId: role(READER),
      principalId: "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f01",
      principalType: "ServicePrincipal",
    });
    assert.equal(unknown.body.error.code, "PrincipalNotFound");
    const { principalId } = await createIdentity("typed");
    const wrongType = await assign(rg, "33333333-3333-4333-8333-333333333302", {
      roleDefinitionId: role(READER),
      principalId,
      principalType: "User",
    });
    assert.equal(wrongType.body.error.code, "UnmatchedPrincipalType");
    const noRole = await assign(rg, "33333333-3333-4333-8333-333333333303", {
      roleDefinitionId: role("5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d01"),
      principalId,
      principalType: "ServicePrincipal",
    });
    assert.equal(noRole.body.error.code, "RoleDefinitionDoesNotExist");
    const badName = await assign(rg, "not-a-guid", {
      roleDefinitionId: role(READER),
      principalId,
      principalType: "ServicePrincipal",
    });
    assert.equal(badName.body.error.code, "InvalidRoleAssignmentId");
  });

  it("stops at the subscription's role assignment limit with RoleAssignmentLimitExceeded", async () => {
    const { principalId } = await createIdentity("limited");
    const listed = await f.request(
      "GET",
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`,
    );
    const existing = listed.body.value.length as number;
    f.arm.updateSettings({ roleAssignmentLimit: existing + 1 });
    try {
      const last = await assign(rg, "44444444-4444-4444-8444-444444444401", {
        roleDefinitionId: role(READER),
        principalId,
        principalType: "ServicePrincipal",
      });
      assert.equal(last.status, 201);
      const over = await assign(rg, "44444444-4444-4444-8444-444444444402", {
        roleDefinitionId: role(CONTRIBUTOR),
        principalId,
        principalType: "ServicePrincipal",
      });
      assert.equal(over.status, 400);
      assert.equal(over.body.error.code, "RoleAssignmentLimitExceeded");
    } finally {
      f.arm.updateSettings({ roleAssignmentLimit: 4000 });
    }
  });
});
