import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { RedisLocks } from "../../src/queue/redis-lock.js";
import { type RedisServer, startRedis } from "../support/redis.js";

/** Takes the lock and keeps it until `release()`; resolves once it is held (a fixed sleep raced the SET under load). */
async function holdUntilReleased(locks: RedisLocks, name: string) {
  let release!: () => void;
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const done = locks.withLock(name, () => {
    holding();
    return new Promise<void>((resolve) => (release = resolve));
  });
  await held;
  return { release, done };
}

describe("RedisLocks", () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  const locks = (options: { ttlMs?: number; waitMs?: number } = {}) => {
    const client = new Redis(redis.url, { lazyConnect: false });
    clients.push(client);
    return new RedisLocks(client, { prefix: "test", pollMs: 5, ...options });
  };

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await redis.stop();
  });

  test("two replicas never hold one lock at once, and both get it in turn", async () => {
    const [a, b] = [locks(), locks()];
    let holders = 0;
    let most = 0;
    const critical = async () => {
      holders++;
      most = Math.max(most, holders);
      await sleep(10);
      holders--;
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).withLock("vm-1", critical)));
    assert.equal(most, 1);
  });

  test("different names do not wait for each other", async () => {
    const lock = locks({ waitMs: 20 });
    await lock.withLock("vm-a", () => lock.withLock("vm-b", async () => "both"));
  });

  test("a lock held past the wait gives up with LockBusy, and the holder keeps it", async () => {
    const [holder, other] = [locks(), locks({ waitMs: 30 })];
    const { release, done: held } = await holdUntilReleased(holder, "vm-2");
    await assert.rejects(
      other.withLock("vm-2", async () => undefined),
      (error: Error & { code?: string }) => error.code === "LockBusy",
    );
    release();
    await held;
    assert.equal(await other.withLock("vm-2", async () => "mine now"), "mine now");
  });

  test("a holder that died frees the lock after its ttl; its late release cannot free the next holder's", async () => {
    const [dead, next] = [locks({ ttlMs: 50 }), locks({ waitMs: 1000 })];
    const { release, done: stuck } = await holdUntilReleased(dead, "vm-3");
    let nextHolds = false;
    const taken = next.withLock("vm-3", async () => {
      nextHolds = true;
      release(); // the first holder finishes late and releases: it must not delete our lock
      await stuck;
      const third = locks({ waitMs: 20 });
      await assert.rejects(third.withLock("vm-3", async () => undefined));
    });
    await taken;
    assert.ok(nextHolds);
  });
});
