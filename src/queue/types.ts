import type { Logger } from "../observability/logger.js";

/**
 * What a reconcile returns: nothing to do, come back after a while (level-based polling), or a
 * failure the reconciler has already judged and reported (the queue acts on its decision without
 * judging it again; a thrown error goes through `classify` instead).
 */
export interface ReconcileResult {
  requeueAfterMs?: number;
  failure?: RetryDecision;
  /** What failed, for the log line of a `failure`. */
  message?: string;
}

/** What the one error policy decides for a failed reconcile. */
export type RetryDecision =
  /** Per-key exponential backoff, paced by the shared retry bucket. */
  | { kind: "retry" }
  /** Parked as a delayed job: no attempt counted, the key's backoff untouched. */
  | { kind: "throttled"; retryAfterMs: number }
  /** Not retried; the reconciler has reported it (a condition). */
  | { kind: "terminal" };

export interface ReconcileContext {
  key: string;
  /** 1 for a first try, n+1 after n consecutive failures of this key (across replicas). */
  attempt: number;
  /** Aborted when this replica loses the key (lock lost) or shuts down past its grace period. */
  signal: AbortSignal;
  /** A child logger carrying `key` and `reconcileId`. */
  logger: Logger;
}

// biome-ignore lint/suspicious/noConfusingVoidType: a reconcile with nothing to requeue may simply not return.
export type Reconcile = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

/** Maps anything a reconcile threw (not only Errors) to a decision. */
export type Classify = (err: unknown) => RetryDecision;

export interface ResyncOptions {
  /** How often every key is added again; one job scheduler per queue, not one per key. */
  periodMs: number;
  /** The keys this process knows (the informer cache); called by whichever replica runs the resync job. */
  listKeys: () => Iterable<string> | AsyncIterable<string> | Promise<Iterable<string>>;
}

export interface StartOptions {
  /** Reconciles this replica runs at once (different keys; one key never runs twice at once). */
  concurrency: number;
  reconcile: Reconcile;
  classify: Classify;
  /**
   * Without it, `start` removes the queue's resync scheduler: configure every replica alike
   * (turning resync off in the chart turns it off for the whole queue).
   */
  resync?: ResyncOptions;
}

export interface CloseOptions {
  /** How long in-flight reconciles may take to finish before they are aborted and handed back. */
  gracePeriodMs?: number;
}

export interface CloseReport {
  /** Keys whose reconcile did not finish within the grace period; another replica takes them. */
  handedBack: string[];
}
