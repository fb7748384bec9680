import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DelayedError, type Job, WaitingError } from "bullmq";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { type BackoffPolicy, exponentialBackoffMs } from "./backoff.js";
import { QueueError } from "./errors.js";
import { type FailureChange, readFailures, releaseRun, settleRun } from "./key-scripts.js";
import type { QueueKeyspace } from "./keyspace.js";
import type { RedisClient } from "./redis-client.js";
import type { TokenBuckets, TokenRequest } from "./token-bucket.js";
import type { Classify, Reconcile, RetryDecision } from "./types.js";

export interface ReconcileJobData {
  key: string;
}

export interface RunnerSettings {
  name: string;
  controller: string;
  redis: RedisClient;
  keys: QueueKeyspace;
  buckets: TokenBuckets;
  backoff: BackoffPolicy;
  /** The overall retry bucket shared by all replicas (client-go: 10 qps, burst 100). */
  retryBucket: TokenRequest;
  /** How long a finishing run may hold its seal; the lock duration, after which the job is presumed lost. */
  sealTtlMs: number;
  logger: Logger;
  metrics?: Metrics;
  reconcile: Reconcile;
  classify: Classify;
  /** The immediate, deduplicated add. */
  addNow: (key: string) => Promise<void>;
}

type Outcome =
  | { kind: "done"; requeueAfterMs: number | undefined }
  | { kind: "failed"; decision: RetryDecision; error: unknown };

interface Flight {
  key: string;
  job: Job<ReconcileJobData>;
  token: string;
  abort: AbortController;
  /** The key is no longer ours (lock lost, or handed back at shutdown): do not touch its job again. */
  released: boolean;
}

/** How often a run whose end could not be recorded looks whether Redis is back. */
const HAND_BACK_RETRY_MS = 250;

/**
 * Runs one reconcile job: the reconcile, the error policy, and what happens to the key next,
 * so that BullMQ's at-least-once delivery turns into client-go's workqueue contract.
 */
export class ReconcileRunner {
  private readonly flights = new Map<string, Flight>();

  constructor(private readonly settings: RunnerSettings) {}

  async run(job: Job<ReconcileJobData>, token: string, lockSignal?: AbortSignal): Promise<void> {
    const { logger } = this.settings;
    const key = job.data?.key;
    const jobId = job.id;
    if (typeof key !== "string" || key === "" || jobId === undefined) {
      logger.error({ jobId, data: job.data }, "dropping a reconcile job without a key");
      return;
    }
    const flight: Flight = { key, job, token, abort: new AbortController(), released: false };
    const forwardAbort = () => flight.abort.abort(lockSignal?.reason);
    lockSignal?.addEventListener("abort", forwardAbort, { once: true });
    this.flights.set(jobId, flight);
    try {
      await this.runFlight(flight, jobId);
    } catch (err) {
      if (err instanceof DelayedError || err instanceof WaitingError) throw err;
      // The bookkeeping around the reconcile failed (Redis away, most likely). Leave the job
      // active: its lock lapses and the stalled-job check hands it to a worker again, which is
      // BullMQ's at-least-once path. Letting BullMQ fail it would drop the key.
      logger.warn({ key, err }, "could not record the end of a reconcile; it will run again");
      this.handBackWhenReachable(flight);
      throw new WaitingError();
    } finally {
      this.flights.delete(jobId);
      lockSignal?.removeEventListener("abort", forwardAbort);
    }
  }

  /**
   * Once Redis answers again (a failover, a restart with its data), put the job back in wait while
   * its lock is still ours, so the key runs again at once rather than after the lock lapses and a
   * stall check finds it (up to two lock durations). Without the lock, the stall path stays.
   */
  private handBackWhenReachable(flight: Flight): void {
    const { redis, keys, sealTtlMs, logger } = this.settings;
    const deadline = Date.now() + sealTtlMs;
    const retry = async () => {
      while (Date.now() < deadline) {
        await sleep(HAND_BACK_RETRY_MS);
        if (redis.status !== "ready") continue;
        try {
          await flight.job.moveToWait(flight.token);
        } catch (err) {
          if (/lock|missing|not in the active/i.test((err as Error).message)) return;
          continue;
        }
        await releaseRun(redis, keys, flight.key).catch(() => undefined);
        logger.info(
          { key: flight.key },
          "Redis is back: the reconcile whose end was not recorded runs again",
        );
        return;
      }
    };
    void retry();
  }

  /** The lock of these jobs could not be renewed: another replica may take them, so stop. */
  loseLocks(jobIds: string[]): void {
    for (const jobId of jobIds) {
      const flight = this.flights.get(jobId);
      if (!flight) continue;
      flight.released = true;
      flight.abort.abort(new QueueError("LockLost", `lost the lock on ${flight.key}`));
    }
  }

  /** Shutdown past the grace period: abort what still runs and put its jobs back in the queue. */
  async handBack(): Promise<string[]> {
    const handed: string[] = [];
    await Promise.all(
      [...this.flights.values()]
        .filter((flight) => !flight.released)
        .map(async (flight) => {
          flight.released = true;
          flight.abort.abort(new QueueError("QueueClosed", "the work queue is shutting down"));
          try {
            await flight.job.moveToWait(flight.token);
            handed.push(flight.key);
          } catch (err) {
            this.settings.logger.warn(
              { key: flight.key, err },
              "could not hand back a reconcile; it will be taken over once its lock lapses",
            );
          }
        }),
    );
    return handed;
  }

