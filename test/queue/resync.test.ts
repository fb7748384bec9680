import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import type { WorkQueue } from "../../src/queue/index.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { eventually, gate, openTestQueue, RunLog, retryAlways, uniqueName } from "./helpers.js";

let redis: RedisServer;
let raw: Redis;
const opened: WorkQueue[] = [];

before(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});

after(async () => {
  await Promise.all(opened.map((queue) => queue.close({ gracePeriodMs: 100 })));
  raw.disconnect();
  await redis.stop();
});

describe("6: periodic resync", () => {
  test("one scheduler per queue re-adds every key through the deduplicating add", async () => {
    const name = uniqueName("resync");
    const keys = ["ns/a", "ns/b", "ns/c", "ns/slow"];
    const log = new RunLog();
    const slowStarted = gate();
    const releaseSlow = gate();
    let slowRuns = 0;
    let resyncCalls = 0;
    const listKeys = () => {
      resyncCalls++;
      return keys;
    };
    const reconcile = log.reconciler("r", async (key) => {
      if (key === "ns/slow" && ++slowRuns === 1) {
        slowStarted.open();
        await releaseSlow.promise;
      }
    });
    const replicas = [await openTestQueue(redis.url, { name }), await openTestQueue(redis.url, { name })];
    opened.push(...replicas);
    for (const replica of replicas) {
      await replica.start({
        concurrency: 4,
        reconcile,
        classify: retryAlways,
        resync: { periodMs: 250, listKeys },
      });
    }
    assert.deepEqual(
      await raw.zrange(`azid:${name}:repeat`, "0", "-1"),
      ["resync"],
      "two replicas, one scheduler",
    );

    // While one run of ns/slow lasts several resync periods, its resync adds coalesce into one rerun.
    await slowStarted.promise;
    const callsAtStart = resyncCalls;
    await eventually("three resyncs happened while ns/slow ran", () => resyncCalls >= callsAtStart + 3);
    const counts = await replicas[0]!.counts();
    assert.ok(counts.ready <= keys.length, `resync never queues a key twice (ready ${counts.ready})`);
    releaseSlow.open();
    await eventually("every key was resynced several times", () =>
      keys.every((key) => log.of(key).length >= 3),
    );
    assert.deepEqual(log.overlaps, []);
    const slow = log.of("ns/slow");
    assert.ok(slow[1]!.start >= slow[0]!.end);
    assert.equal(
      slow.filter((run) => run.start < slow[0]!.end).length,
      1,
      "resync adds during the long run did not start a second one beside it",
    );
  });

  test("turning resync off removes the scheduler", async () => {
    const name = uniqueName("resync-off");
    const on = await openTestQueue(redis.url, { name });
    await on.start({
      concurrency: 1,
      reconcile: async () => {},
      classify: retryAlways,
      resync: { periodMs: 60_000, listKeys: () => [] },
    });
    assert.equal(await raw.zcard(`azid:${name}:repeat`), 1);
    await on.close({ gracePeriodMs: 100 });
    const off = await openTestQueue(redis.url, { name });
    opened.push(off);
    await off.start({ concurrency: 1, reconcile: async () => {}, classify: retryAlways });
    assert.equal(await raw.zcard(`azid:${name}:repeat`), 0);
  });

  test("a starting replica's first resync is a period away: its informers' initial lists add every key", async () => {
    const name = uniqueName("resync-first");
    const periodMs = 60_000;
    const queue = await openTestQueue(redis.url, { name });
    opened.push(queue);
    const startedAt = Date.now();
    let listed = 0;
    await queue.start({
      concurrency: 1,
      reconcile: async () => {},
      classify: retryAlways,
      resync: {
        periodMs,
        listKeys: () => {
          listed++;
          return [];
        },
      },
    });
    const next = Number(await raw.zscore(`azid:${name}:repeat`, "resync"));
    assert.ok(next >= startedAt + periodMs, `first resync at +${next - startedAt} ms`);
    assert.equal((await queue.counts()).ready, 0, "nothing queued to run now");
    assert.equal(listed, 0);
  });
});
