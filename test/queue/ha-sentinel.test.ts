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
      `healthy again ${Math.round(figures.healthyAfterMs)} ms and converged ${Math.round(figures.convergedAfterMs)} ms after the pause; ${figures.revived} client(s) connected again`,
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
    let dead: RedisProcess | undefined;
    try {
      const ttlMs = 60_000;
      const holder = new RedisLocks(holderClient, { prefix: "ha", ttlMs });
      const waiter = new RedisLocks(waiterClient, { prefix: "ha", ttlMs, waitMs: 30_000, pollMs: 50 });
      await holder.withLock("vm-1", async () => {
        // The lock must be on the replica before its primary dies, or there is nothing to free.
        assert.equal(await (holderClient as Redis).wait(1, 10_000), 1, "the replica has the lock");
        dead = await topology.primary();
        await dead.kill();
        // The release is sent while the client has no primary (as a reconcile ending mid-failover).
        await eventually("the holder lost its primary", () => holderClient.status !== "ready");
      });
      await topology.waitForFailover(dead!);
      // The waiter's client may still be reconnecting, and a command of the command role caught
      // in that fails fast: what is measured here is the release, from a client that answers.
      await eventually(
        "the waiter reaches the new primary",
        () =>
          waiterClient.ping().then(
            () => true,
            () => false,
          ),
        30_000,
      );
      const asked = Date.now();
      await waiter.withLock("vm-1", async () => undefined);
      assert.ok(Date.now() - asked < ttlMs / 2, "the lock was released, not left to its TTL");
    } finally {
      for (const client of clients) client.disconnect();
      // The next test fails the set over again, which needs this node back as a replica.
      if (dead) await topology.rejoin(dead);
    }
  });

  // The second failover of the set, with the sentinels' +switch-master often arriving while the
  // clients are still reconnecting: ioredis then ends a client instead of retrying, which once
  // left a worker unable to fetch (issue 19) until the queue learnt to connect it again.
  test("a primary that dies (SIGKILL) is replaced by the promoted replica", {
    timeout: 120_000,
  }, async (t) => {
    // The old primary, a replica since the previous test, is the one promoted this time.
    const figures = await failover(topology, async (primary) => {
      await primary.kill();
      await topology.waitForFailover(primary);
    });
    t.diagnostic(
      `healthy again ${Math.round(figures.healthyAfterMs)} ms and converged ${Math.round(figures.convergedAfterMs)} ms after the kill; ${figures.revived} client(s) connected again`,
    );
  });
});
