// Reading Azure for a whole plan: every read the planners need (and will need once the plan's
// new principals exist), run in waves and folded into one observed state until none is left.
// Reads only: this is what `plan` and remediate's plan cost in ARM calls.
import type { AzureError } from "../azure/errors.js";
import type { ActionExecutor } from "../azure/executor.js";
import type { ReadAction } from "../plan/actions.js";
import { applyResult } from "../plan/apply-result.js";
import type { ObservedState } from "../plan/observed.js";
import { type RemediationInput, remediationReads } from "../plan/remediation.js";
import { pool } from "../util/pool.js";

export interface Observation {
  observed: ObservedState;
  /** Reads that failed for another reason than "absent", with their typed errors. */
  failures: Array<{ action: ReadAction; error: AzureError }>;
  reads: number;
}

export async function observeForPlan(
  input: RemediationInput,
  executor: ActionExecutor,
  options: { concurrency?: number; maxRounds?: number } = {},
): Promise<Observation> {
  let observed = input.observed;
  const failures: Observation["failures"] = [];
  let reads = 0;
  for (let round = 0; round < (options.maxRounds ?? 25); round++) {
    const wanted = remediationReads({ ...input, observed }).filter((read) => !observed.failures[read.key]);
    if (wanted.length === 0) break;
    const outcomes = await pool(wanted, options.concurrency ?? 16, (read) =>
      executor.execute(read, input.subscriptionId),
    );
    for (const [index, read] of wanted.entries()) {
      const outcome = outcomes[index];
      if (!outcome) continue;
      reads++;
      if (outcome.error) failures.push({ action: read, error: outcome.error });
      observed = applyResult(observed, read, outcome.result);
    }
  }
  return { observed, failures, reads };
}
