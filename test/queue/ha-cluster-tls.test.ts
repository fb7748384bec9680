// Redis Cluster as managed services run it: TLS on every node (replication and cluster bus too)
// with a CA of its own, and a password. The queue's guarantees and a master failover hold there.
import { after, before, describe, test } from "node:test";
import { type RedisTopologyUnderTest, startRedisCluster } from "../support/redis-ha.js";
import { failover, haSuite } from "./ha-suite.js";

let topology: RedisTopologyUnderTest;
before(async () => {
  topology = await startRedisCluster({ password: "cluster-pw", tls: true });
});
after(() => topology?.stop());

haSuite("Redis Cluster over TLS with a password", () => topology);

describe("a Cluster failover over TLS", () => {
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
