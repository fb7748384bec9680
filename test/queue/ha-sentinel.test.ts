import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Redis } from "ioredis";
import { RedisLocks } from "../../src/queue/index.js";
import { connectRedis, createRedisClient, type RedisClient } from "../../src/queue/redis-client.js";
import { type RedisProcess, type RedisTopologyUnderTest, startSentinelSet } from "../support/redis-ha.js";
import { failover, haSuite } from "./ha-suite.js";
import { eventually } from "./helpers.js";

let topology: RedisTopologyUnderTest;
before(async () => {
  // Passwords on the data nodes and on the sentinels, as production Sentinel setups have them.
  topology = await startSentinelSet({ password: "data-node-pw", sentinelPassword: "sentinel-pw" });
});
after(() => topology?.stop());

haSuite("Redis Sentinel (1 primary, 1 replica, 3 sentinels)", () => topology);

// Each failover has a time limit: one that never comes fails the test instead of holding the run.
describe("a Sentinel failover", () => {
  test("a primary that hangs (SIGSTOP past down-after) is left for the promoted replica", {
    timeout: 120_000,
  }, async (t) => {
    let paused: RedisProcess | undefined;
    const figures = await failover(topology, async (primary) => {
      paused = primary;
      primary.pause();
      await topology.waitForFailover(primary);
      primary.resume();
    });
    // Back from its pause, the old primary is made a replica of the new one by the sentinels.
    await topology.rejoin(paused!);
    t.diagnostic(
      `healthy again ${Math.round(figures.healthyAfterMs)} ms and converged ${Math.round(figures.convergedAfterMs)} ms after the pause`,
    );
  });

  test("a lock whose release fell in a failover is freed once the new primary answers, not at its TTL", {
    timeout: 120_000,
  }, async () => {
    // Right after the previous failover the sentinels may still be settling: a client that cannot
    // connect yet tries again, as the controller's clients do.
    const connected = async (name: string): Promise<RedisClient> => {
      let client: RedisClient | undefined;
      await eventually(
        `the ${name} client connected`,
        async () => {
          client = createRedisClient(topology.connection, "command", name);
          client.on("error", () => undefined);
          try {
            await connectRedis(client, { ...topology.connection, connectTimeoutMs: 5_000 });
            return true;
          } catch {
            client.disconnect();
            return false;
          }
        },
        30_000,
      );
      return client as RedisClient;
    };
    const clients = [await connected("holder"), await connected("waiter")];
    const [holderClient, waiterClient] = clients as [RedisClient, RedisClient];
    try {
      const ttlMs = 60_000;
      const holder = new RedisLocks(holderClient, { prefix: "ha", ttlMs });
      const waiter = new RedisLocks(waiterClient, { prefix: "ha", ttlMs, waitMs: 30_000, pollMs: 50 });
      let dead: RedisProcess | undefined;
      await holder.withLock("vm-1", async () => {
        // The lock must be on the replica before its primary dies, or there is nothing to free.
        assert.equal(await (holderClient as Redis).wait(1, 10_000), 1, "the replica has the lock");
        dead = await topology.primary();
        await dead.kill();
        // The release is sent while the client has no primary (as a reconcile ending mid-failover).
        await eventually("the holder lost its primary", () => holderClient.status !== "ready");
      });
      await topology.waitForFailover(dead!);
      const asked = Date.now();
      await waiter.withLock("vm-1", async () => undefined);
      assert.ok(Date.now() - asked < ttlMs / 2, "the lock was released, not left to its TTL");
      await topology.rejoin(dead!);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  // KNOWN FAILING (issue 19): in about one run of four or eight, after this second failover one
  // queue's client or worker stays stuck (keys left ready, one job active) until the test's limit,
  // with ioredis's failoverDetector on or off alike. It runs and reports, as a todo, until fixed.
  test("a primary that dies (SIGKILL) is replaced by the promoted replica", {
    timeout: 120_000,
    todo: "intermittently stuck after a second failover (issue 19): runs and reports, fails nothing yet",
  }, async (t) => {
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
