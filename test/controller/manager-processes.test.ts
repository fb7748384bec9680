// Three `azid controller` processes (with the test reconciler) sharing one redis-server and the
// Kubernetes emulator: a thousand objects changed several times while being processed, every last
// change reconciled, no key ever reconciled by two runs at once, the work spread over the three;
// then SIGKILL of a replica mid-reconcile and SIGTERM of another.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { cleanUp, type Identity, TestCluster, waitFor } from "../kube/support/cluster.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { ControllerReplicas } from "./runtime-fixtures/replicas.js";
import { now } from "./runtime-fixtures/test-controller.js";

const OBJECTS = 1000;
const ROUNDS = 3;
const NAMESPACE = "fleet";

/** Runs `task` on every item, `width` at a time. */
async function inBatches<T>(items: T[], width: number, task: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(task));
}

describe("three controller processes", () => {
  let cluster: TestCluster;
  let redis: RedisServer;
  let markers: string;
  const replicas = new ControllerReplicas();
  const names = Array.from({ length: OBJECTS }, (_, i) => `id-${i}`);

  before(async () => {
    [cluster, redis] = await Promise.all([TestCluster.start(), startRedis()]);
    markers = mkdtempSync(join(tmpdir(), "azid-markers-"));
    await cluster.createNamespace(NAMESPACE);
  });
  after(() =>
    cleanUp(
      () => replicas.stopAll(),
      () => cluster.close(),
      () => redis.stop(),
      () => rmSync(markers, { recursive: true, force: true }),
    ),
  );

  async function reconciled(name: string): Promise<Identity> {
    return cluster.getIdentity(NAMESPACE, name);
  }

  async function allReconciled(): Promise<boolean> {
    const identities = await cluster.listIdentities(NAMESPACE);
    return identities.every(
      (o) =>
        o.status?.observedGeneration === o.metadata?.generation &&
        o.status?.conditions?.[0]?.message === `v=${o.spec.tags?.v ?? ""}`,
    );
  }

  test("1,000 objects changed while being processed: every last change, no overlap, spread over three", async () => {
    await inBatches(names, 25, (name) => cluster.createIdentity(NAMESPACE, name, { v: "0" }));
    await replicas.spawn(3, {
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      settings: { workMs: [2, 20], lockDurationMs: 5000 },
      flags: ["--concurrency=4", "--resync-period=0"],
    });
    // Change every object several times while the replicas work through the initial list.
    for (let round = 1; round <= ROUNDS; round++) {
      await inBatches(names, 25, (name) => cluster.setTags(NAMESPACE, name, { v: String(round) }));
    }
    await waitFor(allReconciled, "every object to be reconciled at its last change", 120_000, 500);

    const log = replicas.log;
    assert.deepEqual(log.overlaps(), [], "no key was ever reconciled by two runs at once");
    const finalGeneration = ROUNDS + 1;
    for (const name of names) {
      const starts = log.starts(`UserAssignedIdentity/${NAMESPACE}/${name}`);
      assert.ok(
        starts.some((run) => run.generation === finalGeneration),
        `${name}: a reconcile saw its last change`,
      );
    }
    const perReplica = new Map<number, number>();
    for (const run of log.starts()) perReplica.set(run.pid, (perReplica.get(run.pid) ?? 0) + 1);
    const total = log.starts().length;
    assert.equal(perReplica.size, 3, "all three replicas reconciled");
    for (const [pid, count] of perReplica) {
      assert.ok(count >= total * 0.15, `replica ${pid} ran ${count} of ${total} reconciles`);
    }
    assert.ok(total >= OBJECTS, `${total} reconciles`);
  });

  test("SIGKILL of a replica mid-reconcile: another replica reconciles its key", async () => {
    const marker = join(markers, "stuck");
    const key = `UserAssignedIdentity/${NAMESPACE}/id-7`;
    const changed = await cluster.setTags(NAMESPACE, "id-7", { v: "stuck", stuck: marker });
    // The first run that sees the change claims the marker and hangs.
    const stuckRun = () =>
      replicas.log.starts(key).find((run) => run.generation === changed.metadata?.generation);
    await waitFor(() => stuckRun() !== undefined, "a replica to start the stuck reconcile");
    const stuck = stuckRun()!;
    const victim = replicas.byPid(stuck.pid);
    replicas.log.markKilled(victim.pid, now());
    assert.equal(await replicas.signal(victim, "SIGKILL"), null);

    await waitFor(
      async () => (await reconciled("id-7")).status?.observedGeneration === changed.metadata?.generation,
      "another replica to take the key over once the lock lapses",
      30_000,
      100,
    );
    const after = replicas.log.starts(key).filter((run) => run.at > stuck.at);
    assert.ok(after.length >= 1);
    assert.ok(after.every((run) => run.pid !== victim.pid));
    assert.deepEqual(replicas.log.overlaps(), []);
  });

  test("SIGTERM of the leader: its running reconciles finish, it exits 0 and releases the lease", async () => {
    const live = replicas.live();
    assert.equal(live.length, 2);
    const leases = cluster.config.makeApiClient(CoordinationV1Api);
    const holder = async () =>
      (await leases.readNamespacedLease({ name: "azid", namespace: "default" })).spec?.holderIdentity ?? "";
    await waitFor(async () => {
      const identity = await holder();
      return live.some((r) => identity.startsWith(`${r.podName}_`));
    }, "a live leader");
    const current = await holder();
    const leader = live.find((r) => current.startsWith(`${r.podName}_`))!;
    const other = live.find((r) => r !== leader)!;

    // Slow reconciles on both replicas, so that the leader has some running when it is told to stop.
    const slow = names.slice(10, 18);
    const generations = new Map<string, number>();
    const sent = now();
    for (const name of slow) {
      const changed = await cluster.setTags(NAMESPACE, name, { v: "slow", slow: "1500" });
      generations.set(name, changed.metadata!.generation!);
    }
    const leaderRuns = () => replicas.log.starts().filter((run) => run.pid === leader.pid && run.at > sent);
    await waitFor(() => leaderRuns().length > 0, "the leader to start a slow reconcile");

    const code = await replicas.signal(leader, "SIGTERM");
    assert.equal(code, 0, "a graceful exit");
    const ends = replicas.log.reports.filter((r) => r.type === "end" && r.pid === leader.pid && r.at > sent);
    assert.equal(ends.length, leaderRuns().length, "every reconcile it had started ended before it exited");
    assert.ok(ends.every((r) => r.type === "end" && r.outcome === "done"));
    assert.ok(
      !(await holder()).startsWith(`${leader.podName}_`),
      "the lease was released, not left to expire",
    );

    for (const name of slow) {
      await waitFor(
        async () => (await reconciled(name)).status?.observedGeneration === generations.get(name),
        `${name} to be reconciled`,
      );
    }
    await waitFor(async () => (await holder()).startsWith(`${other.podName}_`), "the other replica to lead");
    const later = await cluster.setTags(NAMESPACE, "id-9", { v: "after" });
    await waitFor(
      async () => (await reconciled("id-9")).status?.observedGeneration === later.metadata?.generation,
      "the remaining replica to reconcile a new change",
    );
    assert.deepEqual(replicas.log.overlaps(), []);
  });
});
