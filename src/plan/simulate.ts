// Plans to a fixpoint against an imagined Azure: what reconcile does (plan, act, fold, plan
// again) with the act step replaced by a function. Used to compute whole repair plans ahead of
// time, and by tests to prove that the planners converge.
import type { Action } from "./actions.js";
import { type ActionResult, applyResult } from "./apply-result.js";
import type { ObservedState } from "./observed.js";
import type { PlanResult } from "./plan-types.js";

export class NoFixpointError extends Error {
  override readonly name = "NoFixpointError";
  readonly code = "NoFixpoint";
}

export interface Simulation<Status> {
  /** Every action emitted, in order, with the round it was emitted in. */
  steps: Array<{ round: number; action: Action }>;
  rounds: number;
  observed: ObservedState;
  /** The last (empty) plan: the status the resource ends with. */
  final: PlanResult<Status>;
}

/**
 * Calls `plan` with the status of its previous call until it returns no action, executing each
 * action with `answer` (in list order, a valid serialisation of a concurrent wave).
 */
export function simulate<Status>(
  plan: (observed: ObservedState, status: Status | undefined) => PlanResult<Status>,
  observed: ObservedState,
  answer: (action: Action, observed: ObservedState) => ActionResult,
  options: { initialStatus?: Status; maxRounds?: number } = {},
): Simulation<Status> {
  const maxRounds = options.maxRounds ?? 50;
  const steps: Simulation<Status>["steps"] = [];
  let state = observed;
  let status = options.initialStatus;
  for (let round = 0; round < maxRounds; round++) {
    const result = plan(state, status);
    if (result.actions.length === 0) return { steps, rounds: round, observed: state, final: result };
    for (const action of result.actions) {
      steps.push({ round, action });
      state = applyResult(state, action, answer(action, state));
    }
    status = result.status;
  }
  throw new NoFixpointError(`no fixpoint after ${maxRounds} rounds`);
}
