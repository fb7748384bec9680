import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import type { WorkQueue } from "../../src/queue/index.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { now, versionKey } from "./fixtures/protocol.js";
import { eventually, openTestQueue, RunLog, retryAlways, uniqueName } from "./helpers.js";
import { Replicas } from "./replicas.js";

const servers: RedisServer[] = [];
const opened: WorkQueue[] = [];
const replicas = new Replicas();

before(async () => {
  servers.push(await startRedis());
});

after(async () => {
  await replicas.stop();
  await Promise.all(opened.map((queue) => queue.close({ gracePeriodMs: 100 })));
  await Promise.all(servers.map((server) => server.stop()));
});

describe("faults", () => {
  test("Redis killed and restarted empty while work is queued: unhealthy, then recovers through resync", async () => {
    const redis = await startRedis();
    servers.push(redis);
    const name = uniqueName("outage");
    const keys = Array.from({ length: 60 }, (_, i) => `ns/obj-${i}`);
    const queue = await openTestQueue(redis.url, { name, lockDurationMs: 1500, stalledIntervalMs: 500 });
    opened.push(queue);
    const log = new RunLog();
    await queue.start({
      concurrency: 2,
      reconcile: log.reconciler("r", () => sleep(20)),
      classify: retryAlways,
      resync: { periodMs: 60_000, listKeys: () => keys },
    });
    for (const key of keys) await queue.add(key);
    await eventually("some keys were reconciled", () => log.runs.length >= 5);
    assert.ok((await queue.counts()).ready > 0, "work is still queued when Redis dies");

    await redis.kill();
    await eventually("the queue reports unhealthy", async () => !(await queue.isHealthy()));
    await assert.rejects(queue.add("ns/during-outage"), "an add fails instead of hanging");
    await sleep(300);

    await redis.restart();
    const restartedAt = performance.now();
    await eventually("the queue reports healthy again", () => queue.isHealthy());
    const raw = new Redis(redis.url);
    try {
      await eventually("the resync scheduler was recreated", async () => {
        return (await raw.zrange(`azid:${name}:repeat`, "0", "-1")).includes("resync");
      });
    } finally {
      raw.disconnect();
    }
    await eventually(
      "every key was reconciled again after Redis came back empty",
      () => keys.every((key) => log.of(key).some((run) => run.start >= restartedAt)),
      30_000,
    );
    assert.deepEqual(log.overlaps, []);
    await queue.add("ns/after-outage");
    await eventually("adds work again", () => log.of("ns/after-outage").length === 1);
  });

  test("SIGKILL of a worker process mid-reconcile: another process takes the key over", async () => {
    const [redis] = servers;
    const name = uniqueName("sigkill");
    const stuckKey = "ns/stuck";
    const producer = await openTestQueue(redis!.url, { name });
    opened.push(producer);
    await replicas.spawn(2, {
      url: redis!.url,
      name,
      concurrency: 2,
      lockDurationMs: 1000,
      stalledIntervalMs: 300,
      maxWorkMs: 2,
      stuckKey,
    });
    const raw = new Redis(redis!.url);
    try {
      await raw.set(versionKey(name, stuckKey), 1);
      await producer.add(stuckKey);
      await eventually("a process started the key", () => replicas.ofKey(stuckKey).length === 1);
      const first = replicas.ofKey(stuckKey)[0]!;
      // A change arrives while the run hangs: remembered by BullMQ while the job is active.
      await raw.set(versionKey(name, stuckKey), 2);
      await producer.add(stuckKey);

      const victim = replicas.children.find((child) => child.pid === first.pid)!;
      await replicas.kill(victim);
      const killedAt = now();
      await eventually(
        "the other process reconciled the key's latest change",
        () =>
          replicas
            .ofKey(stuckKey)
            .some((run) => run.pid !== first.pid && run.version === 2 && run.end !== undefined),
        45_000, // a liveness bound, generous for a loaded CI machine
      );
      const takeovers = replicas.ofKey(stuckKey).filter((run) => run.pid !== first.pid);
      assert.ok(takeovers[0]!.start >= killedAt, "the key was taken over only after its owner died");
      for (let i = 1; i < takeovers.length; i++) assert.ok(takeovers[i]!.start >= takeovers[i - 1]!.end!);
    } finally {
      raw.disconnect();
    }
  });

  test("a job BullMQ fails because its workers died holding it too often: the key is added again", async () => {
    const [redis] = servers;
    const name = uniqueName("stalled-out");
    const poisonKey = "ns/poison";
    // Long enough a lock that a loaded machine does not lose it (a lost lock is a stall too).
    const settings = {
      url: redis!.url,
      name,
      concurrency: 1,
      lockDurationMs: 3000,
      stalledIntervalMs: 500,
      maxStalledCount: 1,
      maxWorkMs: 2,
    };
    const producer = await openTestQueue(redis!.url, { name });
    opened.push(producer);
    await producer.add(poisonKey);
    // Two workers on which the key hangs die in turn holding it: BullMQ counts a second stall past
    // maxStalledCount and fails the job when the next worker fetches it, without running it.
    for (const run of [1, 2]) {
      await replicas.spawn(1, { ...settings, stuckKey: poisonKey, stuckRuns: 1000 });
      await eventually(
        `run ${run} of the key started`,
        () => replicas.ofKey(poisonKey).length >= run,
        45_000,
      );
      await replicas.kill(replicas.children.at(-1)!);
    }
    await replicas.spawn(1, settings);
    const survivor = replicas.children.at(-1)!.pid;
    await eventually(
      "the surviving worker reconciled the key after BullMQ failed its job",
      () => replicas.ofKey(poisonKey).some((run) => run.pid === survivor && run.end !== undefined),
      45_000, // a liveness bound: two lock durations and the re-add's delay, on a loaded machine
    );
  });
});
