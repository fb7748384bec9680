export { type BackoffPolicy, DEFAULT_BACKOFF, exponentialBackoffMs } from "./backoff.js";
export { QueueError, type QueueErrorCode } from "./errors.js";
export type { WorkQueueOptions } from "./options.js";
export {
  checkClusterPrefix,
  checkEvictionPolicy,
  describeRedis,
  prefixHashTag,
  type RedisConnectionOptions,
  type RedisNodeAddress,
  type RedisTopology,
  redactRedisUrl,
  redisTopology,
} from "./redis-client.js";
export { type RedisLockOptions, RedisLocks } from "./redis-lock.js";
export { RESYNC_SCHEDULER_ID } from "./resync.js";
export { type TakeResult, TokenBuckets, type TokenRequest } from "./token-bucket.js";
export type {
  Classify,
  CloseOptions,
  CloseReport,
  Reconcile,
  ReconcileContext,
  ReconcileResult,
  ResyncOptions,
  RetryDecision,
  StartOptions,
} from "./types.js";
export { type QueueCounts, RECONCILE_JOB, WorkQueue } from "./work-queue.js";
