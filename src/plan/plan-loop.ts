// The one plan/act loop: plan, act on the wave, fold each outcome into the observed state, plan
// again, until the plan is empty or the round limit is reached. How a wave is acted on is the
// driver's: the engine's `converge` sends it to Azure (async), `simulate` answers it from an
// imagined Azure (sync, for whole repair plans and tests). Both get the same rounds, the same
// round limit and the same ending.
import type { Action } from "./actions.js";
import { type ActionResult, applyResult } from "./apply-result.js";
import type { ObservedState } from "./observed.js";
import type { PlanResult } from "./plan-types.js";

/** Rounds of planning before a loop stops short (a planner that keeps asking for actions). */
export const MAX_ROUNDS = 20;

export type Planner<Status> = (observed: ObservedState, status: Status | undefined) => PlanResult<Status>;

export interface LoopEnd<Status> {
  /** The last plan: empty, or cut short by the round limit. Its status is the one to keep. */
  final: PlanResult<Status>;
  observed: ObservedState;
  /** Rounds that acted. */
  rounds: number;
  /** True when the round limit ran out before the plan was empty. */
  cutShort: boolean;
}

/**
 * Yields each plan that has actions; the driver answers with one result per action, in order
 * (undefined: not acted on, nothing to fold). Returns when a plan is empty or after `maxRounds`.
 */
export function* planLoop<Status>(
  plan: Planner<Status>,
  observed: ObservedState,
  options: { initialStatus?: Status; maxRounds?: number } = {},
): Generator<PlanResult<Status>, LoopEnd<Status>, ReadonlyArray<ActionResult | undefined>> {
  const maxRounds = options.maxRounds ?? MAX_ROUNDS;
  let state = observed;
  let status = options.initialStatus;
  for (let round = 0; ; round++) {
    const result = plan(state, status);
    if (result.actions.length === 0 || round >= maxRounds) {
      return { final: result, observed: state, rounds: round, cutShort: result.actions.length > 0 };
    }
    const results = yield result;
    result.actions.forEach((action: Action, index) => {
      const outcome = results[index];
      if (outcome) state = applyResult(state, action, outcome);
    });
    status = result.status;
  }
}
