import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { QueueError } from "./errors.js";
import { LuaScript } from "./lua-script.js";
import type { RedisClient } from "./redis-client.js";

/** Deletes the lock only if it still holds our token: an expired lock retaken by another stays theirs. */
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** A lock stayed busy for the whole wait: the work is retried later, like any transient failure. */
export function lockBusy(name: string): QueueError {
  return new QueueError("LockBusy", `the lock on ${name} is held elsewhere`);
}

export interface RedisLockOptions {
  prefix: string;
  /** How long a lock outlives a holder that died with it. */
  ttlMs?: number;
  /** How long a caller waits for a busy lock before giving up (QueueError LockBusy: retried). */
  waitMs?: number;
  pollMs?: number;
}

/**
 * A mutex shared by every replica (SET NX PX with a token, released by a compare-and-delete):
 * short critical sections only, such as one identity PATCH of one Azure resource.
 */
export class RedisLocks {
  readonly soleWriter = false;
  private readonly ttlMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisLockOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.waitMs = options.waitMs ?? 5_000;
    this.pollMs = options.pollMs ?? 50;
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const key = `${this.options.prefix}:lock:${name}`;
    const token = randomUUID();
    const deadline = Date.now() + this.waitMs;
    while ((await this.redis.set(key, token, "PX", this.ttlMs, "NX")) !== "OK") {
      if (Date.now() >= deadline) throw lockBusy(name);
      await sleep(this.pollMs);
    }
    try {
      return await work();
    } finally {
      await RELEASE.run(this.redis, [key], [token]).catch(() => this.releaseLater(key, token));
    }
  }

  /**
   * Redis was away (a failover) when the lock was to be released: release it once Redis answers
   * again, in the background, instead of leaving everyone else waiting out its TTL.
   */
  private releaseLater(key: string, token: string): void {
    const deadline = Date.now() + this.ttlMs;
    const retry = async () => {
      while (Date.now() < deadline) {
        await sleep(RELEASE_RETRY_MS);
        try {
          await RELEASE.run(this.redis, [key], [token]);
          return;
        } catch {
          // still away; the TTL frees the lock at the latest
        }
      }
    };
    void retry();
  }
}

const RELEASE_RETRY_MS = 250;
