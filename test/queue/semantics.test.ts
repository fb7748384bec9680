import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { WorkQueue } from "../../src/queue/index.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { eventually, gate, openTestQueue, RunLog, retryAlways, uniqueName } from "./helpers.js";

let redis: RedisServer;
const opened: WorkQueue[] = [];

async function open(name = uniqueName("sem")): Promise<WorkQueue> {
  const queue = await openTestQueue(redis.url, { name });
  opened.push(queue);
  return queue;
}

async function idle(queue: WorkQueue): Promise<void> {
  await eventually("the queue is empty", async () => {
    const counts = await queue.counts();
    return counts.ready + counts.delayed + counts.active === 0;
  });
}

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await Promise.all(opened.map((queue) => queue.close({ gracePeriodMs: 100 })));
  await redis.stop();
});

describe("work queue semantics (client-go workqueue guarantees)", () => {
  test("1: a key is never reconciled by two workers at once, across replicas", async () => {
    const name = uniqueName("g1");
    const [a, b] = [await open(name), await open(name)];
    const log = new RunLog();
    const body = async () => {
      await sleep(1 + Math.random() * 4);
    };
    await a.start({ concurrency: 8, reconcile: log.reconciler("a", body), classify: retryAlways });
    await b.start({ concurrency: 8, reconcile: log.reconciler("b", body), classify: retryAlways });
    const keys = Array.from({ length: 20 }, (_, i) => `ns/obj-${i}`);
    const lastAdd = new Map<string, number>();
    for (let round = 0; round < 8; round++) {
      // Both replicas add every key at once, so copies of a key would sit side by side if
      // nothing kept them apart.
      await Promise.all(
        keys.flatMap((key) => {
          lastAdd.set(key, performance.now());
          return [a.add(key), b.add(key)];
        }),
      );
      await sleep(3);
    }
    await eventually("every key ran after its last add", () =>
      keys.every((key) => log.of(key).some((run) => run.start >= (lastAdd.get(key) ?? 0))),
    );
    await idle(a);
    assert.deepEqual(log.overlaps, [], "a key ran twice at once");
    for (const key of keys) {
      const runs = log.of(key);
      for (let i = 1; i < runs.length; i++) {
        const [previous, current] = [runs[i - 1]!, runs[i]!];
        assert.ok(current.start >= previous.end, `${key}: run ${i} started before run ${i - 1} ended`);
      }
    }
    const replicas = new Set(log.runs.map((run) => run.replica));
    assert.deepEqual([...replicas].sort(), ["a", "b"], "both replicas took work");
  });

  test("2: adding a key that is already waiting coalesces with it", async () => {
    const queue = await open();
    for (let i = 0; i < 25; i++) await queue.add("ns/same");
    await queue.add("ns/other");
    assert.equal(await queue.depth(), 2, "25 adds of one key and 1 of another make two waiting jobs");
    const log = new RunLog();
    await queue.start({ concurrency: 4, reconcile: log.reconciler("r"), classify: retryAlways });
    await eventually("both keys ran", () => log.runs.length >= 2);
    await idle(queue);
    assert.equal(log.of("ns/same").length, 1);
    assert.equal(log.of("ns/other").length, 1);
  });

  test("3: an add while the key is being reconciled runs again after it, once", async () => {
    const queue = await open();
    const log = new RunLog();
    const firstRun = gate();
    const release = gate();
    let runs = 0;
    await queue.start({
      concurrency: 4,
      reconcile: log.reconciler("r", async () => {
        if (++runs === 1) {
          firstRun.open();
          await release.promise;
        }
      }),
      classify: retryAlways,
    });
    await queue.add("ns/busy");
    await firstRun.promise;
    let lastAdd = 0;
    for (let i = 0; i < 3; i++) {
      lastAdd = performance.now();
      await queue.add("ns/busy");
    }
    assert.equal(await queue.depth(), 0, "adds during a run are remembered, not queued beside it");
    release.open();
    await eventually("the key ran again", () => log.of("ns/busy").length >= 2);
    await idle(queue);
    const [first, second, ...rest] = log.of("ns/busy");
    assert.equal(rest.length, 0, "three adds during one run make one more run");
    assert.ok(second!.start >= first!.end, "the second run waited for the first");
    assert.ok(second!.start >= lastAdd, "the second run started after the last add");
  });

  describe("5: delayed requeues", () => {
    test("an immediate add overrides a requeueAfter", async () => {
      const queue = await open();
      const log = new RunLog();
      await queue.start({
        concurrency: 1,
        reconcile: log.reconciler("r", async () =>
          log.of("ns/k").length === 0 ? { requeueAfterMs: 60_000 } : {},
        ),
        classify: retryAlways,
      });
      await queue.add("ns/k");
      await eventually("the requeue is parked", async () => (await queue.counts()).delayed === 1);
      await queue.add("ns/k");
      await eventually("the key ran again", () => log.of("ns/k").length === 2);
      await idle(queue);
      assert.equal(log.of("ns/k").length, 2, "the 60 s requeue was replaced, not kept besides");
    });

    test("an earlier addAfter wins over a later one, whichever comes first", async () => {
      const queue = await open();
      const log = new RunLog();
      await queue.addAfter("ns/late-first", 60_000);
      const shortAsked = performance.now();
      await queue.addAfter("ns/late-first", 300);
      await queue.addAfter("ns/short-first", 300);
      await queue.addAfter("ns/short-first", 60_000);
      assert.deepEqual(await queue.counts(), { ready: 0, delayed: 2, active: 0 }, "one delayed job per key");
      await queue.start({ concurrency: 2, reconcile: log.reconciler("r"), classify: retryAlways });
      await eventually("both keys ran", () => log.runs.length === 2);
      await idle(queue);
      assert.equal(log.of("ns/late-first").length, 1);
      assert.equal(log.of("ns/short-first").length, 1);
      assert.ok(log.of("ns/late-first")[0]!.start >= shortAsked + 300, "a delayed add never runs early");
    });

    test("an add during a run beats the requeueAfter that run returns", async () => {
      const queue = await open();
      const log = new RunLog();
      const started = gate();
      const release = gate();
      await queue.start({
        concurrency: 1,
        reconcile: log.reconciler("r", async () => {
          if (log.of("ns/k").length > 0) return {};
          started.open();
          await release.promise;
          return { requeueAfterMs: 60_000 };
        }),
        classify: retryAlways,
      });
      await queue.add("ns/k");
      await started.promise;
      await queue.add("ns/k");
      release.open();
      await eventually("the key ran again", () => log.of("ns/k").length === 2);
      await idle(queue);
      assert.equal(log.of("ns/k").length, 2);
    });

    test("a later addAfter during a run does not push back an add made during it", async () => {
      const queue = await open();
      const log = new RunLog();
      const started = gate();
      const release = gate();
      await queue.start({
        concurrency: 1,
        reconcile: log.reconciler("r", async () => {
          if (log.of("ns/k").length > 0) return;
          started.open();
          await release.promise;
        }),
        classify: retryAlways,
      });
      await queue.add("ns/k");
      await started.promise;
      await queue.add("ns/k");
      await queue.addAfter("ns/k", 60_000);
      release.open();
      await eventually("the key ran again", () => log.of("ns/k").length === 2);
      await idle(queue);
      assert.equal(log.of("ns/k").length, 2, "the 60 s request is covered by the immediate run");
    });

    test("an addAfter during a run runs after the run and not before its time", async () => {
      const queue = await open();
      const log = new RunLog();
      const started = gate();
      const release = gate();
      await queue.start({
        concurrency: 1,
        reconcile: log.reconciler("r", async () => {
          if (log.of("ns/k").length > 0) return;
          started.open();
          await release.promise;
        }),
        classify: retryAlways,
      });
      await queue.add("ns/k");
      await started.promise;
      const asked = performance.now();
      await queue.addAfter("ns/k", 400);
      await queue.addAfter("ns/k", 60_000);
      release.open();
      await eventually("the key ran again", () => log.of("ns/k").length === 2);
      await idle(queue);
      const [first, second] = log.of("ns/k");
      assert.ok(second!.start >= first!.end);
      assert.ok(second!.start >= asked + 400, "the requested delay was honoured");
      assert.equal(log.of("ns/k").length, 2);
    });
  });
});
