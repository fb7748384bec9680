import { setTimeout as sleep } from "node:timers/promises";
import { type JobsOptions, Queue, Worker } from "bullmq";
import type { Logger } from "../observability/logger.js";
import { QueueError } from "./errors.js";
import { tryAddAfter } from "./key-scripts.js";
import { QueueKeyspace } from "./keyspace.js";
import { positive, resolveSettings, type Settings, validateKey, type WorkQueueOptions } from "./options.js";
import { type ReconcileJobData, ReconcileRunner } from "./reconcile-runner.js";
import {
  checkEvictionPolicy,
  connectRedis,
  createRedisClient,
  describeRedis,
  type RedisClient,
} from "./redis-client.js";
import { RedisLocks } from "./redis-lock.js";
import { ensureResyncScheduler, fanOutKeys, RESYNC_JOB } from "./resync.js";
import { TokenBuckets } from "./token-bucket.js";
import type { CloseOptions, CloseReport, ResyncOptions, StartOptions } from "./types.js";

export const RECONCILE_JOB = "reconcile";

export interface QueueCounts {
  ready: number;
  delayed: number;
  active: number;
}

const HEALTH_TIMEOUT_MS = 1000;
/** How often every queue checks that its Redis primary takes writes (a Cluster node failing over closes nothing). */
const HEALTH_INTERVAL_MS = 2000;
/** How long a shutdown waits, after aborting, for handed-back reconciles to unwind. */
const UNWIND_MS = 1000;
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|Stream isn't writeable/i;

/** The add that client-go's `Add` is: coalesces with a waiting key, pulls a delayed one forward, is remembered while it runs. */
function immediateAddOptions(key: string): JobsOptions {
  return { deduplication: { id: key, keepLastIfActive: true, reschedule: true } };
}

/**
 * client-go's workqueue (rate-limited, delaying) across processes, on BullMQ and Redis.
 * Any replica may reconcile any key; a key is never reconciled twice at once.
 */
export class WorkQueue {
  readonly name: string;
  readonly prefix: string;
  /** Token buckets on this queue's Redis, under its prefix (for the Azure client layer's pacing). */
  readonly buckets: TokenBuckets;
  /** Locks on this queue's Redis, under its prefix (identity PATCHes of one Azure resource). */
  readonly locks: RedisLocks;
  private readonly controller: string;
  private readonly keys: QueueKeyspace;
  private worker: Worker<ReconcileJobData> | undefined;
  private runner: ReconcileRunner | undefined;
  private resync: ResyncOptions | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private readonly healthTimer: NodeJS.Timeout;
  private healthy = true;
  private closing: Promise<CloseReport> | undefined;

  private constructor(
    private readonly options: WorkQueueOptions,
    private readonly settings: Settings,
    private readonly redis: RedisClient,
    private readonly workerTemplate: RedisClient,
    private readonly queue: Queue<ReconcileJobData>,
    private readonly logger: Logger,
  ) {
    this.name = options.name;
    this.prefix = settings.prefix;
    this.controller = options.controller ?? options.name;
    this.keys = new QueueKeyspace(queue);
    this.buckets = new TokenBuckets(redis, { prefix: this.prefix });
    this.locks = new RedisLocks(redis, { prefix: this.prefix });
    redis.on("ready", () => this.onReconnect());
    redis.on("close", () => this.markUnhealthy());
    options.metrics?.redisUp.set({ controller: this.controller }, 1);
    this.healthTimer = setInterval(() => {
      this.isHealthy().catch(() => undefined);
    }, HEALTH_INTERVAL_MS);
    this.healthTimer.unref();
  }

