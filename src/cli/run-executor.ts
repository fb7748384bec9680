// The executor as a one-shot run uses it, with many resources in flight at once:
// - a call ARM throttled is sent again after Retry-After (a 429 means ARM did nothing), since a
//   pipeline step has no queue to park the work in;
// - identity PATCHes of one target are sent one at a time across resources, each rebased on the
//   target's identity block as the previous PATCH left it (src/azure/identity-patches.ts);
// - every outcome is reported, for progress and reports.
import { ThrottledError } from "../azure/errors.js";
import { ActionExecutor, type Execution, type ExecutorOptions } from "../azure/executor.js";
import { IdentityPatches } from "../azure/identity-patches.js";
import { InProcessTargetLock } from "../azure/target-lock.js";
import type { Action } from "../plan/actions.js";

export interface RunExecutorOptions extends ExecutorOptions {
  /** How many times one call is resent after a 429 before its failure is reported. */
  maxThrottleRetries?: number;
  onOutcome?: (action: Action, outcome: Execution) => void;
  sleep?: (ms: number) => Promise<void>;
}

export class RunExecutor extends ActionExecutor {
  private readonly maxThrottleRetries: number;
  private readonly onOutcome: RunExecutorOptions["onOutcome"];
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: RunExecutorOptions) {
    super({
      ...options,
      identityPatches: options.identityPatches ?? new IdentityPatches(new InProcessTargetLock()),
      // One run reads each Key Vault once for all its identities; its own writes forget the read.
      vaultReadTtlMs: options.vaultReadTtlMs ?? Number.POSITIVE_INFINITY,
    });
    this.maxThrottleRetries = options.maxThrottleRetries ?? 10;
    this.onOutcome = options.onOutcome;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  override async execute(action: Action, subscriptionId: string): Promise<Execution> {
    const outcome = await super.execute(action, subscriptionId);
    this.onOutcome?.(action, outcome);
    return outcome;
  }

  protected override async send(action: Action, subscriptionId: string): Promise<Execution> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await super.send(action, subscriptionId);
      if (!(outcome.error instanceof ThrottledError) || attempt >= this.maxThrottleRetries) return outcome;
      // A little jitter so that calls throttled together do not come back together.
      await this.sleep(outcome.error.retryAfterMs * (1 + Math.random() * 0.2));
    }
  }
}
