// Conditions in the Kubernetes convention: lastTransitionTime moves only when status changes.
import { type Reason, Reason as ReasonCode } from "../api/conditions.js";
import type { Condition, ItemState } from "../api/schemas/common.js";

export interface ConditionState {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: Reason;
  message: string;
}

export function buildConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionState[],
  now: string,
  generation: number | undefined,
): Condition[] {
  return next.map((condition) => {
    const before = previous?.find((candidate) => candidate.type === condition.type);
    return {
      ...condition,
      lastTransitionTime: before && before.status === condition.status ? before.lastTransitionTime : now,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });
}

/** An item's state in status, with the reason its detail condition reports when it is the worst. */
export interface ItemOutcome {
  state: ItemState;
  message?: string;
  reason: Reason;
}

/** A detail condition from item outcomes: True when all are Ready (or there are none). */
export function itemsCondition(type: string, items: readonly ItemOutcome[], what: string): ConditionState {
  if (items.length === 0) {
    return { type, status: "True", reason: ReasonCode.NothingDeclared, message: `no ${what} declared` };
  }
  const notReady = items.filter((item) => item.state !== "Ready");
  if (notReady.length === 0) {
    return {
      type,
      status: "True",
      reason: ReasonCode.Reconciled,
      message: `${items.length} ${what} as declared`,
    };
  }
  const worst =
    notReady.find(
      (item) => item.state === "Failed" || item.state === "Refused" || item.state === "Drifted",
    ) ?? (notReady[0] as ItemOutcome);
  return {
    type,
    status: "False",
    reason: worst.reason,
    message: `${notReady.length} of ${items.length} ${what} not ready${worst.message ? `: ${worst.message}` : ""}`,
  };
}

/** Strips the planner's bookkeeping from an outcome to make a status entry. */
export function statusEntry<T extends ItemOutcome>(outcome: T): Omit<T, "reason"> {
  const { reason: _reason, ...entry } = outcome;
  return entry;
}
