// The executor as a one-shot run uses it: a call ARM throttled is sent again after Retry-After
// (a 429 means ARM did nothing, so resending is safe), because a pipeline step has no queue to
// park the work in. Every outcome is reported, for progress and reports.
import { ThrottledError } from "../azure/errors.js";
import { ActionExecutor, type Execution, type ExecutorOptions } from "../azure/executor.js";
import type { Action } from "../plan/actions.js";

export interface PatientExecutorOptions extends ExecutorOptions {
  /** How many times one call is resent after a 429 before its failure is reported. */
  maxThrottleRetries?: number;
  onOutcome?: (action: Action, outcome: Execution) => void;
  sleep?: (ms: number) => Promise<void>;
}

export class PatientExecutor extends ActionExecutor {
  private readonly maxThrottleRetries: number;
  private readonly onOutcome: PatientExecutorOptions["onOutcome"];
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: PatientExecutorOptions) {
    super(options);
    this.maxThrottleRetries = options.maxThrottleRetries ?? 10;
    this.onOutcome = options.onOutcome;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  override async execute(action: Action, subscriptionId: string): Promise<Execution> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await super.execute(action, subscriptionId);
      if (outcome.error instanceof ThrottledError && attempt < this.maxThrottleRetries) {
        // A little jitter so that calls throttled together do not come back together.
        await this.sleep(outcome.error.retryAfterMs * (1 + Math.random() * 0.2));
        continue;
      }
      this.onOutcome?.(action, outcome);
      return outcome;
    }
  }
}
