// The Azure layer's rate gate on the queue's token buckets in a real redis-server: ARM's buckets
// per subscription (and region, and identity), shared by every replica, all or nothing, 5% of each
// burst left to ARM, a short wait in line for a token about to come, and refilled faster against a
// sandbox whose clock runs faster.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RedisRateGate } from "../../src/controller/redis-rate-gate.js";
import type { LimitCharge } from "../../src/plan/actions.js";
import { WorkQueue } from "../../src/queue/index.js";
import { cleanUp, testLogger } from "../kube/support/cluster.js";
import { type RedisServer, startRedis } from "../support/redis.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const OTHER_SUB = "22222222-2222-2222-2222-222222222222";
const write = (subscriptionId = SUB): LimitCharge => ({ class: "write", subscriptionId });

describe("Redis rate gate", () => {
  let redis: RedisServer;
  const queues: WorkQueue[] = [];
  let prefixes = 0;

  before(async () => {
    redis = await startRedis();
  });
  after(() => cleanUp(...queues.map((queue) => () => queue.close()), () => redis.stop()));

  /** Two replicas' gates on one Redis (one installation prefix). */
  async function replicas(timeScale = 1, maxWaitMs = 0): Promise<[RedisRateGate, RedisRateGate]> {
    const prefix = `gate${prefixes++}`;
    const open = async () => {
      const queue = await WorkQueue.open({
        name: "manager",
        prefix,
        redis: { url: redis.url },
        logger: testLogger(),
      });
      queues.push(queue);
      return new RedisRateGate(queue.buckets, { timeScale, maxWaitMs });
    };
    return [await open(), await open()];
  }

  /** Takes `count` tokens in one call (one script run: no refill in between). */
  async function drain(gate: RedisRateGate, charge: LimitCharge, count: number): Promise<void> {
    assert.deepEqual(await gate.take(Array.from({ length: count }, () => charge)), { granted: true });
  }

  test("every replica draws from the same per-subscription bucket (writes: 190 of ARM's 200 at once, 10 per second)", async () => {
    const [a, b] = await replicas();
    await drain(a, write(), 120);
    await drain(b, write(), 70);
    const refused = await a.take([write()]);
    assert.equal(refused.granted, false);
    assert.ok(
      !refused.granted && refused.retryAfterMs > 0 && refused.retryAfterMs <= 100,
      "one token is 100 ms away",
    );
    assert.deepEqual(
      await b.take([write(OTHER_SUB)]),
      { granted: true },
      "another subscription has its own bucket",
    );
    assert.deepEqual(
      await b.take([{ class: "read", subscriptionId: SUB }]),
      { granted: true },
      "reads are another bucket",
    );
  });

  test("identity creation is counted per subscription and region", async () => {
    const [gate] = await replicas();
    const create = (region: string): LimitCharge => ({
      class: "identityCreate",
      subscriptionId: SUB,
      region,
    });
    await drain(gate, create("westeurope"), 76);
    assert.equal(
      (await gate.take([create("WestEurope")])).granted,
      false,
      "regions compare case-insensitively",
    );
    assert.deepEqual(await gate.take([create("eastus")]), { granted: true });
  });

  test("federated credential writes: per identity and per subscription, all or nothing", async () => {
    const [gate] = await replicas();
    const fic = (identity: string): LimitCharge => ({
      class: "ficWrite",
      subscriptionId: SUB,
      resourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity}`,
    });
    assert.deepEqual(await gate.take([fic("one")]), { granted: true });
    const again = await gate.take([fic("one")]);
    assert.ok(!again.granted && again.retryAfterMs > 3000, "0.25 writes per second per identity");
    assert.equal(
      (await gate.take([fic("two")])).granted,
      false,
      "the subscription's bucket is empty: ARM allows 2 at once, azid leaves it one",
    );
    // A refused request takes nothing: the write bucket is untouched by the failed ficWrite+write pair.
    const pair = await gate.take([fic("four"), write()]);
    assert.equal(pair.granted, false);
    await drain(gate, write(), 190);
  });

  test("against a sandbox that runs 100 times faster, the buckets refill 100 times faster", async () => {
    const [slow] = await replicas(1);
    const [fast] = await replicas(100);
    assert.equal(slow.requestsOf(write())[0]?.refillPerSecond, 10);
    assert.equal(fast.requestsOf(write())[0]?.refillPerSecond, 1000);
    assert.equal(fast.requestsOf(write())[0]?.capacity, 190, "the burst stays ARM's (less 5%)");
    await drain(fast, write(), 190);
    await drain(slow, write(), 190);
    assert.equal((await slow.take([write()])).granted, false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    // 60 ms here are 6 s of the sandbox's clock: 60 write tokens.
    await drain(fast, write(), 40);
  });

  test("a call waits in line for a token about to come, and is refused beyond the wait allowed", async () => {
    const [gate] = await replicas(100, 100);
    await drain(gate, write(), 190);
    // At 1,000 tokens per second, the next 100 are within 100 ms: each caller gets its own slot.
    const waited = await Promise.all(Array.from({ length: 50 }, () => gate.take([write()])));
    assert.ok(waited.every((decision) => decision.granted));
    const refused = await gate.take(Array.from({ length: 150 }, () => write()));
    assert.ok(!refused.granted && refused.retryAfterMs > 100, "150 more are beyond the 100 ms allowed");
  });
});
