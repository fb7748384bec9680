// The rules every grant item follows: a write for a declared one, a removal for an owned one,
// each unless azid only observes, writes are blocked, or it failed earlier in this reconcile.
import { Reason } from "../api/conditions.js";
import type { WriteAction } from "./actions.js";
import { type ItemOutcome, pending } from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import type { GrantsInput } from "./grants.js";

export const ready = (message?: string) => ({
  state: "Ready" as const,
  reason: Reason.Reconciled,
  ...(message ? { message } : {}),
});
export const failed = (message: string, reason: Reason) => ({ state: "Failed" as const, reason, message });

/** A write for a declared item, unless writes are blocked, we only observe, or it failed already. */
export function writeOrReport(
  input: GrantsInput,
  writes: WriteAction[],
  action: WriteAction,
  drift: string,
): ItemOutcome {
  if (input.mode === "observe") return { state: "Drifted", reason: Reason.Drifted, message: drift };
  if (!input.writable)
    return pending(`${drift}; ${input.blockedBecause ?? "writes are blocked"}`, Reason.Waiting);
  const failure = input.obs.failureOf(action.key);
  if (failure) return failed(describeFailure(failure), reasonForFailure(failure));
  writes.push(action);
  return pending(action.description);
}

/** A removal of an owned item, with the same exceptions (deletion may proceed under item refusals). */
export function removeOrReport(input: GrantsInput, writes: WriteAction[], action: WriteAction): ItemOutcome {
  if (input.mode === "observe")
    return { state: "Drifted", reason: Reason.Drifted, message: "no longer declared" };
  if (!input.writable && input.mode !== "delete") {
    return {
      state: "Removing",
      reason: Reason.Waiting,
      message: input.blockedBecause ?? "writes are blocked",
    };
  }
  const failure = input.obs.failureOf(action.key);
  if (failure) return failed(describeFailure(failure), reasonForFailure(failure));
  writes.push(action);
  return { state: "Removing", reason: Reason.Progressing, message: action.description };
}
