// Redis Sentinel with TLS everywhere (data nodes, replication, sentinels) under a CA made for the
// test, and passwords on the data nodes and the sentinels. The queue's guarantees and a primary
// failover hold there.
import { after, before, describe, test } from "node:test";
import { type RedisTopologyUnderTest, startSentinelSet } from "../support/redis-ha.js";
import { failover, haSuite } from "./ha-suite.js";

let topology: RedisTopologyUnderTest;
before(async () => {
  topology = await startSentinelSet({ password: "data-node-pw", sentinelPassword: "sentinel-pw", tls: true });
});
after(() => topology?.stop());

haSuite("Redis Sentinel over TLS with passwords", () => topology);

describe("a Sentinel failover over TLS", () => {
  test("a primary that dies (SIGKILL) is replaced by the promoted replica", {
    timeout: 120_000,
  }, async (t) => {
    const figures = await failover(topology, async (primary) => {
      await primary.kill();
      await topology.waitForFailover(primary);
    });
    t.diagnostic(
      `healthy again ${Math.round(figures.healthyAfterMs)} ms and converged ${Math.round(figures.convergedAfterMs)} ms after the kill; ${figures.revived} client(s) connected again`,
    );
  });
});
