import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ObservationCache, vaultTtlFor } from "../../src/engine/observation-cache.js";
import { emptyObserved } from "../../src/plan/observed.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const withTenant = (tenantId: string) => ({
  ...emptyObserved(),
  subscriptions: { [SUB]: { subscriptionId: SUB, tenantId } },
});

describe("ObservationCache", () => {
  test("a reconcile that outlives clear() does not bring back what it was prefilled with", () => {
    const cache = new ObservationCache();
    cache.harvest(withTenant("old"));
    const prefilled = cache.prefill(emptyObserved());
    assert.equal(prefilled.subscriptions[SUB]?.tenantId, "old");
    cache.clear(); // azid's credential changed meanwhile
    cache.harvest(prefilled, prefilled);
    assert.equal(cache.prefill(emptyObserved()).subscriptions[SUB], undefined);
  });

  test("what a reconcile read is kept, and a fresh entry is not extended", () => {
    let now = 0;
    const cache = new ObservationCache(
      { subscriptionMs: 1000, servicePrincipalMs: 1000, roleDefinitionMs: 1000 },
      () => now,
    );
    const prefilled = cache.prefill(emptyObserved());
    cache.harvest(withTenant("read"), prefilled);
    now = 900;
    cache.harvest(withTenant("again"), cache.prefill(emptyObserved()));
    assert.equal(cache.prefill(emptyObserved()).subscriptions[SUB]?.tenantId, "read");
    now = 1000;
    assert.equal(cache.prefill(emptyObserved()).subscriptions[SUB], undefined, "expired");
  });

  test("forgetSubscription drops the tenant", () => {
    const cache = new ObservationCache();
    cache.harvest(withTenant("old"));
    cache.forgetSubscription(SUB);
    assert.equal(cache.prefill(emptyObserved()).subscriptions[SUB], undefined);
  });

  test("a vault read is shared until half a resync period, and a vault written keeps its expiry", () => {
    let now = 0;
    const VAULT = "/subscriptions/s/resourcegroups/g/providers/microsoft.keyvault/vaults/kv";
    const vault = (objectIds: string[]) => ({
      ...emptyObserved(),
      vaults: {
        [VAULT]: {
          id: VAULT,
          tenantId: "t",
          rbac: false,
          accessPolicies: objectIds.map((objectId) => ({ tenantId: "t", objectId, permissions: {} })),
        },
      },
    });
    assert.equal(vaultTtlFor(600_000), 30_000);
    assert.equal(vaultTtlFor(3_000), 1_500);
    const cache = new ObservationCache({ vaultMs: vaultTtlFor(3_000) }, () => now);
    cache.harvest(vault(["a"]), cache.prefill(emptyObserved()));
    now = 1000;
    const second = cache.prefill(emptyObserved());
    assert.deepEqual(
      second.vaults[VAULT]?.accessPolicies.map((e) => e.objectId),
      ["a"],
      "shared read",
    );
    // That reconcile added its entry: the next one sees it, and the entry still expires at 1500.
    cache.harvest(vault(["a", "b"]), second);
    assert.deepEqual(
      cache.prefill(emptyObserved()).vaults[VAULT]?.accessPolicies.map((e) => e.objectId),
      ["a", "b"],
    );
    now = 1500;
    assert.equal(cache.prefill(emptyObserved()).vaults[VAULT], undefined, "the next resync reads again");
  });
});
