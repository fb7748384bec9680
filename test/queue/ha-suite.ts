// The queue's guarantees on a highly available Redis (Sentinel or Cluster), and what a failover
// does to them: one worker per key, coalescing, an add while active runs after, backoff, the
// shared token buckets and locks; then the primary is lost and the queue must report it, come
// back by itself and lose no key. Run by ha-sentinel.test.ts and ha-cluster.test.ts.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Metrics } from "../../src/observability/metrics.js";
import { QueueError, WorkQueue, type WorkQueueOptions } from "../../src/queue/index.js";
import type { RedisProcess, RedisTopologyUnderTest } from "../support/redis-ha.js";
import {
  eventually,
  gate,
  RunLog,
  recordingLogger,
  retryAlways,
  silentLogger,
  uniqueName,
} from "./helpers.js";

/** As the controller's enqueuer does: an add that fails while Redis is away is tried again (for a minute). */
async function addUntilAccepted(queue: WorkQueue, key: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await queue.add(key);
    } catch (error) {
      if ((error instanceof QueueError && error.code === "QueueClosed") || Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

/** The guarantees on the topology that `current` returns (started and stopped by the caller). */
export function haSuite(label: string, current: () => RedisTopologyUnderTest): void {
  const opened: WorkQueue[] = [];

  async function open(overrides: Partial<WorkQueueOptions> = {}): Promise<WorkQueue> {
    const queue = await WorkQueue.open({
      name: overrides.name ?? uniqueName("ha"),
      redis: current().connection,
      logger: silentLogger,
      lockDurationMs: 2000,
      stalledIntervalMs: 1000,
      ...overrides,
    });
    opened.push(queue);
    return queue;
  }

  async function idle(queue: WorkQueue): Promise<void> {
    await eventually("the queue is empty", async () => {
      const counts = await queue.counts();
      return counts.ready + counts.delayed + counts.active === 0;
    });
  }

  describe(`the work queue on ${label}`, () => {
    after(async () => {
      await Promise.all(opened.map((queue) => queue.close({ gracePeriodMs: 100 })));
    });

    test("the default prefix is the topology's, and every key of the queue sits in its slot", async () => {
      const queue = await open();
      assert.equal(queue.prefix, current().prefix);
    });

    test("one worker per key across replicas; waiting adds coalesce; an add while active runs after", async () => {
      const name = uniqueName("g");
      const [a, b] = [await open({ name }), await open({ name })];
      for (let i = 0; i < 10; i++) await a.add("ns/coalesced");
      assert.equal(await a.depth(), 1, "ten adds of a waiting key make one job");
      const log = new RunLog();
      const busyStarted = gate();
      const release = gate();
      const body = async (key: string) => {
        if (key === "ns/busy" && log.of(key).length === 0) {
          busyStarted.open();
          await release.promise;
        }
        await sleep(Math.random() * 3);
      };
      await a.start({ concurrency: 8, reconcile: log.reconciler("a", body), classify: retryAlways });
      await b.start({ concurrency: 8, reconcile: log.reconciler("b", body), classify: retryAlways });
      await a.add("ns/busy");
      await busyStarted.promise;
      await b.add("ns/busy");
      await a.add("ns/busy");
      const keys = Array.from({ length: 15 }, (_, i) => `ns/obj-${i}`);
      for (let round = 0; round < 5; round++) {
        await Promise.all(keys.flatMap((key) => [a.add(key), b.add(key)]));
      }
      release.open();
      await eventually("every key ran", () => keys.every((key) => log.of(key).length > 0));
      await eventually("the busy key ran again", () => log.of("ns/busy").length === 2);
      await idle(a);
      assert.deepEqual(log.overlaps, [], "a key ran twice at once");
      assert.equal(log.of("ns/coalesced").length, 1);
      assert.equal(log.of("ns/busy").length, 2, "two adds during one run make one more run, after it");
      const [first, second] = log.of("ns/busy");
      assert.ok(second!.start >= first!.end);
    });

    test("per-key backoff grows with each failure and resets on success", async () => {
      const queue = await open({ backoff: { baseMs: 40, capMs: 10_000 } });
      const log = new RunLog();
      await queue.start({
        concurrency: 2,
        reconcile: log.reconciler("r", async (_key, ctx) => {
          if (ctx.attempt <= 3) throw new Error("not yet");
        }),
        classify: retryAlways,
      });
      await queue.add("ns/flaky");
      await eventually("the key succeeded", () => log.of("ns/flaky").length === 4);
      const runs = log.of("ns/flaky");
      assert.deepEqual(
        runs.map((run) => run.attempt),
        [1, 2, 3, 4],
      );
      const gaps = runs.slice(1).map((run, i) => run.start - runs[i]!.end);
      // 40, 80, 160 ms: each wait at least its backoff (timers fire late, never early).
      for (const [i, gap] of gaps.entries()) assert.ok(gap >= 40 * 2 ** i - 5, `gap ${i} was ${gap} ms`);
      await queue.add("ns/flaky");
      await eventually("it ran once more", () => log.of("ns/flaky").length === 5);
      assert.equal(log.of("ns/flaky")[4]!.attempt, 1, "a success reset the count");
    });

    test("token buckets and locks are shared, atomic across several buckets", async () => {
      const [a, b] = [await open(), await open()];
      const wide = { bucket: uniqueName("sub"), capacity: 3, refillPerSecond: 0.001 };
      const narrow = { bucket: uniqueName("writes"), capacity: 2, refillPerSecond: 0.001 };
      assert.deepEqual(await a.buckets.take([wide, narrow]), { granted: true });
      assert.deepEqual(await b.buckets.take([wide, narrow]), { granted: true });
      const refused = await a.buckets.take([wide, narrow]);
      assert.equal(refused.granted, false);
      assert.equal(!refused.granted && refused.bucket, narrow.bucket);
      // Nothing was taken from the wide bucket by the refused request.
      assert.deepEqual(await b.buckets.take(wide), { granted: true });
      assert.equal((await a.buckets.take(wide)).granted, false);

      let holders = 0;
      let most = 0;
      const hold = async () => {
        holders++;
        most = Math.max(most, holders);
        await sleep(5);
        holders--;
      };
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).locks.withLock("arm-resource", hold)),
      );
      assert.equal(most, 1, "two holders of one lock at once");
    });
  });
}

