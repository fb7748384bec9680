// Faults around a running controller (in this process, through the same start path as
// `azid controller`): Redis killed and restarted empty, watches dropped and history compacted
// (410), the API server away for a while. The controller stays up, says when it is not ready,
// and every object ends up reconciled at its last change.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ControllerProcess } from "../../src/controller/run.js";
import { cleanUp, type Identity, TestCluster, waitFor } from "../kube/support/cluster.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { RunLog, startInProcess } from "./runtime-fixtures/harness.js";
import { IDENTITIES, testController } from "./runtime-fixtures/test-controller.js";

describe("manager under faults", () => {
  let cluster: TestCluster;
  let redis: RedisServer;
  const running: ControllerProcess[] = [];

  before(async () => {
    [cluster, redis] = await Promise.all([TestCluster.start(), startRedis()]);
  });
  after(() =>
    cleanUp(
      ...running.map((controller) => () => controller.stop()),
      () => cluster.close(),
      () => redis.stop(),
    ),
  );

  async function readyz(controller: ControllerProcess): Promise<{ status: number; text: string }> {
    const response = await fetch(`${controller.server!.url}/readyz`);
    return { status: response.status, text: await response.text() };
  }

  async function allReconciled(namespace: string): Promise<boolean> {
    const identities = await cluster.listIdentities(namespace);
    return identities.every(
      (o: Identity) =>
        o.status?.observedGeneration === o.metadata?.generation &&
        o.status?.conditions?.[0]?.message === `v=${o.spec.tags?.v ?? ""}`,
    );
  }

  async function changeAll(namespace: string, count: number, v: string): Promise<void> {
    for (let i = 0; i < count; i++) await cluster.setTags(namespace, `id-${i}`, { v });
  }

  test("Redis killed and restarted empty: stays up, not ready meanwhile, converges through resync", async () => {
    const namespace = "redis-loss";
    const count = 30;
    await cluster.createNamespace(namespace);
    for (let i = 0; i < count; i++) await cluster.createIdentity(namespace, `id-${i}`, { v: "0" });
    let hold: Promise<void> | undefined;
    let release = () => {};
    const log = new RunLog();
    const controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: log.record, hook: () => hold })],
      flags: { namespaces: namespace, resyncPeriod: "2s", concurrency: "4", redisPrefix: "loss" },
    });
    running.push(controller);
    await waitFor(() => allReconciled(namespace), "the initial reconciles");

    // Every key is queued while the reconciles block; then Redis dies and takes the queue with it.
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const before = log.starts().length;
    await changeAll(namespace, count, "1");
    await waitFor(() => log.starts().length >= before + 4, "four reconciles to be running");
    await redis.kill();
    release();
    hold = undefined;

    await waitFor(async () => (await readyz(controller)).status === 503, "/readyz to fail");
    const notReady = await readyz(controller);
    assert.match(notReady.text, /\[-\]redis failed/);
    assert.match(notReady.text, /\[\+\]apiserver ok/);
    assert.equal((await fetch(`${controller.server!.url}/healthz`)).status, 200, "alive all along");
    await changeAll(namespace, 5, "2");

    await redis.restart();
    await waitFor(() => allReconciled(namespace), "every object to be reconciled at its last change", 30_000);
    await waitFor(async () => (await readyz(controller)).status === 200, "/readyz to pass again");
    assert.deepEqual(log.overlaps(), []);
    await controller.stop();
    running.splice(running.indexOf(controller), 1);
  });

  test("dropped watches and 410 Expired: the informers recover and no change is missed", async () => {
    const namespace = "watch-faults";
    const count = 20;
    await cluster.createNamespace(namespace);
    for (let i = 0; i < count; i++) await cluster.createIdentity(namespace, `id-${i}`, { v: "0" });
    const log = new RunLog();
    const controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: log.record })],
      // No resync: only the informers can bring the changes in.
      flags: { namespaces: namespace, resyncPeriod: "0", redisPrefix: "watch" },
    });
    running.push(controller);
    await waitFor(() => allReconciled(namespace), "the initial reconciles");
    for (let round = 1; round <= 6; round++) {
      if (round % 2 === 0) cluster.kube.admin.compactWatchHistory(1);
      cluster.kube.admin.dropWatches({ abrupt: round % 3 !== 0 });
      await changeAll(namespace, count, String(round));
      if (round % 2 === 0) cluster.kube.admin.compactWatchHistory(10_000);
    }
    await waitFor(() => allReconciled(namespace), "every last change to be reconciled", 20_000);
    const cached = controller.manager.caches.informer<Identity>(IDENTITIES).list(namespace);
    assert.ok(
      cached.every((o) => o.spec.tags?.v === "6"),
      "the cache has every last change",
    );
    assert.deepEqual(log.overlaps(), []);
    await controller.stop();
    running.splice(running.indexOf(controller), 1);
  });

  test("the API server away for a while: not ready, writes retried, then ready and converged", async () => {
    const namespace = "api-outage";
    const count = 10;
    await cluster.createNamespace(namespace);
    for (let i = 0; i < count; i++) await cluster.createIdentity(namespace, `id-${i}`, { v: "0" });
    let slow = false;
    const log = new RunLog();
    const controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: log.record, workMs: () => (slow ? 300 : 0) })],
      flags: { namespaces: namespace, resyncPeriod: "0", redisPrefix: "outage" },
    });
    running.push(controller);
    await waitFor(() => allReconciled(namespace), "the initial reconciles");

    // These reconciles are still working when the server goes away: their status writes fail.
    slow = true;
    await changeAll(namespace, count, "1");
    await waitFor(() => log.starts().length > count, "reconciles of the change to start");
    await cluster.kube.admin.makeUnavailable({ mode: "refuse" });
    await waitFor(async () => (await readyz(controller)).status === 503, "/readyz to fail");
    assert.match((await readyz(controller)).text, /\[-\]apiserver failed/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    slow = false;
    await cluster.kube.admin.makeAvailable();
    await waitFor(async () => (await readyz(controller)).status === 200, "/readyz to pass again", 15_000);
    await changeAll(namespace, 3, "2");
    await waitFor(() => allReconciled(namespace), "every object to be reconciled at its last change", 20_000);
    assert.ok(
      log.reports.some((r) => r.type === "end" && r.outcome === "failed"),
      "some status writes failed during the outage and were retried",
    );
    await controller.stop();
    running.splice(running.indexOf(controller), 1);
  });
});
