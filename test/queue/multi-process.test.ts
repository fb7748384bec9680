import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import type { WorkQueue } from "../../src/queue/index.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { now, versionKey } from "./fixtures/protocol.js";
import { eventually, openTestQueue, uniqueName } from "./helpers.js";
import { Replicas } from "./replicas.js";

let redis: RedisServer;
let raw: Redis;
let producer: WorkQueue;
const replicas = new Replicas();

before(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});

after(async () => {
  await replicas.stop();
  await producer?.close();
  raw.disconnect();
  await redis.stop();
});

test("three worker processes: 1,000 keys changed while processed, every last change reconciled, never twice at once", async (t) => {
  const name = uniqueName("procs");
  const keys = Array.from({ length: 1000 }, (_, i) => `ns/object-${i}`);
  producer = await openTestQueue(redis.url, { name });
  await replicas.spawn(3, {
    url: redis.url,
    name,
    concurrency: 8,
    lockDurationMs: 5000,
    stalledIntervalMs: 2000,
    maxWorkMs: 4,
  });

  const lastAdd = new Map<string, number>();
  const rounds = 4;
  for (let round = 1; round <= rounds; round++) {
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(
        keys.slice(i, i + 50).map(async (key) => {
          // A change: bump the version the reconciles read, then add the key.
          await raw.set(versionKey(name, key), round);
          lastAdd.set(key, now());
          await producer.add(key);
        }),
      );
    }
    await sleep(20);
  }

  await eventually(
    "every key's last change was reconciled",
    () =>
      keys.every((key) => replicas.ofKey(key).some((run) => run.version === rounds && run.end !== undefined)),
    90_000,
  );
  await eventually("the queue drained", async () => {
    const counts = await producer.counts();
    return counts.ready + counts.delayed + counts.active === 0;
  });

  for (const key of keys) {
    const runs = replicas.ofKey(key);
    assert.ok(
      runs.some((run) => run.start >= (lastAdd.get(key) ?? 0)),
      `${key}: no reconcile started after its last add`,
    );
    for (let i = 1; i < runs.length; i++) {
      const previous = runs[i - 1]!;
      assert.ok(
        previous.end !== undefined && runs[i]!.start >= previous.end,
        `${key}: two reconciles overlapped`,
      );
    }
  }
  const total = replicas.runs.length;
  assert.ok(
    total > keys.length,
    `adds during processing caused reruns (${total} runs for ${keys.length} keys)`,
  );
  assert.ok(total <= keys.length * rounds, `adds coalesced (${total} runs for ${keys.length * rounds} adds)`);
  const perProcess = new Map<number, number>();
  for (const run of replicas.runs) perProcess.set(run.pid, (perProcess.get(run.pid) ?? 0) + 1);
  t.diagnostic(
    `${total} reconciles for ${keys.length * rounds} adds; per process: ${[...perProcess.values()].join(", ")}`,
  );
  assert.equal(perProcess.size, 3, "all three processes reconciled");
  for (const [pid, count] of perProcess) {
    assert.ok(count >= total * 0.1, `process ${pid} took only ${count} of ${total} reconciles`);
  }
});
