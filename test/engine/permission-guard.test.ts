// azid checks its own permissions before it writes: with a restricted credential the grant it
// may not make is never sent; the item and the verdict name the missing action; once the
// permission is granted, the same declaration converges.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { IdentityPolicy } from "../../src/api/schemas/identity-policy.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import { ActionExecutor } from "../../src/azure/executor.js";
import { OPEN_GATE } from "../../src/azure/rate-gate.js";
import { ObservationCache } from "../../src/engine/observation-cache.js";
import { PermissionGuard } from "../../src/engine/permission-guard.js";
import { syncResource } from "../../src/engine/resource-sync.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";
import { SANDBOX_CLIENT_ID, sandboxClients } from "../support/azure.js";

const MANAGED_IDENTITY_CONTRIBUTOR = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59";
const RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

describe("PermissionGuard: azid's own permissions before its writes", () => {
  let f: ArmFixture;
  let sub: string;
  let rg: string;
  const azid = randomUUID();

  before(async () => {
    f = await startArmFixture({ timeScale: 50 });
    sub = f.arm.subscriptionId;
    rg = `/subscriptions/${sub}/resourceGroups/app-rg`;
    await f.request("PUT", `${rg}?api-version=2025-04-01`, { body: { location: "westeurope" } });
    // azid's credential: a service principal that may only manage identities in app-rg.
    f.arm.addPrincipal(f.arm.tenantId, azid, { kind: "ServicePrincipal", appId: SANDBOX_CLIENT_ID });
    await grant(MANAGED_IDENTITY_CONTRIBUTOR, rg);
    await grant(READER, `/subscriptions/${sub}`);
    f.arm.setCallerRestricted(azid, true);
  });
  after(() => f.close());

  async function grant(roleGuid: string, scope: string) {
    const res = await f.request(
      "PUT",
      `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
            principalId: azid,
            principalType: "ServicePrincipal",
          },
        },
      },
    );
    assert.equal(res.status, 201, res.text);
  }

  const policy = (): IdentityPolicy => ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "IdentityPolicy",
    metadata: { name: "p" },
    spec: {
      namespaceSelector: {},
      subscriptions: [{ subscriptionId: sub }],
      roles: [{ roles: ["Reader"], scopes: [{ scope: `/subscriptions/${sub}`, match: "Under" }] }],
    },
  });

  test("a grant azid may not make is refused before it is sent, naming the action; granted later, it converges", async () => {
    const resource = {
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name: "orders", namespace: "team-a", generation: 1 },
      spec: {
        subscriptionId: sub,
        resourceGroup: "app-rg",
        location: "westeurope",
        roleAssignments: [{ role: "Reader", scope: rg }],
      },
    } as UserAssignedIdentity;
    const clients = sandboxClients(f.arm);
    const guard = new PermissionGuard(clients, f.arm.url);
    const deps = {
      executor: new ActionExecutor({ clients, gate: OPEN_GATE }),
      cache: new ObservationCache(),
      policyContext: { namespaceLabels: {}, policies: [policy()], customRoles: [] },
      allowTenantRepair: false,
      permissions: guard,
    };
    f.arm.resetStats();
    const refused = await syncResource(resource, deps);
    assert.equal(refused.verdict?.kind, "terminal");
    assert.equal(refused.verdict?.reason, "MissingPermission");
    assert.match(refused.verdict?.message ?? "", /Microsoft\.Authorization\/roleAssignments\/write/);
    assert.ok(refused.status.principalId, "the identity itself was allowed and created");
    const puts = Object.entries(f.arm.stats().byOperation).filter(
      ([operation]) => operation.startsWith("PUT") && operation.includes("roleAssignments"),
    );
    assert.deepEqual(puts, [], "no role assignment write reached ARM");
    const item = refused.status.roleAssignments?.[0] as { state?: string; message?: string } | undefined;
    assert.match(item?.message ?? "", /roleAssignments\/write/);

    await grant(RBAC_ADMINISTRATOR, rg);
    guard.clear();
    const granted = await syncResource({ ...resource, status: refused.status }, deps);
    assert.equal(granted.verdict, undefined, JSON.stringify(granted.verdict));
    assert.equal(granted.status.conditions?.find((c) => c.type === "Ready")?.status, "True");
  });
});
