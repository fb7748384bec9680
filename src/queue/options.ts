import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.js";
import { QueueError } from "./errors.js";
import { checkClusterPrefix, type RedisConnectionOptions, redisTopology } from "./redis-client.js";

export interface WorkQueueOptions {
  /** The queue's name, one per controller (no ':'). */
  name: string;
  redis: RedisConnectionOptions;
  /**
   * Every key of this installation starts with it, so installations can share one Redis. Default
   * `azid`, and `{azid}` on Redis Cluster, where it must carry a hash tag (all keys in one slot).
   */
  prefix?: string;
  logger: Logger;
  metrics?: Metrics;
  /** The `controller` label of the metrics; default the queue's name. */
  controller?: string;
  /** Per-key exponential backoff; default client-go's 5 ms doubling to 1000 s. */
  backoff?: Partial<BackoffPolicy>;
  /** The retry bucket every replica shares; default client-go's 10 per second, burst 100. */
  retryBucket?: { capacity: number; refillPerSecond: number };
  /** How long a reconcile's lock lives without renewal; a killed replica's key moves on after it. Default 30 s. */
  lockDurationMs?: number;
  /** How often each replica looks for jobs whose lock lapsed. Default 30 s. */
  stalledIntervalMs?: number;
  /** Lapsed locks a job survives before BullMQ fails it (a reconcile that keeps killing its process). Default 5. */
  maxStalledCount?: number;
  /** How often the depth gauge is refreshed while started. Default 5 s. */
  metricsIntervalMs?: number;
}

const DEFAULT_PREFIX = "azid";

function validateName(kind: string, value: string): void {
  if (typeof value !== "string" || value.length === 0 || value.includes(":")) {
    throw new QueueError(
      "InvalidOption",
      `${kind} must be a non-empty string without ':' (got ${JSON.stringify(value)})`,
    );
  }
}

export function validateKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) {
    throw new QueueError(
      "InvalidKey",
      `a reconcile key must be a non-empty string (got ${JSON.stringify(key)})`,
    );
  }
}

export function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new QueueError("InvalidOption", `${name} must be a positive number`);
  return value;
}

export interface Settings {
  prefix: string;
  backoff: BackoffPolicy;
  retryBucket: { capacity: number; refillPerSecond: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  metricsIntervalMs: number;
}

/** Every option checked before anything connects, so bad input leaves nothing open behind it. */
export function resolveSettings(options: WorkQueueOptions): Settings {
  validateName("name", options.name);
  const onCluster = redisTopology(options.redis) === "cluster";
  const prefix = options.prefix ?? (onCluster ? `{${DEFAULT_PREFIX}}` : DEFAULT_PREFIX);
  validateName("prefix", prefix);
  if (onCluster) checkClusterPrefix(prefix);
  const retryBucket = options.retryBucket ?? { capacity: 100, refillPerSecond: 10 };
  return {
    prefix,
    backoff: {
      baseMs: positive("backoff.baseMs", options.backoff?.baseMs, DEFAULT_BACKOFF.baseMs),
      capMs: positive("backoff.capMs", options.backoff?.capMs, DEFAULT_BACKOFF.capMs),
    },
    retryBucket: {
      capacity: positive("retryBucket.capacity", retryBucket.capacity, 100),
      refillPerSecond: positive("retryBucket.refillPerSecond", retryBucket.refillPerSecond, 10),
    },
    lockDurationMs: positive("lockDurationMs", options.lockDurationMs, 30_000),
    stalledIntervalMs: positive("stalledIntervalMs", options.stalledIntervalMs, 30_000),
    maxStalledCount: positive("maxStalledCount", options.maxStalledCount, 5),
    metricsIntervalMs: positive("metricsIntervalMs", options.metricsIntervalMs, 5000),
  };
}
