// Reading Azure for a whole plan: every read the planners need (and will need once the plan's
// new principals exist), run through the one plan/act loop (converge) with a planner that asks
// for reads only, until none is left. This is what `plan` and remediate's plan cost in ARM calls.
import type { AzureError } from "../azure/errors.js";
import type { ActionExecutor } from "../azure/executor.js";
import type { ReadAction } from "../plan/actions.js";
import type { ObservedState } from "../plan/observed.js";
import { type RemediationInput, remediationReads } from "../plan/remediation.js";
import { converge } from "./converge.js";

export interface Observation {
  observed: ObservedState;
  /** Reads that failed for another reason than "absent", with their typed errors. */
  failures: Array<{ action: ReadAction; error: AzureError }>;
  reads: number;
}

export async function observeForPlan(
  input: RemediationInput,
  executor: ActionExecutor,
  options: { concurrency?: number } = {},
): Promise<Observation> {
  // A read that failed is not asked for again: its failure is the answer.
  const readsOnly = (observed: ObservedState) => ({
    actions: remediationReads({ ...input, observed }).filter((read) => !observed.failures[read.key]),
    status: undefined,
    notices: [],
    deleted: false,
  });
  const run = await converge(readsOnly, input.observed, {
    executor,
    subscriptionId: input.subscriptionId,
    concurrency: options.concurrency ?? 16,
  });
  return {
    observed: run.observed,
    failures: run.failures as Observation["failures"],
    reads: run.executed.length,
  };
}
