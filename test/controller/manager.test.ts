// The manager in this process, against the Kubernetes emulator and a real redis-server, with the
// test reconciler: every change reconciled, our own status writes not requeued, secondary
// watches, the error policy, metrics and health, credentials reload, leader-only duties.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PolicyDeniedError, ThrottledError } from "../../src/azure/errors.js";
import type { ControllerProcess } from "../../src/controller/run.js";
import { cleanUp, type Identity, TestCluster, waitFor } from "../kube/support/cluster.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { RunLog, startInProcess } from "./runtime-fixtures/harness.js";
import { testController } from "./runtime-fixtures/test-controller.js";

/** Waits until the Lease's renewTime has moved on `times` times: its holder's renewals, counted. */
async function renewals(cluster: TestCluster, namespace: string, name: string, times: number): Promise<void> {
  const seen = new Set<string>();
  await waitFor(async () => {
    const lease = (await cluster.call(
      "GET",
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
    )) as { spec?: { renewTime?: string } };
    seen.add(String(lease.spec?.renewTime));
    return seen.size > times;
  }, `${times} renewals of the Lease ${name}`);
}

describe("manager", () => {
  let cluster: TestCluster;
  let redis: RedisServer;
  const running: ControllerProcess[] = [];
  let prefixes = 0;

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

  async function start(
    log: RunLog,
    options: Partial<Parameters<typeof testController>[0]> & {
      namespaces?: string;
      credentialsFile?: string;
    } = {},
  ): Promise<ControllerProcess> {
    const { namespaces, credentialsFile, ...controllerOptions } = options;
    const controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: log.record, ...controllerOptions })],
      flags: {
        namespaces,
        credentialsFile,
        redisPrefix: `m${prefixes++}`,
        leaderElectionId: `azid-${prefixes}`,
      },
    });
    running.push(controller);
    return controller;
  }

  async function stop(controller: ControllerProcess): Promise<void> {
    await controller.stop();
    running.splice(running.indexOf(controller), 1);
  }

  /** Every identity of the namespace has a status for its current generation and tag value. */
  async function allReconciled(namespace: string): Promise<boolean> {
    const identities = await cluster.listIdentities(namespace);
    return identities.every(
      (o: Identity) =>
        o.status?.observedGeneration === o.metadata?.generation &&
        o.status?.conditions?.[0]?.message === `v=${o.spec.tags?.v ?? ""}`,
    );
  }

  test("reconciles every object and its last change; its own status writes do not requeue", async () => {
    await cluster.createNamespace("basic");
    for (let i = 0; i < 20; i++) await cluster.createIdentity("basic", `id-${i}`, { v: "0" });
    const log = new RunLog();
    const controller = await start(log, { namespaces: "basic" });
    await waitFor(() => allReconciled("basic"), "the initial reconciles");
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 20; i += 2) await cluster.setTags("basic", `id-${i}`, { v: String(round) });
    }
    await waitFor(() => allReconciled("basic"), "the changes to be reconciled");
    await cluster.deleteIdentity("basic", "id-1");
    await waitFor(
      () => log.reports.some((r) => r.type === "end" && r.key.endsWith("/id-1") && r.outcome === "gone"),
      "the delete",
    );

    // The positive signal: two changes, one after the other, each reconciled once. A reconcile
    // caused by a status write before them would have been queued ahead of the second.
    const runs = log.starts().length;
    await cluster.setTags("basic", "id-0", { v: "probe" });
    await waitFor(() => allReconciled("basic"), "the first probe");
    await cluster.setTags("basic", "id-2", { v: "probe" });
    await waitFor(() => allReconciled("basic"), "the second probe");
    assert.equal(
      log.starts().length,
      runs + 2,
      "only the probes ran once all was reconciled: status writes are not changes",
    );
    assert.deepEqual(log.overlaps(), []);
    const metrics = await (await fetch(`${controller.server!.url}/metrics`)).text();
    assert.match(
      metrics,
      /controller_runtime_reconcile_total\{controller="userassignedidentity",result="success"\} \d+/,
    );
    assert.match(
      metrics,
      /workqueue_adds_total\{name="userassignedidentity",controller="userassignedidentity"\} \d+/,
    );
    assert.match(
      metrics,
      /controller_runtime_reconcile_time_seconds_count\{controller="userassignedidentity"\} \d+/,
    );
    await stop(controller);
  });

  test("health: /healthz and /readyz answer in the API server's format", async () => {
    const controller = await start(new RunLog(), { namespaces: "basic" });
    const ready = await fetch(`${controller.server!.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(
      await ready.text(),
      "[+]manager ok\n[+]informers ok\n[+]apiserver ok\n[+]redis ok\nreadyz check passed\n",
    );
    assert.equal((await fetch(`${controller.server!.url}/healthz`)).status, 200);
    await stop(controller);
  });

  test("errors go through the error policy: retried with backoff, throttled without an attempt, terminal once", async () => {
    await cluster.createNamespace("errors");
    const failures = new Map<string, number>([["flaky", 2]]);
    const log = new RunLog();
    const controller = await start(log, {
      namespaces: "errors",
      hook: (key) => {
        const name = key.split("/")[2]!;
        if (name === "flaky" && (failures.get(name) ?? 0) > 0) {
          failures.set(name, failures.get(name)! - 1);
          throw new Error("transient");
        }
        if (name === "throttled" && log.starts(key).length === 1)
          throw new ThrottledError("slow down", 50, "arm");
        if (name === "denied") throw new PolicyDeniedError("denied by policy", "deny-identities");
      },
    });
    await cluster.createIdentity("errors", "flaky", { v: "1" });
    await cluster.createIdentity("errors", "throttled", { v: "1" });
    await cluster.createIdentity("errors", "denied", { v: "1" });
    await waitFor(
      async () => (await cluster.getIdentity("errors", "flaky")).status?.observedGeneration === 1,
      "the flaky one to succeed on its third attempt",
    );
    assert.deepEqual(
      log.starts("UserAssignedIdentity/errors/flaky").map((r) => r.attempt),
      [1, 2, 3],
    );
    await waitFor(
      async () => (await cluster.getIdentity("errors", "throttled")).status?.observedGeneration === 1,
      "the throttled one to run again after Retry-After",
    );
    assert.deepEqual(
      log.starts("UserAssignedIdentity/errors/throttled").map((r) => r.attempt),
      [1, 1],
      "a throttled run is not an attempt",
    );
    // The positive signal: a change of the denied one runs it again. A retry pending from the
    // first run would have been overridden by that add and kept its failure count (attempt 2).
    await cluster.setTags("errors", "denied", { v: "2" });
    await waitFor(
      () => log.starts("UserAssignedIdentity/errors/denied").length >= 2,
      "the denied one to run on its change",
    );
    assert.deepEqual(
      log.starts("UserAssignedIdentity/errors/denied").map((r) => r.attempt),
      [1, 1],
      "a terminal error is not retried: no attempt in between, its failure count reset",
    );
    const metrics = await (await fetch(`${controller.server!.url}/metrics`)).text();
    assert.match(
      metrics,
      /controller_runtime_reconcile_errors_total\{controller="userassignedidentity"\} [4-9]/,
    );
    assert.match(
      metrics,
      /workqueue_retries_total\{name="userassignedidentity",controller="userassignedidentity"\} 2/,
    );
    await stop(controller);
  });

  test("a reconcile that throws anything, even a non-Error, never takes the process down", async () => {
    await cluster.createNamespace("crash");
    let thrown = 0;
    const log = new RunLog();
    const controller = await start(log, {
      namespaces: "crash",
      hook: () => {
        if (thrown++ < 3) throw "a string, not an Error";
      },
    });
    await cluster.createIdentity("crash", "boom", { v: "1" });
    await waitFor(
      async () => (await cluster.getIdentity("crash", "boom")).status?.observedGeneration === 1,
      "recovery",
    );
    assert.ok((await controller.manager.readiness()).ok);
    await stop(controller);
  });

  test("a changed credentials file reconciles every resource again", async () => {
    await cluster.createNamespace("creds");
    await cluster.createIdentity("creds", "one", { v: "1" });
    await cluster.createIdentity("creds", "two", { v: "1" });
    const dir = mkdtempSync(join(tmpdir(), "azid-creds-"));
    const file = join(dir, "credentials.yaml");
    writeFileSync(file, "default:\n  tenantId: 00000000-0000-4000-8000-000000000001\n");
    try {
      const log = new RunLog();
      const controller = await start(log, { namespaces: "creds", credentialsFile: file });
      await waitFor(() => allReconciled("creds"), "the initial reconciles");
      const before = log.starts().length;
      writeFileSync(file, "default:\n  tenantId: 00000000-0000-4000-8000-000000000002\n");
      await waitFor(() => log.starts().length >= before + 2, "every identity to be reconciled again");
      await stop(controller);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("leader duties run on one replica; the other takes them over when it stops", async () => {
    await cluster.createNamespace("leaders");
    const leading: string[] = [];
    const duty = (name: string) => async (signal: AbortSignal) => {
      leading.push(`${name}+`);
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      leading.push(`${name}-`);
    };
    const flags = { namespaces: "leaders" };
    const first = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: () => undefined, whileLeading: duty("first") })],
      flags: { ...flags, redisPrefix: "leaders", leaderElectionId: "azid-leaders" },
    });
    await waitFor(() => first.manager.isLeader(), "the first replica to lead");
    const second = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: () => undefined, whileLeading: duty("second") })],
      flags: { ...flags, redisPrefix: "leaders", leaderElectionId: "azid-leaders" },
    });
    // The positive signal: the leader renews the Lease twice more, while the second replica,
    // trying as often, keeps finding it held.
    await renewals(cluster, "default", "azid-leaders", 2);
    assert.ok(!second.manager.isLeader());
    assert.deepEqual(leading, ["first+"]);
    await first.stop();
    await waitFor(() => second.manager.isLeader(), "the second replica to take over");
    await waitFor(() => leading.length === 3, "its duty to start");
    assert.deepEqual(leading, ["first+", "first-", "second+"]);
    await second.stop();
    assert.deepEqual(leading, ["first+", "first-", "second+", "second-"]);
  });
});
