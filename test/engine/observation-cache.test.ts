import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ObservationCache } from "../../src/engine/observation-cache.js";
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
});
