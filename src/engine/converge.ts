import type { AzureError } from "../azure/errors.js";
import type { ActionExecutor, Execution } from "../azure/executor.js";
import { type Action, isRead } from "../plan/actions.js";
import type { ObservedState } from "../plan/observed.js";
import { type Planner, planLoop } from "../plan/plan-loop.js";
import type { Notice, PlanResult } from "../plan/plan-types.js";

export interface Convergence<Status> {
  /** The last plan: empty, or cut short by maxRounds. Its status is the one to write. */
  final: PlanResult<Status>;
  observed: ObservedState;
  /** Notices of every round, in order, without repeats (they become Kubernetes events). */
  notices: Notice[];
  /** The typed errors behind the failures of this reconcile, for the error policy. */
  errors: AzureError[];
  /** The same failures with the action each came from. */
  failures: Array<{ action: Action; error: AzureError }>;
  /** Every action run, in order. */
  executed: Action[];
  /** The writes Azure accepted, in order (for events: what the controller did). */
  writesDone: Action[];
  /** True when maxRounds ran out before the plan was empty. */
  cutShort: boolean;
}

export interface ConvergeOptions<Status> {
  executor: ActionExecutor;
  /** The azid resource's subscription (its credential makes the Graph calls). */
  subscriptionId: string;
  initialStatus?: Status;
  /** How many actions of one wave run at once. */
  concurrency?: number;
  /** Default: the loop's MAX_ROUNDS. */
  maxRounds?: number;
  /** Called before each wave of writes, e.g. to stop when the lease or the approval is gone. */
  beforeWrites?: (writes: readonly Action[]) => void | Promise<void>;
  /**
   * Refuses writes before they are sent (azid's own permissions): a refused write is not
   * executed; the answer given stands for it.
   */
  vetWrites?: (writes: readonly Action[]) => Promise<ReadonlyMap<string, Execution>>;
}

/**
 * The act phase: the one plan/act loop (src/plan/plan-loop.ts) with each wave sent to Azure.
 * Actions of a wave run concurrently, except that those sharing a serialKey run one after
 * another, in the order planned.
 */
export async function converge<Status>(
  plan: Planner<Status>,
  observed: ObservedState,
  options: ConvergeOptions<Status>,
): Promise<Convergence<Status>> {
  const notices: Notice[] = [];
  const seenNotices = new Set<string>();
  const errors: AzureError[] = [];
  const failures: Convergence<Status>["failures"] = [];
  const executed: Action[] = [];
  const writesDone: Action[] = [];
  const noticesOf = (result: PlanResult<Status>) => {
    for (const notice of result.notices) {
      const key = `${notice.type}|${notice.reason}|${notice.message}`;
      if (!seenNotices.has(key)) {
        seenNotices.add(key);
        notices.push(notice);
      }
    }
  };

  const loop = planLoop(plan, observed, options);
  for (let next = loop.next([]); ; ) {
    if (next.done) {
      const end = next.value;
      noticesOf(end.final);
      return {
        final: end.final,
        observed: end.observed,
        notices,
        errors,
        failures,
        executed,
        writesDone,
        cutShort: end.cutShort,
      };
    }
    const result = next.value;
    noticesOf(result);
    const writes = result.actions.filter((action) => !isRead(action));
    if (writes.length > 0) await options.beforeWrites?.(writes);
    const refused = writes.length > 0 && options.vetWrites ? await options.vetWrites(writes) : new Map();

    const outcomes = await runWave(
      result.actions.filter((action) => !refused.has(action.key)),
      options,
    );
    let sent = 0;
    const results = result.actions.map((action) => {
      const outcome = refused.get(action.key) ?? outcomes[sent++];
      if (!outcome) return undefined;
      executed.push(action);
      if (outcome.error) {
        errors.push(outcome.error);
        failures.push({ action, error: outcome.error });
      }
      if (!isRead(action) && !outcome.result.failure) writesDone.push(action);
      return outcome.result;
    });
    next = loop.next(results);
  }
}

async function runWave<Status>(actions: readonly Action[], options: ConvergeOptions<Status>) {
  const outcomes: Array<Awaited<ReturnType<ActionExecutor["execute"]>> | undefined> = new Array(
    actions.length,
  );
  // One lane per serialKey (or per action without one); lanes run concurrently.
  const lanes = new Map<string, number[]>();
  actions.forEach((action, index) => {
    const lane = action.serialKey ?? `#${index}`;
    lanes.set(lane, [...(lanes.get(lane) ?? []), index]);
  });
  const queue = [...lanes.values()];
  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      for (const index of lane) {
        outcomes[index] = await options.executor.execute(actions[index] as Action, options.subscriptionId);
      }
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 8, queue.length));
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}
