import { QueueError } from "./errors.js";
import { LuaScript } from "./lua-script.js";
import type { RedisClient } from "./redis-client.js";

/**
 * Token buckets kept in Redis so that every replica draws from the same buckets, as ARM does per
 * subscription. One script call checks and takes from several buckets atomically, using Redis's
 * clock so replicas with skewed clocks agree. A bucket at rest expires once it would be full again,
 * so idle buckets cost no memory.
 */
const TOKEN_BUCKET_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
-- ARGV[1]: the longest wait (ms) the caller accepts for tokens reserved ahead of their refill
-- (0: only tokens that are there; -1: any wait, a reservation); then capacity, rate, want per key.
local maxWait = tonumber(ARGV[1])
local levels = {}
local worstWait = 0
local worst = 0
for i = 1, #KEYS do
  local capacity = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  local want = tonumber(ARGV[3 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 't', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = capacity
  elseif now > ts then
    tokens = tokens + (now - ts) * rate / 1000
  end
  if tokens > capacity then tokens = capacity end
  local level = tokens - want
  levels[i] = level
  if level < 0 then
    local wait = -1
    if rate > 0 then wait = -level * 1000 / rate end
    if worst == 0 or wait < 0 or (worstWait >= 0 and wait > worstWait) then
      worstWait = wait
      worst = i
    end
  end
end
if worst > 0 and maxWait >= 0 and (worstWait < 0 or worstWait > maxWait) then
  if worstWait < 0 then return {0, -1, worst} end
  return {0, math.ceil(worstWait), worst}
end
for i = 1, #KEYS do
  local capacity = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  redis.call('HSET', KEYS[i], 't', levels[i], 'ts', now)
  if rate > 0 then
    redis.call('PEXPIRE', KEYS[i], math.ceil((capacity - levels[i]) * 1000 / rate) + 1000)
  else
    redis.call('PERSIST', KEYS[i])
  end
end
return {1, math.ceil(worstWait), worst}
`;

const script = new LuaScript(TOKEN_BUCKET_LUA);

export interface TokenRequest {
  /** The bucket's name, e.g. `arm:<subscription>:writes`. */
  bucket: string;
  /** Most tokens the bucket holds (the burst). */
  capacity: number;
  /** Tokens added per second (may be fractional, e.g. 0.25). */
  refillPerSecond: number;
  /** Tokens wanted from this bucket; default 1. */
  tokens?: number;
}

export type TakeResult =
  /**
   * The tokens are the caller's. `waitMs` (only when `maxWaitMs` allowed it) is how long the caller
   * must wait before acting: the tokens were reserved ahead of their refill.
   */
  | { granted: true; waitMs?: number }
  /** `waitMs` is how long until the bucket named `bucket` could grant; Infinity when it never refills. */
  | { granted: false; waitMs: number; bucket: string };

interface CheckedRequest {
  bucket: string;
  capacity: number;
  refillPerSecond: number;
  tokens: number;
}

function checkRequests(input: TokenRequest | TokenRequest[]): CheckedRequest[] {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new QueueError("InvalidOption", "a token request names at least one bucket");
  const merged = new Map<string, CheckedRequest>();
  for (const request of list) {
    const { bucket, capacity, refillPerSecond } = request;
    const tokens = request.tokens ?? 1;
    if (typeof bucket !== "string" || bucket.length === 0) {
      throw new QueueError("InvalidOption", "a token bucket needs a non-empty name");
    }
    if (!Number.isFinite(capacity) || capacity <= 0) {
      throw new QueueError("InvalidOption", `bucket ${bucket}: capacity must be a positive number`);
    }
    if (!Number.isFinite(refillPerSecond) || refillPerSecond < 0) {
      throw new QueueError("InvalidOption", `bucket ${bucket}: refillPerSecond must be zero or more`);
    }
    if (!Number.isFinite(tokens) || tokens <= 0) {
      throw new QueueError("InvalidOption", `bucket ${bucket}: tokens must be a positive number`);
    }
    const seen = merged.get(bucket);
    if (seen && (seen.capacity !== capacity || seen.refillPerSecond !== refillPerSecond)) {
      throw new QueueError("InvalidOption", `bucket ${bucket} is named twice with different settings`);
    }
    merged.set(bucket, { bucket, capacity, refillPerSecond, tokens: (seen?.tokens ?? 0) + tokens });
  }
  return [...merged.values()];
}

export class TokenBuckets {
  private readonly keyPrefix: string;

  /** Buckets live at `<prefix>:bucket:<name>`; give a Redis Cluster a hash-tagged prefix such as `{azid}`. */
  constructor(
    private readonly redis: RedisClient,
    options: { prefix: string },
  ) {
    this.keyPrefix = `${options.prefix}:bucket:`;
  }

  /**
   * Takes the tokens from every bucket named, or from none of them and says how long to wait.
   * With `maxWaitMs`, tokens that will be there within that time are reserved (the buckets go into
   * debt, so later callers queue behind) and the answer says how long to wait before acting.
   */
  async take(
    requests: TokenRequest | TokenRequest[],
    options: { maxWaitMs?: number } = {},
  ): Promise<TakeResult> {
    const checked = checkRequests(requests);
    for (const request of checked) {
      if (request.tokens > request.capacity) {
        throw new QueueError(
          "BucketRequestTooLarge",
          `bucket ${request.bucket} holds at most ${request.capacity} tokens; ${request.tokens} can never be granted`,
        );
      }
    }
    const maxWaitMs = options.maxWaitMs ?? 0;
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
      throw new QueueError("InvalidOption", "maxWaitMs must be zero or more milliseconds");
    }
    const [granted, waitMs, index] = await this.run(maxWaitMs, checked);
    if (granted === 1) return waitMs > 0 ? { granted: true, waitMs } : { granted: true };
    const bucket = checked[index - 1]?.bucket ?? "";
    return { granted: false, waitMs: waitMs < 0 ? Number.POSITIVE_INFINITY : waitMs, bucket };
  }

  /**
   * Takes the tokens now even when that puts buckets in debt, and returns how long the caller must
   * wait before acting (0 when the tokens were there): golang.org/x/time/rate's Reserve, which
   * client-go's overall retry limiter uses, so concurrent waiters are spread out instead of
   * stampeding when the bucket refills.
   */
  async reserve(requests: TokenRequest | TokenRequest[]): Promise<number> {
    const checked = checkRequests(requests);
    for (const request of checked) {
      if (request.refillPerSecond <= 0) {
        throw new QueueError("InvalidOption", `bucket ${request.bucket}: a reservation needs a refill rate`);
      }
    }
    const [, waitMs] = await this.run(-1, checked);
    return waitMs;
  }

  /** `maxWaitMs` -1 reserves whatever the wait (reserve()), 0 takes only what is there. */
  private async run(maxWaitMs: number, requests: CheckedRequest[]): Promise<[number, number, number]> {
    const keys = requests.map((request) => this.keyPrefix + request.bucket);
    const args: (string | number)[] = [maxWaitMs];
    for (const request of requests) args.push(request.capacity, request.refillPerSecond, request.tokens);
    const reply = (await script.run(this.redis, keys, args)) as [number, number, number];
    return reply;
  }
}
