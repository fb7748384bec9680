import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Metrics } from "../../src/observability/metrics.js";
import type { WorkQueue } from "../../src/queue/index.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { eventually, openTestQueue, uniqueName } from "./helpers.js";

let redis: RedisServer;
let queue: WorkQueue | undefined;

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await queue?.close({ gracePeriodMs: 100 });
  await redis.stop();
});

async function value(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  // A histogram's _count samples sit inside the histogram, under their own metricName.
  const family = name.replace(/_count$/, "");
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === family);
  const sample = metric?.values.find(
    (entry) =>
      ((entry as { metricName?: string }).metricName ?? metric.name) === name &&
      Object.entries(labels).every(([label, wanted]) => entry.labels[label] === wanted),
  );
  return sample?.value ?? 0;
}

test("the work queue reports controller-runtime's workqueue and reconcile metrics", async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  const name = uniqueName("metrics");
  queue = await openTestQueue(redis.url, { name, controller: "uai", metrics, backoff: { baseMs: 1 } });
  await queue.add("ns/waiting-1");
  await queue.add("ns/waiting-2");
  assert.equal(await queue.depth(), 2);
  assert.equal(await value(metrics, "workqueue_depth", { name, controller: "uai" }), 2);

  const seen = new Set<string>();
  await queue.start({
    concurrency: 2,
    reconcile: async (key) => {
      const first = !seen.has(key);
      seen.add(key);
      if (key === "ns/waiting-1" && first) throw new Error("fails once");
      if (key === "ns/waiting-2" && first) return { requeueAfterMs: 5 };
    },
    classify: () => ({ kind: "retry" }),
  });
  await eventually("both keys settled", async () => {
    const counts = await queue!.counts();
    return seen.size === 2 && counts.ready + counts.delayed + counts.active === 0;
  });

  const labels = { controller: "uai" };
  assert.equal(await value(metrics, "controller_runtime_reconcile_total", { ...labels, result: "error" }), 1);
  assert.equal(
    await value(metrics, "controller_runtime_reconcile_total", { ...labels, result: "requeue_after" }),
    1,
  );
  assert.equal(
    await value(metrics, "controller_runtime_reconcile_total", { ...labels, result: "success" }),
    2,
  );
  assert.equal(await value(metrics, "controller_runtime_reconcile_errors_total", labels), 1);
  assert.equal(await value(metrics, "controller_runtime_reconcile_time_seconds_count", labels), 4);
  assert.equal(await value(metrics, "workqueue_retries_total", { name, ...labels }), 1);
  assert.equal(await value(metrics, "workqueue_adds_total", { name, ...labels }), 4, "2 adds and 2 requeues");
  assert.equal(await value(metrics, "workqueue_queue_duration_seconds_count", { name, ...labels }), 2);
});
