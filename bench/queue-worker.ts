// One worker process of bench/queue.ts: azid's WorkQueue, or a bare BullMQ worker as the baseline.
// Connects, says "ready", starts on "go", and leaves on SIGTERM.
import { Worker } from "bullmq";
import { createLogger } from "../src/observability/logger.js";
import { type RedisConnectionOptions, WorkQueue } from "../src/queue/index.js";
import { createRedisClient } from "../src/queue/redis-client.js";

export interface BenchWorkerSettings {
  redis: RedisConnectionOptions;
  name: string;
  prefix: string;
  mode: "azid" | "bare";
  concurrency: number;
}

const settings = JSON.parse(process.argv[2] ?? "{}") as BenchWorkerSettings;
let stop: () => Promise<unknown>;
let start: () => Promise<unknown>;

if (settings.mode === "azid") {
  const queue = await WorkQueue.open({
    name: settings.name,
    prefix: settings.prefix,
    redis: settings.redis,
    logger: createLogger({ level: "silent" }),
  });
  start = () =>
    queue.start({
      concurrency: settings.concurrency,
      reconcile: async () => {},
      classify: () => ({ kind: "retry" }),
    });
  stop = () => queue.close({ gracePeriodMs: 1000 });
} else {
  const connection = createRedisClient(settings.redis, "worker", "bench");
  const worker = new Worker(settings.name, async () => {}, {
    connection,
    prefix: settings.prefix,
    concurrency: settings.concurrency,
    autorun: false,
  });
  await worker.waitUntilReady();
  start = async () => {
    worker.run().catch(() => undefined);
  };
  stop = async () => {
    await worker.close();
    connection.disconnect();
  };
}

process.on("message", (message) => {
  if (message === "go") start().catch((err) => console.error(err));
});
process.on("SIGTERM", () => {
  stop().finally(() => process.exit(0));
});
process.send?.("ready");
