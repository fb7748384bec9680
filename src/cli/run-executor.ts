// The executor as a one-shot run uses it, with many resources in flight at once:
// - a call ARM throttled is sent again after Retry-After (a 429 means ARM did nothing), since a
//   pipeline step has no queue to park the work in;
// - identity PATCHes of one target are sent one at a time across resources, each rebased on the
//   target's identity block as the previous PATCH left it: two identities repaired at once on
//   one VM must not undo each other (a PATCH planned from an older read could drop an identity
//   attached since, or fail as "removing the last identity" when another one is there). The
//   block is known from the previous PATCH's answer, or read afresh when that answer had none;
//   the first PATCH of a target goes as planned, from the planner's own read;
// - every outcome is reported, for progress and reports.
import { armIdKey } from "../api/arm-id.js";
import { ThrottledError } from "../azure/errors.js";
import { ActionExecutor, type Execution, type ExecutorOptions } from "../azure/executor.js";
import type { Action, PatchResourceIdentity } from "../plan/actions.js";
import * as build from "../plan/build.js";
import { changeFor } from "../plan/identity-block.js";
import type { ResourceIdentity } from "../plan/observed.js";

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
  /** The tail of the PATCH queue of each target. */
  private readonly targetQueues = new Map<string, Promise<unknown>>();
  /** Each PATCHed target's identity block after this run's last PATCH ("unknown": read it). */
  private readonly targetBlocks = new Map<string, ResourceIdentity | "unknown">();

  constructor(options: RunExecutorOptions) {
    super(options);
    this.maxThrottleRetries = options.maxThrottleRetries ?? 10;
    this.onOutcome = options.onOutcome;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  override async execute(action: Action, subscriptionId: string): Promise<Execution> {
    const outcome =
      action.kind === "PatchResourceIdentity" && action.intent
        ? await this.oneAtATime(armIdKey(action.resourceId), () => this.rebasedPatch(action, subscriptionId))
        : await this.patiently(action, subscriptionId);
    this.onOutcome?.(action, outcome);
    return outcome;
  }

  private async patiently(action: Action, subscriptionId: string): Promise<Execution> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await super.execute(action, subscriptionId);
      if (!(outcome.error instanceof ThrottledError) || attempt >= this.maxThrottleRetries) return outcome;
      // A little jitter so that calls throttled together do not come back together.
      await this.sleep(outcome.error.retryAfterMs * (1 + Math.random() * 0.2));
    }
  }

  private async rebasedPatch(action: PatchResourceIdentity, subscriptionId: string): Promise<Execution> {
    const key = armIdKey(action.resourceId);
    let block = this.targetBlocks.get(key);
    if (block === "unknown") {
      const read = await this.patiently(build.readTarget(action.owner, action.resourceId), subscriptionId);
      if (read.result.failure || read.result.target?.state !== "present") return read;
      block = read.result.target.identity ?? { type: "None" };
    }
    let patch = action;
    if (block) {
      const change = changeFor(action.intent as NonNullable<PatchResourceIdentity["intent"]>, block);
      if (!change) return { result: { resourceIdentity: block } };
      patch = { ...action, identity: change.identity, expected: change.expected };
    }
    const outcome = await this.patiently(patch, subscriptionId);
    const after = outcome.result.resourceIdentity;
    // Failed or still in progress: whatever comes next must read the target first.
    this.targetBlocks.set(key, !outcome.result.failure && after ? after : "unknown");
    return outcome;
  }

  private oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.targetQueues.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.targetQueues.set(key, tail);
    void tail.then(() => {
      if (this.targetQueues.get(key) === tail) this.targetQueues.delete(key);
    });
    return run;
  }
}