  /**
   * Connects to Redis (failing with a clear error when it cannot), warns unless Redis runs with
   * `maxmemory-policy noeviction`, and returns a queue ready for adds; `start` makes it a worker too.
   */
  static async open(options: WorkQueueOptions): Promise<WorkQueue> {
    const settings = resolveSettings(options);
    const { prefix } = settings;
    const logger = options.logger.child({ queue: options.name });
    const redis = createRedisClient(options.redis, "command", `${prefix}:${options.name}:azid`, logger);
    const workerTemplate = createRedisClient(
      options.redis,
      "worker",
      `${prefix}:${options.name}:worker`,
      logger,
    );
    await connectRedis(redis, options.redis);
    redis.on("error", (err) => logger.debug({ err }, "Redis connection error"));
    workerTemplate.on("error", (err) => logger.debug({ err }, "Redis connection error"));
    await checkEvictionPolicy(redis, logger);
    const queue = new Queue<ReconcileJobData>(options.name, {
      connection: redis,
      prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true, attempts: 1 },
      // Finished jobs are removed, and the event stream is capped, so Redis memory stays bounded.
      streams: { events: { maxLen: 1000 } },
    });
    queue.on("error", (err) => logger.warn({ err }, "queue error"));
    return new WorkQueue(options, settings, redis, workerTemplate, queue, logger);
  }

  /** Adds a key to be reconciled now (client-go `Add`). */
  async add(key: string): Promise<void> {
    validateKey(key);
    this.assertOpen();
    await this.enqueueNow(key);
  }

  /**
   * Adds a key to be reconciled after `delayMs` (client-go `AddAfter`). If the key is already due
   * sooner it stays so; if it is due later it is brought forward; if it is being reconciled now,
   * it runs again once that run ends and the delay has passed.
   */
  async addAfter(key: string, delayMs: number): Promise<void> {
    validateKey(key);
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new QueueError("InvalidOption", `addAfter needs a delay in milliseconds (got ${delayMs})`);
    }
    if (delayMs === 0) return this.add(key);
    this.assertOpen();
    const readyAt = Date.now() + delayMs;
    // A run that is sealing itself answers `busy` for the few milliseconds it takes to decide; a
    // sealed run whose process died stops answering busy when the seal lapses (the lock duration).
    const deadline = Date.now() + this.settings.lockDurationMs + 1000;
    let added = false;
    for (;;) {
      const verdict = await tryAddAfter(this.redis, this.keys, key, readyAt, delayMs);
      if (verdict === "busy") {
        if (Date.now() > deadline) {
          throw new QueueError("KeyBusy", `${key} stayed sealed longer than the lock duration`);
        }
        await sleep(5);
        continue;
      }
      // After our own add, `add` means the job already ran and finished: nothing left to do.
      if (verdict !== "add" || added) break;
      // Plain deduplication (no keepLastIfActive, no reschedule), then look once more: if another
      // job won the race, that round brings it forward or parks the request.
      await this.queue.add(
        RECONCILE_JOB,
        { key },
        { delay: Math.max(1, readyAt - Date.now()), deduplication: { id: key } },
      );
      added = true;
    }
    this.countAdds(1);
  }

  /**
   * Starts reconciling on this replica. With `resync`, also makes sure the queue's one resync
   * scheduler exists (every replica may; it is idempotent) and fans keys out when its job runs here.
   */
  async start(options: StartOptions): Promise<void> {
    this.assertOpen();
    if (this.worker) throw new QueueError("InvalidOption", `work queue ${this.name} is already started`);
    const concurrency = positive("concurrency", options.concurrency, 1);
    if (options.resync) positive("resync.periodMs", options.resync.periodMs, 1);
    this.resync = options.resync;
    await ensureResyncScheduler(this.queue, this.resync?.periodMs, "after-a-period");
    const runner = new ReconcileRunner({
      name: this.name,
      controller: this.controller,
      redis: this.redis,
      keys: this.keys,
      buckets: this.buckets,
      backoff: this.settings.backoff,
      retryBucket: { bucket: `retry:${this.name}`, ...this.settings.retryBucket },
      sealTtlMs: this.settings.lockDurationMs,
      logger: this.logger,
      metrics: this.options.metrics,
      reconcile: options.reconcile,
      classify: options.classify,
      addNow: (key) => this.enqueueNow(key),
    });
    const worker = new Worker<ReconcileJobData>(
      this.name,
      (job, token, signal) => {
        if (job.name === RESYNC_JOB) return this.runResync();
        return runner.run(job, token ?? "", signal);
      },
      {
        connection: this.workerTemplate,
        prefix: this.prefix,
        autorun: false,
        concurrency,
        lockDuration: this.settings.lockDurationMs,
        stalledInterval: this.settings.stalledIntervalMs,
        maxStalledCount: this.settings.maxStalledCount,
        // BullMQ waits this long before fetching again after a Redis error; its default is 15 s.
        runRetryDelay: 1000,
      },
    );
    worker.on("error", (err) => {
      if (CONNECTION_ERROR.test(err.message)) this.logger.debug({ err }, "worker lost Redis");
      else this.logger.warn({ err }, "worker error");
    });
    worker.on("lockRenewalFailed", (jobIds) => runner.loseLocks(jobIds));
    worker.on("failed", (job, err) => {
      if (job?.name === RECONCILE_JOB) this.requeueFailedJob(job.data?.key, err);
    });
    this.worker = worker;
    this.runner = runner;
    worker.run().catch((err) => this.logger.error({ err }, "worker stopped"));
    await worker.waitUntilReady();
    if (this.options.metrics) {
      this.metricsTimer = setInterval(() => {
        this.depth().catch(() => undefined);
      }, this.settings.metricsIntervalMs);
      this.metricsTimer.unref();
    }
  }

  /**
   * True when the Redis primary that holds this queue's keys takes a write within a second (a
   * PING would pass on a primary demoted to replica, and on a Cluster node that holds other slots).
   * Also what turns the queue unhealthy and back (log line, `azid_redis_up`, a resync once back).
   */
  async isHealthy(): Promise<boolean> {
    const healthy = await this.probe();
    if (healthy) this.onReconnect();
    else this.markUnhealthy();
    return healthy;
  }

  private async probe(): Promise<boolean> {
    if (this.redis.status !== "ready") return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        this.redis.set(this.keys.health, String(Date.now()), "PX", this.settings.lockDurationMs),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new QueueError("RedisUnavailable", "Redis took too long")),
            HEALTH_TIMEOUT_MS,
          );
        }),
      ]);
      return answer === "OK";
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Keys ready to be reconciled and not yet taken (client-go's depth); also sets `workqueue_depth`. */
  async depth(): Promise<number> {
    const { ready } = await this.counts();
    this.options.metrics?.workqueueDepth.set({ name: this.name, controller: this.controller }, ready);
    return ready;
  }

  /**
   * Jobs by state: ready to run, waiting out a delay (requeueAfter, backoff, throttling; also the
   * resync scheduler's next run), running.
   */
  async counts(): Promise<QueueCounts> {
    const counts = await this.queue.getJobCounts("wait", "prioritized", "delayed", "active");
    return {
      ready: (counts.wait ?? 0) + (counts.prioritized ?? 0),
      delayed: counts.delayed ?? 0,
      active: counts.active ?? 0,
    };
  }

  /**
   * Stops taking work, lets running reconciles finish within the grace period, then aborts the rest
   * and puts their keys back in the queue for another replica, and disconnects.
   */
  close(options: CloseOptions = {}): Promise<CloseReport> {
    this.closing ??= this.shutdown(options.gracePeriodMs ?? 30_000);
    return this.closing;
  }

  private async shutdown(gracePeriodMs: number): Promise<CloseReport> {
    clearInterval(this.metricsTimer);
    clearInterval(this.healthTimer);
    let handedBack: string[] = [];
    const worker = this.worker;
    if (worker) {
      const finished = worker
        .close()
        .catch((err) => this.logger.warn({ err }, "error while closing the worker"));
      if (!(await settlesWithin(finished, gracePeriodMs))) {
        handedBack = (await this.runner?.handBack()) ?? [];
        this.logger.warn(
          { keys: handedBack },
          "grace period over; handed running reconciles back to the queue",
        );
        if (!(await settlesWithin(finished, UNWIND_MS))) {
          await this.closeWithin(worker.disconnect(), "the worker's connections");
        }
      }
    }
    await this.closeWithin(this.queue.close(), "the queue");
    this.redis.disconnect();
    this.workerTemplate.disconnect();
    return { handedBack };
  }

  /**
   * A closing step waited for UNWIND_MS at most: after a Redis Cluster failover a connection to
   * the dead node can keep BullMQ's close from ever settling, and a shutdown must not hang on it
   * (the clients azid made are disconnected after it all the same).
   */
  private async closeWithin(step: Promise<unknown>, what: string): Promise<void> {
    const settled = step.catch((err) => this.logger.warn({ err }, `error while closing ${what}`));
    if (!(await settlesWithin(settled, UNWIND_MS))) {
      this.logger.warn(`${what} did not close within ${UNWIND_MS} ms; its connections are dropped`);
    }
  }

  private async runResync(): Promise<void> {
    const resync = this.resync;
    if (!resync) return;
    try {
      const count = await fanOutKeys(resync.listKeys, async (keys) => {
        await this.queue.addBulk(
          keys.map((key) => ({ name: RECONCILE_JOB, data: { key }, opts: immediateAddOptions(key) })),
        );
        this.countAdds(keys.length);
      });
      this.logger.debug({ keys: count }, "resync added every key");
    } catch (err) {
      // The next period tries again; one bad listing must not stop the schedule.
      this.logger.error({ err }, "resync could not list or add the keys");
    }
  }

  /**
   * BullMQ fails a job, without running it, once its workers died holding it more than
   * maxStalledCount times (the runner itself never lets a job fail). The key still needs its
   * reconcile: add it again, after a lock duration so that a key whose reconcile kills its process
   * is retried at the pace of the stall checks, not in a crash loop.
   */
  private requeueFailedJob(key: unknown, err: Error): void {
    if (typeof key !== "string" || key === "" || this.closing) return;
    const delayMs = this.settings.lockDurationMs;
    this.logger.error(
      { key, err, delayMs },
      "BullMQ failed a reconcile job (its workers died holding it too often); adding the key again",
    );
    this.options.metrics?.workqueueRetries.inc({ name: this.name, controller: this.controller });
    this.addAfter(key, delayMs).catch((addErr) =>
      this.logger.warn({ key, err: addErr }, "could not add a failed key again; it waits for its resync"),
    );
  }

  private onReconnect(): void {
    if (this.healthy || this.closing) return;
    this.healthy = true;
    this.options.metrics?.redisUp.set({ controller: this.controller }, 1);
    this.logger.info("Redis reachable again");
    if (this.worker) {
      // Redis may have come back empty: recreate the resync schedule, whose first run re-adds every key.
      ensureResyncScheduler(this.queue, this.resync?.periodMs, "now").catch((err) =>
        this.logger.warn({ err }, "could not recreate the resync schedule"),
      );
      // Or a replica was promoted without the last writes it had not received (replication is
      // asynchronous), while the schedule survived and keeps its next run minutes away: add every
      // key now. Adds coalesce, so each replica doing it costs one reconcile per key, not one each.
      void this.runResync();
    }
    checkEvictionPolicy(this.redis, this.logger).catch(() => undefined);
  }

  private markUnhealthy(): void {
    if (!this.healthy || this.closing) return;
    this.healthy = false;
    this.options.metrics?.redisUp.set({ controller: this.controller }, 0);
    this.logger.warn(
      `${describeRedis(this.options.redis)} unreachable (down, or failing over); adds fail and ` +
        "reconciles pause until a primary answers again",
    );
  }

  /** Also used by running reconciles while the queue shuts down, so it does not check for closing. */
  private async enqueueNow(key: string): Promise<void> {
    await this.queue.add(RECONCILE_JOB, { key }, immediateAddOptions(key));
    this.countAdds(1);
  }

  private countAdds(count: number): void {
    this.options.metrics?.workqueueAdds.inc({ name: this.name, controller: this.controller }, count);
  }

  private assertOpen(): void {
    if (this.closing) throw new QueueError("QueueClosed", `work queue ${this.name} is closed`);
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = new AbortController();
  try {
    return await Promise.race([promise.then(() => true), sleep(ms, false, { signal: timeout.signal })]);
  } catch {
    return false;
  } finally {
    timeout.abort();
  }
}
