// A controller started against an API server without azid's CRDs (the compose stack before it
// installed them) must say so when its caches time out, not only "is the API server reachable?".
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KubeEmulator } from "@azid/kube-emulator";
import { cleanUp } from "../kube/support/cluster.js";
import { startTestKube } from "../support/kube.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { RunLog, startInProcess } from "./runtime-fixtures/harness.js";
import { testController } from "./runtime-fixtures/test-controller.js";

let kube: KubeEmulator;
let redis: RedisServer;
before(async () => {
  [kube, redis] = await Promise.all([startTestKube(), startRedis()]);
});
after(() =>
  cleanUp(
    () => kube.close(),
    () => redis.stop(),
  ),
);

test("the cache-sync timeout names the CRDs the API server does not serve, and how to install them", async () => {
  const log = new RunLog();
  await assert.rejects(
    startInProcess({
      kubeconfig: kube.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: log.record })],
      flags: { redisPrefix: "no-crds" },
      tuning: { cacheSyncTimeoutMs: 2000 },
    }),
    (error: Error) => {
      assert.match(error.message, /the caches did not sync within 2000 ms/);
      assert.match(error.message, /does not serve the CRDs userassignedidentities\.azid\.dev/);
      assert.match(error.message, /crds\.install=true, or kubectl apply -f crds\//);
      assert.doesNotMatch(error.message, /namespaces/, "namespaces synced: not named");
      return true;
    },
  );
  assert.equal(log.reports.length, 0, "nothing was reconciled");
});
