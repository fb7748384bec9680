import type { Logger } from "../observability/logger.js";

/**
 * Adds keys to a work queue without ever blocking the informer that produced them. An add that
 * fails (Redis away) is kept and retried until it succeeds, so a change seen while Redis was
 * down is still reconciled once it is back, without waiting for the next resync.
 */
export class Enqueuer {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly add: (key: string) => Promise<void>,
    private readonly logger: Logger,
    private readonly retryMs = 1000,
  ) {}

  /** Keys waiting for Redis. */
  get backlog(): number {
    return this.pending.size;
  }

  enqueue(key: string): void {
    if (this.closed) return;
    this.add(key).catch((err) => this.keep(key, err));
  }

  /** Stops adding; what is pending is dropped (the resync of whichever replica runs brings it back). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.pending.clear();
  }

  private keep(key: string, err: unknown): void {
    if (this.closed) return;
    if (this.pending.size === 0) this.logger.warn({ err }, "cannot add keys to the work queue; retrying");
    this.pending.add(key);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retry();
    }, this.retryMs);
    this.timer.unref();
  }

  private async retry(): Promise<void> {
    for (const key of [...this.pending]) {
      if (this.closed) return;
      try {
        await this.add(key);
        this.pending.delete(key);
      } catch {
        this.schedule();
        return;
      }
    }
    if (this.pending.size === 0) this.logger.info("work queue adds succeed again");
  }
}
