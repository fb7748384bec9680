import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import {
  type Reconcile,
  type ReconcileContext,
  WorkQueue,
  type WorkQueueOptions,
} from "../../src/queue/index.js";

export const silentLogger: Logger = createLogger({ level: "silent" });

/** A logger whose JSON lines are kept for assertions. */
export function recordingLogger(level = "info"): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level }, sink), lines };
}

export function uniqueName(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Fast lock and stall settings so tests do not wait for production timeouts. */
export function openTestQueue(url: string, overrides: Partial<WorkQueueOptions> = {}): Promise<WorkQueue> {
  return WorkQueue.open({
    name: overrides.name ?? uniqueName("q"),
    redis: { url },
    logger: silentLogger,
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
    ...overrides,
  });
}

/** Polls until `check` holds; fails with `what` after the timeout (a hang guard, not a timing claim). */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

export interface Gate {
  promise: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export interface Run {
  key: string;
  attempt: number;
  start: number;
  end: number;
  replica: string;
}

/** Records every reconcile (start and end on one clock) and can check that runs of a key never overlap. */
export class RunLog {
  readonly runs: Run[] = [];
  private readonly running = new Map<string, number>();
  readonly overlaps: string[] = [];

  reconciler(replica: string, body: Reconcile = async () => {}): Reconcile {
    return async (key: string, ctx: ReconcileContext) => {
      const concurrent = this.running.get(key) ?? 0;
      if (concurrent > 0) this.overlaps.push(key);
      this.running.set(key, concurrent + 1);
      const start = performance.now();
      try {
        return await body(key, ctx);
      } finally {
        this.running.set(key, (this.running.get(key) ?? 1) - 1);
        this.runs.push({ key, attempt: ctx.attempt, start, end: performance.now(), replica });
      }
    };
  }

  of(key: string): Run[] {
    return this.runs.filter((run) => run.key === key).sort((a, b) => a.start - b.start);
  }
}

export const retryAlways = () => ({ kind: "retry" as const });
