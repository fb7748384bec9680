import type { Queue } from "bullmq";

/**
 * Every Redis key one work queue touches. BullMQ's own keys come from BullMQ's key builder (so they
 * follow its layout); azid's per-key state sits beside them under `<prefix>:<queue>:azid:`, which
 * can never be a BullMQ job id (those are numbers or `repeat:...`).
 */
export class QueueKeyspace {
  readonly delayed: string;
  readonly active: string;
  readonly marker: string;
  /** Hash: reconcile key -> consecutive failures (drives the per-key backoff). */
  readonly failures: string;
  /** Sorted set: reconcile key -> earliest time asked by an addAfter that arrived while it ran. */
  readonly deferred: string;
  /** Written by every health check: proves the primary holding the queue's slot takes writes. */
  readonly health: string;
  private readonly jobPrefix: string;
  private readonly deduplicationPrefix: string;

  constructor(queue: Queue) {
    this.delayed = queue.toKey("delayed");
    this.active = queue.toKey("active");
    this.marker = queue.toKey("marker");
    this.jobPrefix = queue.toKey("");
    this.deduplicationPrefix = queue.toKey("de:");
    this.failures = queue.toKey("azid:failures");
    this.deferred = queue.toKey("azid:deferred");
    this.health = queue.toKey("azid:health");
  }

  /** The prefix BullMQ puts before a job id to name the job's hash. */
  get jobs(): string {
    return this.jobPrefix;
  }

  /** BullMQ's deduplication key: holds the id of the job that currently stands for `key`. */
  deduplication(key: string): string {
    return this.deduplicationPrefix + key;
  }

  /** BullMQ's keepLastIfActive hash: an add that arrived while `key` was being reconciled. */
  pendingAdd(key: string): string {
    return this.jobPrefix + "dn:" + key;
  }

  /** Set while a finishing reconcile of `key` decides what comes next; holds the job id. */
  seal(key: string): string {
    return this.jobPrefix + "azid:seal:" + key;
  }
}
