import { after, before, describe, test } from "node:test";
import { type RedisTopologyUnderTest, startSentinelSet } from "../support/redis-ha.js";
import { failover, haSuite } from "./ha-suite.js";

let topology: RedisTopologyUnderTest;
before(async () => {
  topology = await startSentinelSet();
});
after(() => topology?.stop());

haSuite("Redis Sentinel (1 primary, 1 replica, 3 sentinels)", () => topology);

describe("a Sentinel failover", () => {
  test("a primary that hangs (SIGSTOP past down-after) is left for the promoted replica", async (t) => {
    const figures = await failover(topology, async (primary) => {
      primary.pause();
      await topology.waitForFailover(primary);
      // Back from its pause, the old primary is made a replica of the new one by the sentinels.
      primary.resume();
    });
    t.diagnostic(
      `healthy again ${Math.round(figures.healthyAfterMs)} ms and converged ${Math.round(figures.convergedAfterMs)} ms after the pause`,
    );
  });

  test("a primary that dies (SIGKILL) is replaced by the promoted replica", async (t) => {
    // The old primary, a replica since the previous test, is the one promoted this time.
    const figures = await failover(topology, async (primary) => {
      await primary.kill();
      await topology.waitForFailover(primary);
    });
    t.diagnostic(
      `healthy again ${Math.round(figures.healthyAfterMs)} ms and converged ${Math.round(figures.convergedAfterMs)} ms after the kill`,
    );
  });
});
