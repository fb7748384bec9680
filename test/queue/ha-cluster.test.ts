import { after, before, describe, test } from "node:test";
import { type RedisTopologyUnderTest, startRedisCluster } from "../support/redis-ha.js";
import { failover, haSuite } from "./ha-suite.js";

let topology: RedisTopologyUnderTest;
before(async () => {
  topology = await startRedisCluster();
});
after(() => topology?.stop());

haSuite("Redis Cluster (3 masters, a replica each)", () => topology);

// A failover that never comes fails the test instead of holding the run until CI's limit.
describe("a Cluster failover", () => {
  test("the master of the queue's slot dies and its replica is promoted", {
    timeout: 120_000,
  }, async (t) => {
    const figures = await failover(topology, async (master) => {
      await master.kill();
      await topology.waitForFailover(master);
    });
    t.diagnostic(
      `healthy again ${Math.round(figures.healthyAfterMs)} ms and converged ${Math.round(figures.convergedAfterMs)} ms after the kill; ${figures.revived} client(s) connected again`,
    );
  });
});
