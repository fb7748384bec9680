import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { QueueError, TokenBuckets } from "../../src/queue/index.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { uniqueName } from "./helpers.js";

let redis: RedisServer;
const clients: Redis[] = [];

function client(): Redis {
  const created = new Redis(redis.url);
  clients.push(created);
  return created;
}

before(async () => {
  redis = await startRedis();
});

after(async () => {
  for (const created of clients) created.disconnect();
  await redis.stop();
});

describe("token buckets in Redis", () => {
  test("grants within capacity and says how long until it would grant more", async () => {
    const buckets = new TokenBuckets(client(), { prefix: "tb" });
    const spec = { bucket: uniqueName("reads"), capacity: 5, refillPerSecond: 10 };
    assert.deepEqual(await buckets.take({ ...spec, tokens: 5 }), { granted: true });
    const refused = await buckets.take(spec);
    assert.equal(refused.granted, false);
    if (refused.granted) return;
    assert.equal(refused.bucket, spec.bucket);
    assert.ok(
      refused.waitMs > 0 && refused.waitMs <= 100,
      `one token at 10/s is at most 100 ms away, not ${refused.waitMs}`,
    );
    await sleep(refused.waitMs + 5);
    assert.deepEqual(await buckets.take(spec), { granted: true }, "the bucket refilled as announced");
  });

  test("takes from several buckets all or nothing", async () => {
    const buckets = new TokenBuckets(client(), { prefix: "tb" });
    const writes = { bucket: uniqueName("writes"), capacity: 5, refillPerSecond: 1 };
    const identity = { bucket: uniqueName("identity"), capacity: 1, refillPerSecond: 0 };
    assert.deepEqual(await buckets.take(identity), { granted: true });
    const refused = await buckets.take([
      { ...writes, tokens: 3 },
      { ...identity, tokens: 1 },
    ]);
    assert.deepEqual(refused, { granted: false, waitMs: Number.POSITIVE_INFINITY, bucket: identity.bucket });
    assert.deepEqual(
      await buckets.take({ ...writes, tokens: 5 }),
      { granted: true },
      "the refused take left writes untouched",
    );
  });

  test("several clients hammering one bucket get exactly its capacity", async () => {
    const name = uniqueName("shared");
    const capacity = 50;
    const perClient = 30;
    const replicas = Array.from({ length: 6 }, () => new TokenBuckets(client(), { prefix: "tb" }));
    const results = await Promise.all(
      replicas.flatMap((buckets) =>
        Array.from({ length: perClient }, () => buckets.take({ bucket: name, capacity, refillPerSecond: 0 })),
      ),
    );
    assert.equal(results.filter((result) => result.granted).length, capacity);
  });

  test("concurrent multi-bucket takes never overdraw either bucket", async () => {
    const x = { bucket: uniqueName("x"), capacity: 20, refillPerSecond: 0 };
    const y = { bucket: uniqueName("y"), capacity: 30, refillPerSecond: 0 };
    const replicas = Array.from({ length: 4 }, () => new TokenBuckets(client(), { prefix: "tb" }));
    const kinds: ("xy" | "y")[] = [];
    const results = await Promise.all(
      replicas.flatMap((buckets, r) =>
        Array.from({ length: 25 }, (_, i) => {
          const both = (r + i) % 2 === 0;
          kinds.push(both ? "xy" : "y");
          return buckets.take(both ? [x, y] : [y]);
        }),
      ),
    );
    const granted = results.map((result, i) => (result.granted ? kinds[i] : undefined));
    const fromX = granted.filter((kind) => kind === "xy").length;
    const fromY = granted.filter((kind) => kind !== undefined).length;
    assert.ok(fromX <= x.capacity);
    assert.equal(fromY, y.capacity, "y was drained exactly, never beyond");
  });

  test("a reservation always takes and spreads waiters like golang.org/x/time/rate", async () => {
    const buckets = new TokenBuckets(client(), { prefix: "tb" });
    const spec = { bucket: uniqueName("retry"), capacity: 2, refillPerSecond: 10 };
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) waits.push(await buckets.reserve(spec));
    assert.deepEqual(waits.slice(0, 2), [0, 0], "the burst is free");
    for (let i = 2; i < 5; i++) {
      assert.ok(
        waits[i]! <= (i - 1) * 100,
        `reservation ${i} waits at most ${(i - 1) * 100} ms, not ${waits[i]}`,
      );
      assert.ok(waits[i]! > waits[i - 1]!, "each reservation queues behind the previous one");
    }
  });

  test("a take with maxWaitMs reserves tokens that come within that time, in line, and refuses later ones", async () => {
    const buckets = new TokenBuckets(client(), { prefix: "tb" });
    const spec = { bucket: uniqueName("paced"), capacity: 1, refillPerSecond: 10 };
    assert.deepEqual(await buckets.take(spec, { maxWaitMs: 250 }), { granted: true }, "the burst is free");
    const first = await buckets.take(spec, { maxWaitMs: 250 });
    const second = await buckets.take(spec, { maxWaitMs: 250 });
    assert.ok(first.granted && first.waitMs !== undefined && first.waitMs > 0 && first.waitMs <= 100);
    assert.ok(second.granted && second.waitMs !== undefined, "within the wait allowed");
    assert.ok(second.waitMs > first.waitMs! && second.waitMs <= 200, "queued behind the first reservation");
    const third = await buckets.take(spec, { maxWaitMs: 250 });
    assert.ok(!third.granted && third.waitMs > 200 && third.waitMs <= 300, "about 300 ms away: refused");
    const fourth = await buckets.take(spec, { maxWaitMs: 400 });
    assert.ok(
      fourth.granted && fourth.waitMs !== undefined && fourth.waitMs <= 300,
      "the refusal reserved nothing: the next slot is still the third one",
    );
    assert.equal((await buckets.take(spec)).granted, false, "a plain take does not jump the queue");
  });

  test("buckets live under the prefix and expire once they would be full again", async () => {
    const raw = client();
    const buckets = new TokenBuckets(raw, { prefix: "install-a" });
    const name = uniqueName("idle");
    await buckets.take({ bucket: name, capacity: 10, refillPerSecond: 5, tokens: 4 });
    const ttl = await raw.pttl(`install-a:bucket:${name}`);
    assert.ok(ttl > 0 && ttl <= 4 * 200 + 1000, `an idle bucket expires once refilled (pttl ${ttl})`);
  });

  test("rejects requests that cannot be right", async () => {
    const buckets = new TokenBuckets(client(), { prefix: "tb" });
    const bucket = uniqueName("bad");
    const code = (code: string) => (err: unknown) => err instanceof QueueError && err.code === code;
    await assert.rejects(buckets.take([]), code("InvalidOption"));
    await assert.rejects(buckets.take({ bucket, capacity: 0, refillPerSecond: 1 }), code("InvalidOption"));
    await assert.rejects(buckets.take({ bucket, capacity: 1, refillPerSecond: -1 }), code("InvalidOption"));
    await assert.rejects(
      buckets.take({ bucket, capacity: 2, refillPerSecond: 1, tokens: 3 }),
      code("BucketRequestTooLarge"),
    );
    await assert.rejects(buckets.reserve({ bucket, capacity: 2, refillPerSecond: 0 }), code("InvalidOption"));
    await assert.rejects(
      buckets.take([
        { bucket, capacity: 2, refillPerSecond: 1 },
        { bucket, capacity: 3, refillPerSecond: 1 },
      ]),
      code("InvalidOption"),
    );
  });
});
