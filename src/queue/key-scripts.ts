import type { QueueKeyspace } from "./keyspace.js";
import { LuaScript } from "./lua-script.js";
import type { RedisClient } from "./redis-client.js";

/**
 * The two decisions BullMQ's deduplication cannot make atomically, written against BullMQ 6.7's
 * keys (the delayed set's score is `timestamp * 0x1000`, as its getDelayedScore writes it; the
 * marker set wakes blocked workers, as its addDelayMarkerIfNeeded does).
 */

// addAfter: the earliest requested time wins. BullMQ's `reschedule` always takes the newcomer's
// delay and its keepLastIfActive payload always takes the last add, so a later, longer delay would
// push back an earlier request. Answers: add (no job stands for the key), kept (it already runs at
// least as early), moved (its delayed job was brought forward), parked (it is running: remembered
// for when it ends), busy (it is running and already deciding what comes next: ask again).
const ADD_AFTER_LUA = `
local jobId = redis.call('GET', KEYS[1])
if not jobId or redis.call('EXISTS', ARGV[1] .. jobId) == 0 then return 'add' end
local target = tonumber(ARGV[2])
local score = redis.call('ZSCORE', KEYS[2], jobId)
if score then
  if math.floor(tonumber(score) / 4096) <= target then return 'kept' end
  redis.call('ZADD', KEYS[2], target * 4096, jobId)
  redis.call('HSET', ARGV[1] .. jobId, 'delay', ARGV[4])
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  redis.call('ZADD', KEYS[4], tonumber(first[2]) / 4096, '1')
  return 'moved'
end
if redis.call('LPOS', KEYS[3], jobId) then
  if redis.call('GET', KEYS[6]) == jobId then return 'busy' end
  redis.call('ZADD', KEYS[5], 'LT', target, ARGV[3])
  return 'parked'
end
return 'kept'
`;

// The end of a reconcile: update the key's failure count, take any addAfter parked while it ran,
// seal the key against further parking (so nothing is parked after this read), and say whether an
// immediate add is waiting in BullMQ's keepLastIfActive payload.
const SETTLE_LUA = `
local failures
if ARGV[2] == 'reset' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  failures = 0
elseif ARGV[2] == 'fail' then
  failures = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
else
  failures = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
end
local deferred = redis.call('ZSCORE', KEYS[2], ARGV[1])
if deferred then redis.call('ZREM', KEYS[2], ARGV[1]) end
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return {failures, deferred or '', redis.call('EXISTS', KEYS[4])}
`;

// After the job moved to delayed: lift the seal, and report an immediate add that slipped in
// between the settle and the move (it sits in the payload that only a finished job releases).
const RELEASE_LUA = `
redis.call('DEL', KEYS[1])
return redis.call('EXISTS', KEYS[2])
`;

const addAfterScript = new LuaScript(ADD_AFTER_LUA);
const settleScript = new LuaScript(SETTLE_LUA);
const releaseScript = new LuaScript(RELEASE_LUA);

export type AddAfterVerdict = "add" | "kept" | "moved" | "parked" | "busy";

export async function tryAddAfter(
  redis: RedisClient,
  keys: QueueKeyspace,
  key: string,
  readyAt: number,
  delayMs: number,
): Promise<AddAfterVerdict> {
  const verdict = await addAfterScript.run(
    redis,
    [keys.deduplication(key), keys.delayed, keys.active, keys.marker, keys.deferred, keys.seal(key)],
    [keys.jobs, readyAt, key, delayMs],
  );
  return verdict as AddAfterVerdict;
}

export type FailureChange = "reset" | "fail" | "keep";

export interface Settlement {
  /** Consecutive failures of the key after this run. */
  failures: number;
  /** Earliest time an addAfter asked for while this run went on. */
  deferredUntil: number | undefined;
  /** An add arrived while this run went on. */
  addPending: boolean;
}

export async function settleRun(
  redis: RedisClient,
  keys: QueueKeyspace,
  key: string,
  jobId: string,
  change: FailureChange,
  sealTtlMs: number,
): Promise<Settlement> {
  const [failures, deferred, pending] = (await settleScript.run(
    redis,
    [keys.failures, keys.deferred, keys.seal(key), keys.pendingAdd(key)],
    [key, change, jobId, sealTtlMs],
  )) as [number, string, number];
  return {
    failures,
    deferredUntil: deferred === "" ? undefined : Number(deferred),
    addPending: pending === 1,
  };
}

/** Returns whether an immediate add is waiting behind the now-delayed job. */
export async function releaseRun(redis: RedisClient, keys: QueueKeyspace, key: string): Promise<boolean> {
  return (await releaseScript.run(redis, [keys.seal(key), keys.pendingAdd(key)], [])) === 1;
}

export async function readFailures(redis: RedisClient, keys: QueueKeyspace, key: string): Promise<number> {
  return Number((await redis.hget(keys.failures, key)) ?? 0);
}
