// syncResource: one reconcile of one azid resource, through the real planner, executor and
// SDK clients, against the ARM emulator.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { ResourceManagementClient } from "@azure/arm-resources";
import type { IdentityPolicy } from "../../src/api/schemas/identity-policy.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import { ObservationCache } from "../../src/engine/observation-cache.js";
import { type SyncDependencies, syncResource } from "../../src/engine/resource-sync.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";
import { sandboxExecutor } from "../support/azure.js";

/** Lets every namespace manage identities in `subscriptionId`, grant Reader, attach anywhere. */
const allowAll = (subscriptionId: string): IdentityPolicy => ({
  apiVersion: "azid.dev/v1alpha1",
  kind: "IdentityPolicy",
  metadata: { name: "allow-all" },
  spec: {
    namespaceSelector: {},
    subscriptions: [{ subscriptionId }],
    roles: [{ roles: ["Reader"], scopes: [{ scope: `/subscriptions/${subscriptionId}`, match: "Under" }] }],
    attachTargets: [{ scope: `/subscriptions/${subscriptionId}`, match: "Under" }],
  },
});

describe("syncResource", () => {
  let f: ArmFixture;
  let sub: string;
  let rg: string;
  let vm: string;
  let cache: ObservationCache;

  before(async () => {
    f = await startArmFixture({ timeScale: 50 });
    sub = f.arm.subscriptionId;
    rg = `/subscriptions/${sub}/resourceGroups/app-rg`;
    vm = `${rg}/providers/Microsoft.Compute/virtualMachines/vm-1`;
    const resources = new ResourceManagementClient(f.credential, sub, f.clientOptions());
    await resources.resourceGroups.createOrUpdate("app-rg", { location: "westeurope" });
    await resources.resources.beginCreateOrUpdateByIdAndWait(vm, "2024-11-01", { location: "westeurope" });
  });
  after(() => f.close());
  beforeEach(() => {
    cache = new ObservationCache();
    f.arm.setFaults({});
    f.arm.setPolicies([]);
  });

  const identity = (
    name: string,
    policies: IdentityPolicy[] = [allowAll(sub)],
  ): [UserAssignedIdentity, SyncDependencies] => [
    {
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name, namespace: "team-a", generation: 1 },
      spec: {
        subscriptionId: sub,
        resourceGroup: "app-rg",
        location: "westeurope",
        roleAssignments: [{ role: "Reader", scope: rg }],
        attachTo: [vm],
      },
    } as UserAssignedIdentity,
    {
      executor: sandboxExecutor(f.arm),
      cache,
      policyContext: { namespaceLabels: {}, policies, customRoles: [] },
      allowTenantRepair: false,
    },
  ];

  test("a resync of a Ready identity costs its reads only: identity, credentials, grants, one per attachment", async () => {
    const [resource, deps] = identity("steady");
    const first = await syncResource(resource, deps);
    assert.equal(first.verdict, undefined);
    const again = await syncResource({ ...resource, status: first.status }, deps);
    assert.equal(again.writes, 0);
    assert.equal(again.reads, 4, "the subscription's tenant comes from the cache");
    assert.equal(again.status.conditions?.find((c) => c.type === "Ready")?.status, "True");
  });

  test("a namespace no IdentityPolicy selects gets PolicyViolation and Azure sees no write", async () => {
    const [resource, deps] = identity("refused", []);
    f.arm.resetStats();
    const outcome = await syncResource(resource, deps);
    assert.equal(outcome.policy.allowed, false);
    assert.equal(outcome.writes, 0);
    assert.equal(f.arm.stats().requests.write, 0);
    const violation = outcome.status.conditions?.find((c) => c.type === "PolicyViolation");
    assert.equal(violation?.status, "True");
  });

  test("an Azure Policy denial is terminal and names the policy", async () => {
    f.arm.setPolicies([
      {
        name: "no-identities",
        scope: `/subscriptions/${sub}`,
        resourceType: "Microsoft.ManagedIdentity/userAssignedIdentities",
      },
    ]);
    const [resource, deps] = identity("denied");
    const outcome = await syncResource(resource, deps);
    assert.equal(outcome.verdict?.kind, "terminal");
    assert.equal(outcome.verdict?.reason, "AzurePolicyDenied");
    const ready = outcome.status.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "False");
    assert.match(ready?.message ?? "", /no-identities/);
  });

  test("throttling answers a wait, not an error", async () => {
    f.arm.setFaults({ write: { throttleRate: 1 } });
    const [resource, deps] = identity("throttled");
    const outcome = await syncResource(resource, deps);
    assert.equal(outcome.verdict?.kind, "throttled");
    assert.ok(outcome.verdict?.kind === "throttled" && outcome.verdict.retryAfterMs > 0);
  });

  test("after a tenant move: reported, then repaired when allowed, with a new principal", async () => {
    const [resource, deps] = identity("moved");
    const ready = await syncResource(resource, deps);
    const oldPrincipal = ready.status.principalId;
    const newTenant = "99999999-aaaa-4bbb-8ccc-dddddddddddd";
    f.arm.moveSubscription(sub, newTenant);
    cache.clear();

    const stale = await syncResource({ ...resource, status: ready.status }, deps);
    assert.equal(stale.verdict?.reason, "CredentialTenantMismatch", "the old tenant's credential is refused");

    const moved = { ...deps, executor: sandboxExecutor(f.arm, { tenantId: newTenant }) };
    const reported = await syncResource({ ...resource, status: ready.status }, moved);
    assert.equal(reported.writes, 0);
    assert.equal(reported.status.conditions?.find((c) => c.type === "TenantMismatch")?.status, "True");

    const repaired = await syncResource(
      { ...resource, status: reported.status },
      { ...moved, allowTenantRepair: true },
    );
    assert.equal(repaired.verdict, undefined, JSON.stringify(repaired.verdict));
    assert.notEqual(repaired.status.principalId, oldPrincipal);
    assert.equal(repaired.status.tenantId, newTenant);
    const target = await f.request("GET", `${vm}?api-version=2024-11-01`);
    const attached = Object.entries(
      target.body.identity.userAssignedIdentities as Record<string, { principalId: string }>,
    )
      .filter(([id]) => id.toLowerCase().endsWith("/moved"))
      .map(([, value]) => value.principalId);
    assert.deepEqual(attached, [repaired.status.principalId], "re-attached with the new principal");
  });

  test("after a tenant move, the tenant cached before it is dropped once ARM refuses the old credential", async () => {
    const [resource, defaults] = identity("cached");
    // The suite's subscription may have moved already: start from its tenant now.
    const { tenantId } = (await f.request("GET", `/subscriptions/${sub}?api-version=2022-12-01`)).body;
    const deps = { ...defaults, executor: sandboxExecutor(f.arm, { tenantId }) };
    const ready = await syncResource(resource, deps);
    assert.equal(ready.verdict, undefined, JSON.stringify(ready.verdict));
    const newTenant = "88888888-aaaa-4bbb-8ccc-dddddddddddd";
    f.arm.moveSubscription(sub, newTenant);

    const stale = await syncResource({ ...resource, status: ready.status }, deps);
    assert.equal(stale.verdict?.reason, "CredentialTenantMismatch");
    const moved = { ...deps, executor: sandboxExecutor(f.arm, { tenantId: newTenant }) };
    const reported = await syncResource({ ...resource, status: ready.status }, moved);
    const mismatch = reported.status.conditions?.find((c) => c.type === "TenantMismatch");
    assert.equal(mismatch?.status, "True", "not the tenant read before the move");
    assert.equal(reported.writes, 0, "no grant for the old principal is attempted");
  });
});