export interface FailoverFigures {
  /** From the failure to the queue healthy again (readiness back). */
  healthyAfterMs: number;
  /** From the failure to every key reconciled after its last add. */
  convergedAfterMs: number;
  /** Clients that ioredis ended mid-failover and the queues connected again. */
  revived: number;
}

/**
 * Two replicas reconcile a stream of keys while `fail` takes the primary away. The queue must report
 * it (unhealthy, a log line, `azid_redis_up` 0), come back without help, and every key must be
 * reconciled after its last add: what the promoted replica had not received comes back through
 * the resync that a queue runs when Redis is reachable again.
 */
export async function failover(
  topology: RedisTopologyUnderTest,
  fail: (primary: RedisProcess) => Promise<void>,
): Promise<FailoverFigures> {
  const name = uniqueName("failover");
  const recorded = recordingLogger("info");
  const metrics = new Metrics({ defaultMetrics: false });
  const keys = Array.from({ length: 40 }, (_, i) => `ns/key-${i}`);
  const lastAdd = new Map<string, number>();
  // The second replica's warnings are kept too, to count the clients the queue had to revive.
  const quiet = recordingLogger("warn");
  const open = (logger: typeof silentLogger, withMetrics: boolean) =>
    WorkQueue.open({
      name,
      redis: topology.connection,
      logger,
      metrics: withMetrics ? metrics : undefined,
      controller: "failover",
      lockDurationMs: 2000,
      stalledIntervalMs: 1000,
    });
  const queues = [await open(recorded.logger, true), await open(quiet.logger, false)];
  const [a, b] = queues as [WorkQueue, WorkQueue];
  const log = new RunLog();
  let stage = "starting the queues";
  const trace = setTimeout(() => process.stderr.write(`failover stuck at: ${stage}\n`), 100_000);
  trace.unref();
  try {
    for (const [i, queue] of queues.entries()) {
      await queue.start({
        concurrency: 4,
        reconcile: log.reconciler(`r${i}`, () => sleep(2)),
        classify: retryAlways,
        resync: { periodMs: 10 * 60_000, listKeys: () => keys },
      });
    }
    const addAll = async (subset: string[]) => {
      for (const key of subset) {
        lastAdd.set(key, performance.now());
        await addUntilAccepted(key.endsWith("0") ? a : b, key);
      }
    };
    stage = "adding the first keys";
    await addAll(keys.slice(0, 20));
    stage = "finding the primary";
    const primary = await topology.primary();
    const failedAt = performance.now();
    const failing = fail(primary);
    // Changes keep arriving while Redis is away; the enqueuer keeps them until it is back.
    const adding = addAll(keys.slice(20));
    adding.catch(() => undefined); // awaited below; a failure before that must not go unhandled
    stage = "waiting for unhealthy";
    await eventually("the queue reports Redis unreachable", async () => !(await a.isHealthy()), 30_000);
    const upWhileDown = (await metrics.registry.getSingleMetricAsString("azid_redis_up")).trim();
    stage = "waiting for the failover";
    await failing;
    stage = "waiting for healthy";
    await eventually("the queue is healthy again", () => a.isHealthy(), 60_000);
    const healthyAfterMs = performance.now() - failedAt;
    // Read when the queue turns healthy: one Cluster run saw a later probe fail once more while
    // the new slot map settled, which a converged queue shrugs off.
    const upWhenHealthy = (await metrics.registry.getSingleMetricAsString("azid_redis_up")).trim();
    stage = "waiting for the adds";
    await adding;
    const unreconciled = () =>
      keys.filter((key) => !log.of(key).some((run) => run.start >= (lastAdd.get(key) ?? 0)));
    stage = "waiting for convergence";
    await eventually(
      "every key was reconciled after its last add",
      () => unreconciled().length === 0,
      60_000,
    ).catch(async (error) => {
      const counts = await a.counts().catch((err) => String(err));
      throw new Error(`${error.message}: ${unreconciled().join(", ")} (queue: ${JSON.stringify(counts)})`);
    });
    const convergedAfterMs = performance.now() - failedAt;
    assert.match(upWhileDown, /azid_redis_up\{controller="failover"\} 0/);
    assert.match(upWhenHealthy, /azid_redis_up\{controller="failover"\} 1/);
    const messages = recorded.lines.map((line) => String(line.msg));
    assert.ok(
      messages.some((msg) => /unreachable/.test(msg)),
      "a log line says Redis is unreachable",
    );
    assert.ok(
      messages.some((msg) => /reachable again/.test(msg)),
      "a log line says Redis is back",
    );
    const revived = [...recorded.lines, ...quiet.lines].filter((line) =>
      /stopped reconnecting/.test(String(line.msg)),
    ).length;
    return { healthyAfterMs, convergedAfterMs, revived };
  } finally {
    stage = "closing the queues";
    await Promise.all(queues.map((queue) => queue.close({ gracePeriodMs: 100 })));
    clearTimeout(trace);
  }
}
