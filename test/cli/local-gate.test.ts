// The CLI's in-process rate gate on a fake clock: bursts, refill, all-or-nothing charges over
// several buckets, and the sandbox's time scale.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LocalRateGate } from "../../src/azure/local-gate.js";
import type { LimitCharge } from "../../src/plan/actions.js";

const SUB = "11111111-1111-1111-1111-111111111111";

function fakeClock() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

/** When (ms on the fake clock) each of `n` takes of `charges` is granted, one after another. */
async function grantTimes(
  gate: LocalRateGate,
  clock: ReturnType<typeof fakeClock>,
  charges: LimitCharge[],
  n: number,
) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    await gate.take(charges);
    times.push(clock.now());
  }
  return times;
}

describe("LocalRateGate", () => {
  test("a full bucket lets its burst through at once, then one call per refill interval", async () => {
    const clock = fakeClock();
    const gate = new LocalRateGate(clock);
    const times = await grantTimes(gate, clock, [{ class: "write", subscriptionId: SUB }], 203);
    assert.deepEqual(times.slice(0, 200), new Array(200).fill(0));
    // Writes refill at 10 per second.
    assert.deepEqual(times.slice(200), [100, 200, 300]);
  });

  test("identity creation is paced per region, on top of the write bucket", async () => {
    const clock = fakeClock();
    const gate = new LocalRateGate(clock);
    const create = (region: string): LimitCharge[] => [
      { class: "write", subscriptionId: SUB },
      { class: "identityCreate", subscriptionId: SUB, region },
    ];
    const west = await grantTimes(gate, clock, create("westeurope"), 82);
    // 80 per 20 s: the 81st waits a quarter second.
    assert.equal(west[79], 0);
    assert.equal(west[80], 250);
    // Another region has its own bucket (the write bucket still has tokens).
    await gate.take(create("northeurope"));
    assert.equal(clock.now(), 500);
  });

  test("federated credential writes: 0.25 per second per identity", async () => {
    const clock = fakeClock();
    const gate = new LocalRateGate(clock);
    const fic = (identity: string): LimitCharge[] => [
      { class: "ficWrite", subscriptionId: SUB, resourceId: identity },
    ];
    assert.deepEqual(await grantTimes(gate, clock, fic("/id/a"), 3), [0, 4000, 8000]);
  });

  test("a sandbox time scale refills that many times faster", async () => {
    const clock = fakeClock();
    const gate = new LocalRateGate({ ...clock, timeScale: 50 });
    const times = await grantTimes(gate, clock, [{ class: "delete", subscriptionId: SUB }], 202);
    assert.deepEqual(times.slice(200), [2, 4]);
  });

  test("concurrent callers are served in the order they asked", async () => {
    // The clock stands still: every caller asks at the same instant.
    const waits: number[] = [];
    const gate = new LocalRateGate({
      now: () => 0,
      sleep: async (ms) => {
        waits.push(ms);
      },
      buckets: { ...defaultBuckets(), read: { burst: 1, perSecond: 1 } },
    });
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2].map(async (i) => {
        await gate.take([{ class: "read", subscriptionId: SUB }]);
        order.push(i);
      }),
    );
    assert.deepEqual(order, [0, 1, 2]);
    assert.deepEqual(waits, [1000, 2000]);
    assert.equal(gate.totalWaitMs, 3000);
  });
});

function defaultBuckets() {
  return {
    read: { burst: 250, perSecond: 25 },
    write: { burst: 200, perSecond: 10 },
    delete: { burst: 200, perSecond: 10 },
    identityCreate: { burst: 80, perSecond: 4 },
    ficWrite: { burst: 2, perSecond: 2 },
  };
}
