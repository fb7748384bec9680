// Leader duties (the tenant sweep is one) keep running through a Redis outage: what they enqueue
// meanwhile is reconciled once Redis is back; a duty that fails is started again after a backoff,
// logged and counted. Real parts: the Kubernetes emulator, redis-server and the manager.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ControllerProcess } from "../../src/controller/run.js";
import { cleanUp, TestCluster, waitFor } from "../kube/support/cluster.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { RunLog, startInProcess } from "./runtime-fixtures/harness.js";
import { testController } from "./runtime-fixtures/test-controller.js";

describe("leader duties", () => {
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

  test("a duty enqueues through a Redis outage without failing, and its keys are reconciled after", async () => {
    const namespace = "duty-outage";
    await cluster.createNamespace(namespace);
    await cluster.createIdentity(namespace, "id-0", { v: "0" });
    const key = `UserAssignedIdentity/${namespace}/id-0`;
    let rounds = 0;
    const enqueueFailures: unknown[] = [];
    const log = new RunLog();
    const controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [
        testController({
          report: log.record,
          whileLeading: async (signal, runtime) => {
            while (!signal.aborted) {
              rounds++;
              try {
                await runtime.enqueue(key);
              } catch (error) {
                enqueueFailures.push(error);
                throw error;
              }
              await sleep(50);
            }
          },
        }),
      ],
      // No resync: after Redis comes back empty only the duty's adds bring the key in.
      flags: { namespaces: namespace, resyncPeriod: "0", redisPrefix: "duty-outage" },
    });
    running.push(controller);
    await waitFor(() => log.starts(key).length > 1, "the duty's adds to be reconciled");

    await redis.kill();
    const killedAt = rounds;
    await waitFor(() => rounds >= killedAt + 10, "the duty to go on while Redis is away", 20_000);
    assert.deepEqual(enqueueFailures, [], "an add while Redis is away never fails the duty");

    const reconciled = log.starts(key).length;
    await redis.restart();
    await waitFor(
      () => log.starts(key).length > reconciled,
      "the duty's key to be reconciled once Redis is back",
      30_000,
    );
    await controller.stop();
    running.splice(running.indexOf(controller), 1);
  });

  test("a duty that fails starts again after a backoff, and the restart is counted", async () => {
    const namespace = "duty-failure";
    await cluster.createNamespace(namespace);
    let runs = 0;
    const controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [
        testController({
          report: () => {},
          whileLeading: async (signal) => {
            runs++;
            if (runs <= 2) throw new Error(`duty run ${runs} fails`);
            await new Promise((resolve) => signal.addEventListener("abort", resolve));
          },
        }),
      ],
      flags: { namespaces: namespace, resyncPeriod: "0", redisPrefix: "duty-failure" },
    });
    running.push(controller);
    await waitFor(() => runs === 3, "the duty to run a third time", 20_000);
    const metrics = await (await fetch(`${controller.server!.url}/metrics`)).text();
    assert.match(metrics, /azid_leader_duty_restarts_total\{controller="userassignedidentity"\} 2/);
    await controller.stop();
    running.splice(running.indexOf(controller), 1);
  });
});
