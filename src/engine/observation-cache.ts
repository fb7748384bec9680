import type { ObservedState } from "../plan/observed.js";

/**
 * What stays true across reconciles long enough to be worth a few seconds or minutes of
 * memory instead of an ARM read per reconcile: a subscription's tenant (short: a tenant move
 * must be seen soon), the service principal of an API in a tenant (Microsoft Graph's), and
 * role definitions found by name. Entries are copied into a reconcile's observed state before
 * it plans and harvested from it afterwards.
 */
export class ObservationCache {
  private readonly entries = new Map<string, { value: unknown; expires: number }>();

  constructor(
    private readonly ttl: { subscriptionMs: number; servicePrincipalMs: number; roleDefinitionMs: number } = {
      subscriptionMs: 30_000,
      servicePrincipalMs: 3_600_000,
      roleDefinitionMs: 600_000,
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** A copy of `observed` with every fresh cached entry filled in. */
  prefill(observed: ObservedState): ObservedState {
    const next = {
      ...observed,
      subscriptions: { ...observed.subscriptions },
      servicePrincipals: { ...observed.servicePrincipals },
      roleDefinitionsByName: { ...observed.roleDefinitionsByName },
    };
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expires <= now) {
        this.entries.delete(key);
        continue;
      }
      const [field, id] = splitKey(key);
      (next[field] as Record<string, unknown>)[id] ??= entry.value;
    }
    return next;
  }

  /**
   * Remembers what a reconcile read (absent answers too), without extending fresh entries.
   * `prefilled` is what prefill() gave that reconcile: its entries were not read, so they are not
   * stored again (a reconcile that outlives clear() must not bring back what clear() dropped).
   */
  harvest(observed: ObservedState, prefilled?: ObservedState): void {
    const read = <T>(field: CachedField, values: Record<string, T>): Record<string, T> => {
      const before = prefilled?.[field] as Record<string, T> | undefined;
      return Object.fromEntries(Object.entries(values).filter(([id, value]) => before?.[id] !== value));
    };
    this.store("subscriptions", read("subscriptions", observed.subscriptions), this.ttl.subscriptionMs);
    this.store(
      "servicePrincipals",
      read("servicePrincipals", observed.servicePrincipals),
      this.ttl.servicePrincipalMs,
    );
    this.store(
      "roleDefinitionsByName",
      read("roleDefinitionsByName", observed.roleDefinitionsByName),
      this.ttl.roleDefinitionMs,
    );
  }

  /** Forgets a subscription's tenant, e.g. when ARM refused a token as from another tenant. */
  forgetSubscription(subscriptionKey: string): void {
    this.entries.delete(`subscriptions|${subscriptionKey}`);
  }

  clear(): void {
    this.entries.clear();
  }

  private store(field: CachedField, values: Record<string, unknown>, ttlMs: number): void {
    const now = this.now();
    for (const [id, value] of Object.entries(values)) {
      const key = `${field}|${id}`;
      const entry = this.entries.get(key);
      if (entry && entry.expires > now) continue;
      this.entries.set(key, { value, expires: now + ttlMs });
    }
  }
}

type CachedField = "subscriptions" | "servicePrincipals" | "roleDefinitionsByName";

function splitKey(key: string): [CachedField, string] {
  const index = key.indexOf("|");
  return [key.slice(0, index) as CachedField, key.slice(index + 1)];
}