  private async runFlight(flight: Flight, jobId: string): Promise<void> {
    const { key, job } = flight;
    const { metrics, controller, name } = this.settings;
    const failures = await readFailures(this.settings.redis, this.settings.keys, key);
    const logger = this.settings.logger.child({ key, reconcileId: randomUUID() });
    // Queue time is exact only for a job's first, undelayed delivery; delayed and redelivered
    // jobs do not record when they became ready.
    if (metrics && job.attemptsStarted <= 1 && !job.opts.delay && job.processedOn) {
      metrics.workqueueQueueDuration.observe(
        { name, controller },
        Math.max(0, job.processedOn - job.timestamp) / 1000,
      );
    }

    const started = performance.now();
    let outcome: Outcome;
    try {
      const result = await this.settings.reconcile(key, {
        key,
        attempt: failures + 1,
        signal: flight.abort.signal,
        logger,
      });
      const { failure, message } = (result ?? {}) as { failure?: unknown; message?: unknown };
      outcome =
        failure === undefined
          ? { kind: "done", requeueAfterMs: this.requeueAfter(result, logger) }
          : { kind: "failed", decision: this.validDecision(failure, logger), error: message };
    } catch (error) {
      outcome = { kind: "failed", decision: this.decide(error, logger), error };
    }
    metrics?.reconcileTime.observe({ controller }, (performance.now() - started) / 1000);

    if (flight.released) {
      logger.info("reconcile ended after its key was released; leaving the job to its new owner");
      throw new WaitingError();
    }
    await this.settle(flight, jobId, outcome, logger);
  }

  private async settle(flight: Flight, jobId: string, outcome: Outcome, logger: Logger): Promise<void> {
    const { key, job, token } = flight;
    const { redis, keys, metrics, controller, name } = this.settings;
    const change: FailureChange =
      outcome.kind === "done" || outcome.decision.kind === "terminal"
        ? "reset"
        : outcome.decision.kind === "retry"
          ? "fail"
          : "keep";
    const settlement = await settleRun(redis, keys, key, jobId, change, this.settings.sealTtlMs);

    let delayMs: number | undefined;
    if (outcome.kind === "done") {
      delayMs = outcome.requeueAfterMs;
      metrics?.reconcileTotal.inc({
        controller,
        result: delayMs === undefined ? "success" : "requeue_after",
      });
    } else {
      metrics?.reconcileTotal.inc({ controller, result: "error" });
      metrics?.reconcileErrors.inc({ controller });
      delayMs = await this.delayAfterFailure(outcome, settlement.failures, logger);
    }
    if (settlement.deferredUntil !== undefined) {
      const deferredMs = Math.max(0, settlement.deferredUntil - Date.now());
      delayMs = delayMs === undefined ? deferredMs : Math.min(delayMs, deferredMs);
    }
    if (settlement.addPending || delayMs === undefined) {
      // Finishing the job releases BullMQ's keepLastIfActive payload as the next job, right away;
      // an add that came in while this run went on beats any requeue this run asked for.
      return;
    }
    await job.moveToDelayed(Date.now() + delayMs, token);
    // An add that landed between the settle and the move waits in the payload, which only a
    // finished job releases: bring the delayed job forward instead.
    if (await releaseRun(redis, keys, key)) await this.settings.addNow(key);
    metrics?.workqueueAdds.inc({ name, controller });
    throw new DelayedError();
  }

  private async delayAfterFailure(
    outcome: Extract<Outcome, { kind: "failed" }>,
    failures: number,
    logger: Logger,
  ): Promise<number | undefined> {
    const { decision, error } = outcome;
    switch (decision.kind) {
      case "terminal":
        logger.error({ err: error }, "reconcile failed for good; not retried");
        return undefined;
      case "throttled":
        logger.debug(
          { retryAfterMs: decision.retryAfterMs },
          "reconcile throttled; parked without counting an attempt",
        );
        return decision.retryAfterMs;
      case "retry": {
        const { metrics, name, controller, backoff, buckets, retryBucket } = this.settings;
        const backoffMs = exponentialBackoffMs(failures, backoff);
        const bucketWaitMs = await buckets.reserve(retryBucket);
        const delayMs = Math.max(backoffMs, bucketWaitMs);
        metrics?.workqueueRetries.inc({ name, controller });
        logger.warn({ err: error, failures, delayMs }, "reconcile failed; retrying after backoff");
        return delayMs;
      }
    }
  }

  private requeueAfter(result: unknown, logger: Logger): number | undefined {
    if (result === undefined || result === null) return undefined;
    const value = (result as { requeueAfterMs?: unknown }).requeueAfterMs;
    if (value === undefined || value === 0) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      logger.warn({ requeueAfterMs: value }, "ignoring a requeueAfterMs that is not a duration");
      return undefined;
    }
    return value;
  }

  private decide(error: unknown, logger: Logger): RetryDecision {
    let decision: RetryDecision;
    try {
      decision = this.settings.classify(error);
    } catch (classifyError) {
      logger.error({ err: classifyError }, "the error policy threw; retrying with backoff");
      return { kind: "retry" };
    }
    return this.validDecision(decision, logger);
  }

  private validDecision(value: unknown, logger: Logger): RetryDecision {
    const decision = value as RetryDecision | undefined;
    if (decision?.kind === "throttled") {
      const wait = decision.retryAfterMs;
      if (typeof wait === "number" && Number.isFinite(wait) && wait >= 0) return decision;
    } else if (decision?.kind === "retry" || decision?.kind === "terminal") {
      return decision;
    }
    logger.error({ decision }, "the error policy returned no valid decision; retrying with backoff");
    return { kind: "retry" };
  }
}
