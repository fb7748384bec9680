// Throughput of no-op reconciles through azid's work queue with 1 and 3 worker processes, against a
// bare BullMQ worker draining the same number of plain jobs in the same run. Prints `name: value`.
// BENCH_QUEUE_REDIS=sentinel or cluster runs it on that topology (started here) instead of one server.
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { createLogger } from "../src/observability/logger.js";
import { type RedisConnectionOptions, WorkQueue } from "../src/queue/index.js";
import { connectRedis, createRedisClient } from "../src/queue/redis-client.js";
import { PACKAGE_ROOT } from "../src/util/paths.js";
import { startRedis } from "../test/support/redis.js";
import { startRedisCluster, startSentinelSet } from "../test/support/redis-ha.js";
import type { BenchWorkerSettings } from "./queue-worker.js";

const JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? 4000);
const ROUNDS = Number(process.env.BENCH_QUEUE_ROUNDS ?? 3);
const CONCURRENCY = 16;
const TOPOLOGY = process.env.BENCH_QUEUE_REDIS ?? "single";
// One slot on Cluster, as azid's own prefix is there.
const PREFIX = TOPOLOGY === "cluster" ? "{bench}" : "bench";
const WORKER = join(PACKAGE_ROOT, "dist", "bench", "queue-worker.js");

async function startTopology(): Promise<{ connection: RedisConnectionOptions; stop: () => Promise<void> }> {
  if (TOPOLOGY === "sentinel") return startSentinelSet();
  if (TOPOLOGY === "cluster") return startRedisCluster();
  if (TOPOLOGY !== "single") throw new Error(`BENCH_QUEUE_REDIS must be single, sentinel or cluster`);
  const server = await startRedis();
  return { connection: { url: server.url }, stop: () => server.stop() };
}

const redis = await startTopology();
const raw = createRedisClient(redis.connection, "command", "bench-raw");
await connectRedis(raw, redis.connection);

async function spawnWorkers(count: number, settings: BenchWorkerSettings): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const child = fork(WORKER, [JSON.stringify(settings)], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      const [message] = (await once(child, "message")) as [unknown];
      if (message !== "ready") throw new Error(`worker said ${String(message)}`);
      return child;
    }),
  );
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    }),
  );
}

async function drained(name: string): Promise<boolean> {
  const key = (type: string) => `${PREFIX}:${name}:${type}`;
  const [wait, active, delayed] = await Promise.all([
    raw.llen(key("wait")),
    raw.llen(key("active")),
    raw.zcard(key("delayed")),
  ]);
  return wait + active + delayed === 0;
}

/** Fills the queue, starts the workers together, and returns jobs per second until it is empty. */
async function measure(mode: "azid" | "bare", processes: number, round: number): Promise<number> {
  const name = `${mode}-${processes}-${round}`;
  const children = await spawnWorkers(processes, {
    redis: redis.connection,
    name,
    prefix: PREFIX,
    mode,
    concurrency: CONCURRENCY,
  });
  if (mode === "azid") {
    const producer = await WorkQueue.open({
      name,
      prefix: PREFIX,
      redis: redis.connection,
      logger: createLogger({ level: "silent" }),
    });
    for (let i = 0; i < JOBS; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, JOBS - i) }, (_, j) => producer.add(`ns/object-${i + j}`)),
      );
    }
    await producer.close();
  } else {
    const producer = new Queue(name, { connection: raw, prefix: PREFIX });
    for (let i = 0; i < JOBS; i += 500) {
      await producer.addBulk(
        Array.from({ length: Math.min(500, JOBS - i) }, (_, j) => ({
          name: "job",
          data: { key: `ns/object-${i + j}` },
          opts: { removeOnComplete: true, removeOnFail: true },
        })),
      );
    }
    await producer.close();
  }
  const started = performance.now();
  for (const child of children) child.send("go");
  while (!(await drained(name))) await sleep(5);
  const seconds = (performance.now() - started) / 1000;
  await stopWorkers(children);
  return JOBS / seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

try {
  console.log(`redis_topology: ${TOPOLOGY}`);
  const results = { bare1: [] as number[], azid1: [] as number[], azid3: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    results.bare1.push(await measure("bare", 1, round));
    results.azid1.push(await measure("azid", 1, round));
    results.azid3.push(await measure("azid", 3, round));
  }
  const bare = median(results.bare1);
  const azid1 = median(results.azid1);
  const azid3 = median(results.azid3);
  console.log(`noop_reconciles_per_s_1: ${azid1.toFixed(0)}`);
  console.log(`noop_reconciles_per_s_3: ${azid3.toFixed(0)}`);
  console.log(`bare_bullmq_jobs_per_s_1: ${bare.toFixed(0)}`);
  // Cost of one reconcile through the queue over the cost of one bare BullMQ job, same process count.
  console.log(`queue_overhead_vs_bare_bullmq: ${(bare / azid1).toFixed(2)}`);
  console.log(`scaling_3_vs_1_processes: ${(azid3 / azid1).toFixed(2)}`);
} finally {
  raw.disconnect();
  await redis.stop();
}
