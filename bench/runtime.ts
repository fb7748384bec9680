// Reaction time of the controller runtime: from a change of an object (the PATCH sent to the API
// server) to the start of its reconcile in an `azid controller` process (informer, predicate, Redis
// queue, worker), against the floor measured in the same run: the same change reaching a bare
// informer in this process (watch delivery alone). Prints `name: value` lines.
//   npm run bench:runtime    (BENCH_RUNTIME_CHANGES, BENCH_RUNTIME_BURST to size it)
import { setTimeout as sleep } from "node:timers/promises";
import { Informer } from "../src/kube/informer.js";
import { createLogger } from "../src/observability/logger.js";
import { ControllerReplicas } from "../test/controller/runtime-fixtures/replicas.js";
import { IDENTITIES, now } from "../test/controller/runtime-fixtures/test-controller.js";
import { type Identity, TestCluster, waitFor } from "../test/kube/support/cluster.js";
import { startRedis } from "../test/support/redis.js";

const CHANGES = Number(process.env.BENCH_RUNTIME_CHANGES ?? 200);
const BURST = Number(process.env.BENCH_RUNTIME_BURST ?? 500);
const NAMESPACE = "bench";

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const print = (name: string, value: number, digits = 2) => console.log(`${name}: ${value.toFixed(digits)}`);

const [cluster, redis] = await Promise.all([TestCluster.start(), startRedis()]);
const replicas = new ControllerReplicas();
const floor = new Informer<Identity>({
  client: cluster.client,
  resource: IDENTITIES,
  namespaces: [NAMESPACE],
  logger: createLogger({ level: "silent" }),
});
try {
  await cluster.createNamespace(NAMESPACE);
  const objects = Math.max(BURST, 1);
  for (let i = 0; i < objects; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, objects - i) }, (_, j) =>
        cluster.createIdentity(NAMESPACE, `id-${i + j}`),
      ),
    );
  }
  /** key/generation -> when the bare informer saw it */
  const delivered = new Map<string, number>();
  floor.addHandler({
    onUpdate: (_before, after) =>
      delivered.set(`${after.metadata!.name}/${after.metadata!.generation}`, now()),
  });
  floor.start();
  await floor.waitForSync();
  await replicas.spawn(1, {
    kubeconfig: cluster.kubeconfigPath,
    redisUrl: redis.url,
    settings: { workMs: [0, 0], lockDurationMs: 30_000 },
    flags: [`--namespaces=${NAMESPACE}`, "--resync-period=0", "--concurrency=4"],
  });
  const started = (name: string, generation: number) =>
    replicas.log
      .starts(`UserAssignedIdentity/${NAMESPACE}/${name}`)
      .find((run) => run.generation === generation)?.at;
  // The initial list has been reconciled once the queue is quiet.
  await waitFor(() => replicas.log.starts().length >= objects, "the initial reconciles", 120_000, 50);
  await sleep(500);

  // One change at a time, spaced out: the reaction time of an idle controller.
  const reaction: number[] = [];
  const delivery: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const name = `id-${i % objects}`;
    const sent = now();
    const changed = await cluster.setTags(NAMESPACE, name, { v: String(i) });
    const generation = changed.metadata!.generation!;
    await waitFor(() => started(name, generation) !== undefined, "the reconcile", 10_000, 1);
    reaction.push(started(name, generation)! - sent);
    delivery.push(delivered.get(`${name}/${generation}`)! - sent);
    await sleep(10);
  }
  print("runtime_reaction_p50_ms", percentile(reaction, 50));
  print("runtime_reaction_p99_ms", percentile(reaction, 99));
  print("watch_delivery_p50_ms", percentile(delivery, 50));
  print("watch_delivery_p99_ms", percentile(delivery, 99));
  print("runtime_reaction_to_watch_delivery_ratio_p50", percentile(reaction, 50) / percentile(delivery, 50));
  print("runtime_reaction_to_watch_delivery_ratio_p99", percentile(reaction, 99) / percentile(delivery, 99));

  // A burst: every object changed at once (as a GitOps sync does), reconciled by one replica.
  const burstSent = now();
  const generations = new Map<string, number>();
  for (let i = 0; i < BURST; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, BURST - i) }, async (_, j) => {
        const changed = await cluster.setTags(NAMESPACE, `id-${i + j}`, { v: "burst" });
        generations.set(`id-${i + j}`, changed.metadata!.generation!);
      }),
    );
  }
  const writesDone = now();
  await waitFor(
    () => [...generations].every(([name, generation]) => started(name, generation) !== undefined),
    "the burst",
    120_000,
    5,
  );
  const burstStarts = [...generations].map(([name, generation]) => started(name, generation)! - burstSent);
  const lastDelivery =
    Math.max(...[...generations].map(([name, g]) => delivered.get(`${name}/${g}`)!)) - burstSent;
  print("burst_objects", BURST, 0);
  print("burst_api_writes_seconds", (writesDone - burstSent) / 1000, 3);
  print("burst_last_watch_delivery_seconds", lastDelivery / 1000, 3);
  print("burst_last_reconcile_start_seconds", percentile(burstStarts, 100) / 1000, 3);
  print("burst_reaction_p50_ms", percentile(burstStarts, 50));
  print("burst_reaction_p99_ms", percentile(burstStarts, 99));
  print("burst_last_reconcile_to_last_delivery_ratio", percentile(burstStarts, 100) / lastDelivery);
} finally {
  await replicas.stopAll();
  await floor.stop();
  await Promise.all([cluster.close(), redis.stop()]);
}
