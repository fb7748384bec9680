// The conditions every kind reports the same way, and the item outcomes detail conditions are
// made of. The Condition type and the transition rules are in api/conditions.ts.
import { ConditionType, type ConditionUpdate, Reason } from "../api/conditions.js";
import type { ItemState } from "../api/schemas/common.js";
import { plural } from "../util/text.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import type { ActionFailure } from "./observed.js";
import type { PolicyDecision } from "./policy.js";

/** A condition as a planner decides it: its reason is one of azid's stable reasons. */
export type PlannedCondition = ConditionUpdate<Reason>;

export interface TenantMismatch {
  from: string;
  to: string;
}

/** An item's state in status, with the reason its detail condition reports when it is the worst. */
export interface ItemOutcome {
  state: ItemState;
  message?: string;
  reason: Reason;
}

export const pending = (message: string, reason: Reason = Reason.Progressing) => ({
  state: "Pending" as const,
  reason,
  message,
});

/** A detail condition from item outcomes: True when all are Ready (or there are none). */
export function itemsCondition(type: string, items: readonly ItemOutcome[], what: string): PlannedCondition {
  // Items no longer declared that azid is still removing (an old principal's grants after a
  // re-creation, say) are not counted as declared ones: "4 of 4 not ready" with 2 declared misled.
  // `what` is a plural noun ("role assignments"); one item reads in the singular.
  const count = (n: number) => plural(n, what.replace(/s$/, ""), what);
  const declared = items.filter((item) => item.state !== "Removing");
  const removing = items.length - declared.length;
  const leaving = removing > 0 ? `; ${removing} no longer declared, being removed` : "";
  if (items.length === 0) {
    return { type, status: "True", reason: Reason.NothingDeclared, message: `no ${what} declared` };
  }
  const notReady = declared.filter((item) => item.state !== "Ready");
  if (notReady.length === 0 && removing === 0) {
    return {
      type,
      status: "True",
      reason: Reason.Reconciled,
      message: `${count(items.length)} as declared`,
    };
  }
  const worst =
    notReady.find(
      (item) => item.state === "Failed" || item.state === "Refused" || item.state === "Drifted",
    ) ??
    notReady[0] ??
    (items.find((item) => item.state === "Removing") as ItemOutcome);
  const counted =
    notReady.length > 0
      ? `${notReady.length} of ${count(declared.length)} not ready`
      : declared.length > 0
        ? `${count(declared.length)} as declared`
        : `no ${what} declared`;
  return {
    type,
    status: "False",
    reason: worst.reason,
    message: `${counted}${leaving}${worst.message ? `: ${worst.message}` : ""}`,
  };
}

/** Strips the planner's bookkeeping from an outcome to make a status entry. */
export function statusEntry<T extends ItemOutcome>(outcome: T): Omit<T, "reason"> {
  const { reason: _reason, ...entry } = outcome;
  return entry;
}

export function readyCondition(status: PlannedCondition["status"], reason: Reason, message: string) {
  return { type: ConditionType.Ready, status, reason, message } satisfies PlannedCondition;
}

export function tenantCondition(mismatch: TenantMismatch | undefined, known = true): PlannedCondition {
  if (mismatch) {
    return {
      type: ConditionType.TenantMismatch,
      status: "True",
      reason: Reason.TenantMoved,
      message: `the identity belongs to tenant ${mismatch.from} but the subscription is now in tenant ${mismatch.to}`,
    };
  }
  return known
    ? {
        type: ConditionType.TenantMismatch,
        status: "False",
        reason: Reason.TenantMatches,
        message: "the identity is in the subscription's tenant",
      }
    : {
        type: ConditionType.TenantMismatch,
        status: "Unknown",
        reason: Reason.Progressing,
        message: "not checked yet",
      };
}

export function policyCondition(policy: PolicyDecision): PlannedCondition {
  if (policy.allowed) {
    return {
      type: ConditionType.PolicyViolation,
      status: "False",
      reason: Reason.PolicyAllowed,
      message: `allowed by ${policy.policies.map((name) => `IdentityPolicy/${name}`).join(", ")}`,
    };
  }
  return {
    type: ConditionType.PolicyViolation,
    status: "True",
    reason: Reason.PolicyDenied,
    message: policy.violations.map((v) => `${v.field}: ${v.message} (${v.rule})`).join("; "),
  };
}

export interface SummaryInput {
  details: readonly PlannedCondition[];
  writes: number;
  policy: PolicyDecision;
  mismatch: TenantMismatch | undefined;
  observeOnly: boolean;
  readFailures: readonly ActionFailure[];
  /** Something still under way that no detail condition shows. */
  extraPending?: string | undefined;
}

/** The summary condition kstatus, Argo CD and Flux read, from the detail conditions. */
export function summaryCondition(input: SummaryInput): PlannedCondition {
  if (!input.policy.allowed) {
    return readyCondition(
      "False",
      Reason.PolicyDenied,
      `refused by policy, nothing is written to Azure: ${input.policy.violations[0]?.message}`,
    );
  }
  if (input.mismatch) {
    return readyCondition(
      "False",
      Reason.RepairAwaitingApproval,
      `the subscription moved to tenant ${input.mismatch.to}; the repair deletes and re-creates identities, so it ` +
        "waits for an approved TenantMigration (or azid remediate, or Auto remediation)",
    );
  }
  const credential = input.readFailures.find((f) => reasonForFailure(f) === Reason.CredentialTenantMismatch);
  if (credential) {
    return readyCondition(
      "False",
      Reason.CredentialTenantMismatch,
      `azid's credential for this subscription is from another tenant: configure one from the subscription's tenant (${describeFailure(credential)})`,
    );
  }
  const notTrue = input.details.filter((detail) => detail.status !== "True");
  if (input.observeOnly) {
    const missing = notTrue.find(
      (detail) => detail.reason === Reason.IdentityNotFound || detail.reason === Reason.TargetNotFound,
    );
    if (missing) return readyCondition("False", missing.reason, missing.message);
    if (notTrue.length === 0)
      return readyCondition("True", Reason.Observed, "observing only; Azure matches the declaration");
    return readyCondition(
      "True",
      Reason.Drifted,
      `observing only; ${notTrue.map((d) => `${d.type}: ${d.message}`).join("; ")}`,
    );
  }
  if (input.writes > 0)
    return readyCondition("False", Reason.Progressing, `applying ${input.writes} change(s) in Azure`);
  const first = notTrue[0];
  if (first) return readyCondition("False", first.reason, `${first.type}: ${first.message}`);
  const failure = input.readFailures[0];
  if (failure) return readyCondition("False", reasonForFailure(failure), describeFailure(failure));
  if (input.extraPending) return readyCondition("False", Reason.Progressing, input.extraPending);
  return readyCondition("True", Reason.Reconciled, "Azure is as declared");
}
