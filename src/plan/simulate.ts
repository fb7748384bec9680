// Plans to a fixpoint against an imagined Azure: the one plan/act loop (plan-loop.ts) with the
// act step replaced by a function. Used to compute whole repair plans ahead of time, and by tests
// to prove that the planners converge.
import { AzidError } from "../util/errors.js";
import type { Action } from "./actions.js";
import { type ActionResult, applyResult } from "./apply-result.js";
import type { ObservedState } from "./observed.js";
import { type Planner, planLoop } from "./plan-loop.js";
import type { PlanResult } from "./plan-types.js";

/** A plan that did not settle within the loop's rounds: a preview has no later reconcile to finish it. */
export class NoFixpointError extends AzidError {
  override readonly name = "NoFixpointError";
  readonly errorCode = "plan.NoFixpoint";
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
 * Runs the plan/act loop, executing each action with `answer` (in list order, a valid
 * serialisation of a concurrent wave).
 */
export function simulate<Status>(
  plan: Planner<Status>,
  observed: ObservedState,
  answer: (action: Action, observed: ObservedState) => ActionResult,
  options: { initialStatus?: Status; maxRounds?: number } = {},
): Simulation<Status> {
  const steps: Simulation<Status>["steps"] = [];
  // The answer sees Azure as the actions before it in the wave left it.
  let state = observed;
  const loop = planLoop(plan, observed, options);
  for (let round = 0, next = loop.next([]); ; round++) {
    if (next.done) {
      const end = next.value;
      if (end.cutShort) throw new NoFixpointError(`no fixpoint after ${end.rounds} rounds`);
      return { steps, rounds: end.rounds, observed: end.observed, final: end.final };
    }
    const results = next.value.actions.map((action) => {
      steps.push({ round, action });
      const result = answer(action, state);
      state = applyResult(state, action, result);
      return result;
    });
    next = loop.next(results);
  }
}
