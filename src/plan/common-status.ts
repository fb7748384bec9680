// Conditions that every identity kind reports the same way.
import { parseResourceId } from "../api/arm-id.js";
import { ConditionType, Reason } from "../api/conditions.js";
import { type AzidResource, validateResource } from "../api/validate.js";
import type { WriteAction } from "./actions.js";
import type { ConditionState } from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import type { ActionFailure } from "./observed.js";
import type { Notice } from "./plan-types.js";
import type { PolicyDecision } from "./policy.js";

export interface TenantMismatch {
  from: string;
  to: string;
}

export function tenantCondition(mismatch: TenantMismatch | undefined, known = true): ConditionState {
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

export function policyCondition(policy: PolicyDecision): ConditionState {
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

/** Why a target can never carry a managed identity, judged from its id alone. */
export function unsupportedTargetReason(resourceId: string): string | undefined {
  let namespace: string;
  try {
    namespace = (parseResourceId(resourceId).providers[0]?.namespace ?? "").toLowerCase();
  } catch (error) {
    return (error as Error).message;
  }
  if (namespace === "microsoft.classiccompute") {
    return "Cloud Services (classic) does not support managed identities";
  }
  if (namespace.startsWith("microsoft.classic"))
    return "classic (ASM) resources do not support managed identities";
  return undefined;
}

export interface ReadyInput {
  details: readonly ConditionState[];
  writes: number;
  policy: PolicyDecision;
  mismatch: TenantMismatch | undefined;
  observeOnly: boolean;
  readFailures: readonly ActionFailure[];
  /** Something still under way that no detail condition shows. */
  extraPending?: string;
}

/** The summary condition kstatus, Argo CD and Flux read. */
export function readyCondition(input: ReadyInput): ConditionState {
  const ready = (status: ConditionState["status"], reason: Reason, message: string): ConditionState => ({
    type: ConditionType.Ready,
    status,
    reason,
    message,
  });
  if (!input.policy.allowed) {
    return ready(
      "False",
      Reason.PolicyDenied,
      `refused by policy, nothing is written to Azure: ${input.policy.violations[0]?.message}`,
    );
  }
  if (input.mismatch) {
    return ready(
      "False",
      Reason.RepairAwaitingApproval,
      `the subscription moved to tenant ${input.mismatch.to}; the repair deletes and re-creates identities, so it ` +
        "waits for an approved TenantMigration (or azid remediate, or Auto remediation)",
    );
  }
  const credential = input.readFailures.find((f) => reasonForFailure(f) === Reason.CredentialTenantMismatch);
  if (credential) {
    return ready(
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
    if (missing) return ready("False", missing.reason, missing.message);
    if (notTrue.length === 0)
      return ready("True", Reason.Observed, "observing only; Azure matches the declaration");
    return ready(
      "True",
      Reason.Drifted,
      `observing only; ${notTrue.map((d) => `${d.type}: ${d.message}`).join("; ")}`,
    );
  }
  if (input.writes > 0)
    return ready("False", Reason.Progressing, `applying ${input.writes} change(s) in Azure`);
  const first = notTrue[0];
  if (first) return ready("False", first.reason, `${first.type}: ${first.message}`);
  const failure = input.readFailures[0];
  if (failure) return ready("False", reasonForFailure(failure), describeFailure(failure));
  if (input.extraPending) return ready("False", Reason.Progressing, input.extraPending);
  return ready("True", Reason.Reconciled, "Azure is as declared");
}

/** The events a policy refusal asks for: one warning naming every refused field and its rule. */
export function policyNotices(policy: PolicyDecision): Notice[] {
  if (policy.allowed) return [];
  return [
    {
      type: "Warning",
      reason: Reason.PolicyDenied,
      message: policy.violations.map((v) => `${v.field}: ${v.message} (${v.rule})`).join("; "),
    },
  ];
}

/**
 * Revocations and deletions do not reach tokens already issued: say so rather than pretend the
 * change took effect at once (managed identity tokens are cached for about 24 hours).
 */
export function tokenNotices(writes: readonly WriteAction[]): Notice[] {
  const notices: Notice[] = [];
  if (writes.some((w) => w.kind === "DeleteRoleAssignment" || w.kind === "RevokeAppRole")) {
    notices.push({
      type: "Normal",
      reason: Reason.TokenCaching,
      message:
        "revoking grants: tokens already issued keep them until they expire (managed identity tokens are cached for about 24 hours)",
    });
  }
  for (const write of writes) {
    if (write.kind === "DeleteIdentity") {
      notices.push({
        type: "Normal",
        reason: Reason.TokenCaching,
        message: `deleting ${write.identityId}: tokens already issued to it stay valid until they expire`,
      });
    }
  }
  return notices;
}

/**
 * Why a resource's spec must not be acted on, or undefined. The API server checks the same
 * schema at admission; this guards every other way in (files, an older CRD, a bypass), since
 * spec fields end up in ARM URLs.
 */
export function invalidSpec(resource: AzidResource): string | undefined {
  const { apiVersion, kind, metadata, spec } = resource;
  // A reconcile plans the same spec object many times: check it once.
  const known = checked.get(spec);
  if (known && known.name === metadata.name) return known.problem;
  const result = validateResource({ apiVersion, kind, metadata, spec });
  const problem = result.ok
    ? undefined
    : result.issues.map((issue) => `${issue.field}: ${issue.message}`).join("; ");
  checked.set(spec, { name: metadata.name, problem });
  return problem;
}

const checked = new WeakMap<object, { name: string; problem: string | undefined }>();
