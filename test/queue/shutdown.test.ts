import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { QueueError, type WorkQueue } from "../../src/queue/index.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { eventually, gate, openTestQueue, RunLog, retryAlways, uniqueName } from "./helpers.js";

let redis: RedisServer;
const opened: WorkQueue[] = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await Promise.all(opened.map((queue) => queue.close({ gracePeriodMs: 100 })));
  await redis.stop();
});

describe("graceful shutdown", () => {
  test("a reconcile that finishes within the grace period completes, and nothing is handed back", async () => {
    const name = uniqueName("grace");
    const queue = await openTestQueue(redis.url, { name });
    const log = new RunLog();
    const started = gate();
    const release = gate();
    await queue.start({
      concurrency: 1,
      reconcile: log.reconciler("a", async () => {
        started.open();
        await release.promise;
      }),
      classify: retryAlways,
    });
    await queue.add("ns/finishing");
    await started.promise;
    const closing = queue.close({ gracePeriodMs: 10_000 });
    await assert.rejects(
      queue.add("ns/too-late"),
      (err) => err instanceof QueueError && err.code === "QueueClosed",
    );
    release.open();
    assert.deepEqual(await closing, { handedBack: [] });

    const successor = await openTestQueue(redis.url, { name });
    opened.push(successor);
    assert.deepEqual(
      await successor.counts(),
      { ready: 0, delayed: 0, active: 0 },
      "the finished run left nothing behind",
    );
  });

  test("past the grace period a running reconcile is aborted and its key handed to another replica", async () => {
    const name = uniqueName("handback");
    const leaving = await openTestQueue(redis.url, { name });
    const staying = await openTestQueue(redis.url, { name });
    opened.push(staying);
    const log = new RunLog();
    const started = gate();
    let abortReason: unknown;
    await leaving.start({
      concurrency: 1,
      reconcile: log.reconciler("leaving", async (_key, ctx) => {
        started.open();
        await new Promise<void>((_, reject) => {
          ctx.signal.addEventListener("abort", () => {
            abortReason = ctx.signal.reason;
            reject(ctx.signal.reason);
          });
        });
      }),
      classify: retryAlways,
    });
    await leaving.add("ns/slow");
    await started.promise;
    await staying.start({ concurrency: 1, reconcile: log.reconciler("staying"), classify: retryAlways });

    assert.deepEqual(await leaving.close({ gracePeriodMs: 200 }), { handedBack: ["ns/slow"] });
    assert.ok(
      abortReason instanceof QueueError && abortReason.code === "QueueClosed",
      "the reconcile saw why",
    );
    await eventually("the other replica reconciled the key", () =>
      log.of("ns/slow").some((run) => run.replica === "staying"),
    );
    const takeover = log.of("ns/slow").find((run) => run.replica === "staying")!;
    assert.equal(takeover.attempt, 1, "an aborted shutdown run is not a failure of the key");
  });
});
