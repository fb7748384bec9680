import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  DEFAULT_BACKOFF,
  exponentialBackoffMs,
  type RetryDecision,
  type WorkQueue,
} from "../../src/queue/index.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { eventually, openTestQueue, RunLog, recordingLogger, retryAlways, uniqueName } from "./helpers.js";

let redis: RedisServer;
const opened: WorkQueue[] = [];

async function open(options: Parameters<typeof openTestQueue>[1] = {}): Promise<WorkQueue> {
  const queue = await openTestQueue(redis.url, { name: uniqueName("fail"), ...options });
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

/** Clock slack between performance.now() in the test and Date.now()/Redis TIME in the queue. */
const SLACK_MS = 3;

describe("failures: backoff, rate bucket, throttling, terminal errors", () => {
  test("the backoff curve is client-go's: 5 ms doubling, capped at 1000 s", () => {
    assert.deepEqual(DEFAULT_BACKOFF, { baseMs: 5, capMs: 1_000_000 });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((failures) => exponentialBackoffMs(failures)),
      [5, 10, 20, 40, 80],
    );
    assert.equal(exponentialBackoffMs(18), 655_360);
    assert.equal(exponentialBackoffMs(19), 1_000_000);
    assert.equal(exponentialBackoffMs(10_000), 1_000_000);
    assert.equal(exponentialBackoffMs(0), 0);
  });

  test("4: per-key exponential backoff, counted in Redis across replicas, reset on success", async () => {
    const name = uniqueName("backoff");
    const backoff = { baseMs: 40 };
    const log = new RunLog();
    let failUntil = 3;
    const reconcile = log.reconciler("a", async (_key, ctx) => {
      if (ctx.attempt <= failUntil) throw new Error(`attempt ${ctx.attempt} fails`);
    });
    const first = await open({ name, backoff });
    await first.start({ concurrency: 1, reconcile, classify: retryAlways });
    await first.add("ns/flaky");
    await eventually("two failures", () => log.of("ns/flaky").length === 2);
    await first.close({ gracePeriodMs: 5000 });

    // Another replica picks the key up: its failure count came with it, through Redis.
    const second = await open({ name, backoff });
    await second.start({ concurrency: 1, reconcile, classify: retryAlways });
    await eventually("the key succeeded", () => log.of("ns/flaky").length === 4);
    await idle(second);
    const runs = log.of("ns/flaky");
    assert.deepEqual(
      runs.map((run) => run.attempt),
      [1, 2, 3, 4],
    );
    for (let i = 1; i < runs.length; i++) {
      const waited = runs[i]!.start - runs[i - 1]!.end;
      const backoffMs = exponentialBackoffMs(i, { ...DEFAULT_BACKOFF, ...backoff });
      assert.ok(
        waited >= backoffMs - SLACK_MS,
        `retry ${i} came after ${waited} ms, before its ${backoffMs} ms backoff`,
      );
    }

    // Success reset the count: the next failure starts over at attempt 1.
    failUntil = 1;
    await second.add("ns/flaky");
    await eventually("the key failed and recovered again", () => log.of("ns/flaky").length === 6);
    assert.deepEqual(
      log.of("ns/flaky").map((run) => run.attempt),
      [1, 2, 3, 4, 1, 2],
    );
  });

  test("4: retries of all keys share one rate bucket in Redis, across replicas", async () => {
    const name = uniqueName("bucket");
    const settings = { name, backoff: { baseMs: 1 }, retryBucket: { capacity: 2, refillPerSecond: 5 } };
    const log = new RunLog();
    const reconcile = log.reconciler("r", async (_key, ctx) => {
      if (ctx.attempt === 1) throw new Error("first try fails");
    });
    const [a, b] = [await open(settings), await open(settings)];
    const keys = Array.from({ length: 8 }, (_, i) => `ns/k${i}`);
    for (const key of keys) await a.add(key);
    await a.start({ concurrency: 8, reconcile, classify: retryAlways });
    await b.start({ concurrency: 8, reconcile, classify: retryAlways });
    await eventually("every key was retried", () => keys.every((key) => log.of(key).length === 2));
    const firstFailure = Math.min(...log.runs.filter((run) => run.attempt === 1).map((run) => run.end));
    const retries = log.runs
      .filter((run) => run.attempt === 2)
      .map((run) => run.start)
      .sort((x, y) => x - y);
    // A bucket of 2 refilled at 5 per second grants retry i (from 0) no sooner than (i - 1) * 200 ms.
    retries.forEach((start, i) => {
      const earliest = firstFailure + Math.max(0, i - 1) * 200;
      assert.ok(
        start >= earliest - SLACK_MS,
        `retry ${i} ran ${earliest - start} ms before the bucket allowed`,
      );
    });
  });

  test("throttled work is parked without an attempt and without holding a worker", async () => {
    const queue = await open();
    const log = new RunLog();
    const throttledValue = { retryAfterMs: 400 };
    const seen: unknown[] = [];
    let throttledOnce = false;
    let parkedAt = 0;
    await queue.start({
      concurrency: 1,
      reconcile: log.reconciler("r", async (key) => {
        if (key === "ns/throttled" && !throttledOnce) {
          throttledOnce = true;
          parkedAt = performance.now();
          throw throttledValue; // not an Error: anything thrown goes to classify
        }
      }),
      classify: (err): RetryDecision => {
        seen.push(err);
        return err === throttledValue ? { kind: "throttled", retryAfterMs: 400 } : { kind: "retry" };
      },
    });
    await queue.add("ns/throttled");
    await eventually("the key is parked", async () => (await queue.counts()).delayed === 1);
    for (const key of ["ns/a", "ns/b", "ns/c"]) await queue.add(key);
    await eventually("the parked key ran again", () => log.of("ns/throttled").length === 2);
    await idle(queue);
    assert.equal(seen.length, 1);
    assert.equal(seen[0], throttledValue, "classify got exactly what was thrown");
    const [first, second] = log.of("ns/throttled");
    assert.equal(second!.attempt, 1, "throttling counted no attempt");
    assert.ok(second!.start >= parkedAt + 400 - SLACK_MS, "the key waited out Retry-After");
    for (const key of ["ns/a", "ns/b", "ns/c"]) {
      assert.ok(
        log.of(key)[0]!.end <= second!.start,
        `${key} ran while the throttled key was parked (one worker)`,
      );
    }
    assert.ok(first!.end <= log.of("ns/a")[0]!.start);
  });

  test("a terminal error is not retried, and resets the key's backoff", async () => {
    const queue = await open();
    const log = new RunLog();
    await queue.start({
      concurrency: 1,
      reconcile: log.reconciler("r", async (_key, ctx) => {
        throw new Error(ctx.attempt === 1 ? "transient" : "policy denies this");
      }),
      classify: (err) => ((err as Error).message === "transient" ? { kind: "retry" } : { kind: "terminal" }),
    });
    await queue.add("ns/denied");
    await eventually("the key failed for good", () => log.of("ns/denied").length === 2);
    await idle(queue);
    // The positive signal: the key added again runs once more. A retry pending from the terminal
    // run would have been overridden by this add and kept its failure count (attempt 3).
    await queue.add("ns/denied");
    await eventually("the key ran once more", () => log.of("ns/denied").length >= 3);
    assert.equal(log.of("ns/denied").length, 3, "no retry after a terminal error");
    assert.equal(log.of("ns/denied")[2]!.attempt, 1, "the terminal error reset the failure count");
  });

  test("anything a reconcile or the error policy throws is contained, and each run logs with its key and id", async () => {
    const { logger, lines } = recordingLogger("info");
    const queue = await open({ logger });
    const thrown: unknown[] = [undefined, "a string", 42, null];
    const classified: unknown[] = [];
    let runs = 0;
    await queue.start({
      concurrency: 1,
      reconcile: async (_key, ctx) => {
        ctx.logger.info("reconciling");
        const value = thrown[runs++];
        if (runs <= thrown.length) throw value;
      },
      classify: (err) => {
        classified.push(err);
        if (err === 42) throw new Error("the policy itself is broken");
        return { kind: "retry" };
      },
    });
    await queue.add("ns/odd");
    await eventually("the key finally succeeded", () => runs === thrown.length + 1);
    await idle(queue);
    assert.deepEqual(classified, thrown);
    const own = lines.filter((line) => line.msg === "reconciling");
    assert.equal(own.length, thrown.length + 1);
    for (const line of own) assert.equal(line.key, "ns/odd");
    const ids = new Set(own.map((line) => line.reconcileId));
    assert.equal(ids.size, own.length, "each run has its own reconcile id");
    assert.ok(lines.some((line) => line.msg === "the error policy threw; retrying with backoff"));
  });
});
