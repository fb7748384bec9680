// ARM's throttling buckets (spec/azure-api/LIMITS.md) and the least time they allow for a set
// of calls: what a repair cannot beat however well it paces itself.
import type { Action, LimitClass } from "./actions.js";

export interface Bucket {
  burst: number;
  perSecond: number;
}

/**
 * Per subscription (and principal). identityCreate is documented as 80 per 20 s per
 * subscription and region; ficWrite as 2 per second per subscription, with no burst documented
 * (taken as one second's worth).
 */
export const ARM_BUCKETS: Readonly<Record<LimitClass, Bucket>> = {
  read: { burst: 250, perSecond: 25 },
  write: { burst: 200, perSecond: 10 },
  delete: { burst: 200, perSecond: 10 },
  identityCreate: { burst: 80, perSecond: 4 },
  ficWrite: { burst: 2, perSecond: 2 },
};

/** Federated credential writes per identity: 0.25 per second (burst not documented: 1). */
export const FIC_WRITES_PER_IDENTITY: Bucket = { burst: 1, perSecond: 0.25 };

/** Seconds a bucket needs to let `calls` through, starting full. */
export function bucketFloorSeconds(calls: number, bucket: Bucket): number {
  return calls <= bucket.burst ? 0 : (calls - bucket.burst) / bucket.perSecond;
}

export interface ClassFloor {
  class: LimitClass;
  calls: number;
  floorSeconds: number;
}

export interface Floor {
  /** The binding bucket's floor: the whole plan cannot take less. */
  seconds: number;
  byClass: ClassFloor[];
}

/**
 * The floor the buckets force on these actions: for each bucket (class, subscription, region
 * or identity) the time to drain its calls; the plan takes at least the largest. It ignores
 * the order the actions depend on each other in, so it is a lower bound.
 */
export function floorOf(actions: readonly Action[]): Floor {
  const buckets = new Map<string, { class: LimitClass; calls: number; bucket: Bucket }>();
  const add = (key: string, cls: LimitClass, bucket: Bucket) => {
    const entry = buckets.get(key) ?? { class: cls, calls: 0, bucket };
    entry.calls++;
    buckets.set(key, entry);
  };
  const calls = new Map<LimitClass, number>();
  for (const action of actions) {
    for (const charge of action.limits) {
      calls.set(charge.class, (calls.get(charge.class) ?? 0) + 1);
      add(
        `${charge.class}|${charge.subscriptionId ?? "tenant"}|${charge.region ?? ""}`,
        charge.class,
        ARM_BUCKETS[charge.class],
      );
      if (charge.class === "ficWrite" && charge.resourceId) {
        add(`ficWrite|identity|${charge.resourceId.toLowerCase()}`, "ficWrite", FIC_WRITES_PER_IDENTITY);
      }
    }
  }
  const byClass = [...calls.entries()].map(([cls, count]) => ({
    class: cls,
    calls: count,
    floorSeconds: Math.max(
      0,
      ...[...buckets.values()]
        .filter((b) => b.class === cls)
        .map((b) => bucketFloorSeconds(b.calls, b.bucket)),
    ),
  }));
  return { seconds: Math.max(0, ...byClass.map((c) => c.floorSeconds)), byClass };
}
