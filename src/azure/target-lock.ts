/**
 * Serialises work on one Azure resource (identity PATCHes of one VM): two identities attached
 * or repaired at once on one target must not send PATCHes computed from the same stale read.
 * The CLI runs in one process (an in-process chain); controller replicas share a Redis lock.
 */
export interface TargetLock {
  /**
   * Runs `work` while holding the target's lock. An implementation may refuse instead of
   * waiting (throwing a ThrottledError), so that a queue worker never sleeps on a lock.
   */
  withLock<T>(target: string, work: () => Promise<T>): Promise<T>;
  /** True when the process that holds the lock is the only writer of targets (the CLI). */
  readonly soleWriter: boolean;
}

/** One chain of promises per target: a later caller runs when the earlier one settles. */
export class InProcessTargetLock implements TargetLock {
  readonly soleWriter = true;
  private readonly tails = new Map<string, Promise<unknown>>();

  withLock<T>(target: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(target) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.tails.set(target, tail);
    void tail.then(() => {
      if (this.tails.get(target) === tail) this.tails.delete(target);
    });
    return run;
  }
}
