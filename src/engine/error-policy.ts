import { Reason } from "../api/conditions.js";
import {
  AuthenticationError,
  AzureError,
  ConflictError,
  CredentialTenantError,
  InvalidRequestError,
  PermissionError,
  PolicyDeniedError,
  PrincipalNotFoundError,
  ThrottledError,
} from "../azure/errors.js";
import { OperationInProgressError } from "../azure/executor.js";
import { scrubSecrets } from "../observability/logger.js";
import { reasonForFailure } from "../plan/failures.js";

/**
 * The one place that decides what a failure means for the work queue:
 * - retry: transient (5xx, dropped connection, a concurrent write, a principal still
 *   replicating): per-key exponential backoff;
 * - throttled: wait exactly this long, without counting an attempt (429 Retry-After, azid's
 *   own rate gate, a long-running operation still running);
 * - terminal: no retry storm; the reconciler reports the reason in a condition and looks
 *   again after `recheckAfterMs` (permissions and policies change outside Kubernetes).
 */
export type Verdict =
  | { kind: "retry"; reason: string; message: string }
  | { kind: "throttled"; reason: string; message: string; retryAfterMs: number }
  | { kind: "terminal"; reason: string; message: string; recheckAfterMs: number };

export const RECHECK = {
  /** azid's credential is from the old tenant: a credentials file change requeues at once too. */
  credential: 60_000,
  permission: 5 * 60_000,
  azurePolicy: 10 * 60_000,
  invalidRequest: 30 * 60_000,
} as const;

/**
 * Thrown by a reconciler that already judged its failures (recorded in status) and wants the
 * queue to act on that verdict: retry with backoff, or wait out a throttle.
 */
export class VerdictError extends Error {
  override readonly name = "VerdictError";
  constructor(readonly verdict: Verdict) {
    super(`${verdict.reason}: ${verdict.message}`);
  }
}

export function judge(error: unknown): Verdict {
  if (error instanceof VerdictError) return error.verdict;
  if (!(error instanceof AzureError)) {
    // A stale write to the API server (409) or a bug: retry with backoff, never crash.
    return {
      kind: "retry",
      reason: isKubernetesConflict(error) ? "Conflict" : "ReconcileError",
      message: messageOf(error),
    };
  }
  const azure = error;
  const message = azure.message;
  if (azure instanceof ThrottledError) {
    return { kind: "throttled", reason: Reason.Throttled, message, retryAfterMs: azure.retryAfterMs };
  }
  if (azure instanceof OperationInProgressError) {
    return { kind: "throttled", reason: Reason.Progressing, message, retryAfterMs: azure.retryAfterMs };
  }
  if (azure instanceof CredentialTenantError) {
    return {
      kind: "terminal",
      reason: Reason.CredentialTenantMismatch,
      message:
        `${message} azid's credential for this subscription is from another tenant than the subscription's ` +
        "(a tenant move?): configure a credential from the new tenant for it (--credentials-file).",
      recheckAfterMs: RECHECK.credential,
    };
  }
  if (azure instanceof AuthenticationError) {
    return { kind: "terminal", reason: Reason.AzureError, message, recheckAfterMs: RECHECK.credential };
  }
  if (azure instanceof PolicyDeniedError) {
    return {
      kind: "terminal",
      reason: Reason.AzurePolicyDenied,
      message,
      recheckAfterMs: RECHECK.azurePolicy,
    };
  }
  if (azure instanceof PermissionError) {
    return {
      kind: "terminal",
      reason: Reason.MissingPermission,
      message,
      recheckAfterMs: RECHECK.permission,
    };
  }
  if (azure instanceof PrincipalNotFoundError || azure instanceof ConflictError) {
    return {
      kind: "retry",
      reason: azure instanceof PrincipalNotFoundError ? Reason.PrincipalNotFound : "Conflict",
      message,
    };
  }
  if (azure instanceof InvalidRequestError) {
    const reason =
      azure.code === "RoleAssignmentLimitExceeded" ? Reason.RoleAssignmentLimitExceeded : Reason.AzureError;
    return { kind: "terminal", reason, message, recheckAfterMs: RECHECK.invalidRequest };
  }
  // A missing resource group or target may be created any moment (by Terraform, say): retry.
  return { kind: "retry", reason: reasonForFailure(azure), message };
}

/**
 * The verdict on a reconcile that recorded several failures: the most pressing one wins
 * (throttled before retry before terminal), so a throttled write is retried after Retry-After
 * even when another item of the same resource is refused for good.
 */
export function judgeAll(errors: readonly unknown[]): Verdict | undefined {
  const verdicts = errors.map(judge);
  const throttled = verdicts.filter((v) => v.kind === "throttled");
  if (throttled.length > 0) {
    return throttled.reduce((longest, v) => (v.retryAfterMs > longest.retryAfterMs ? v : longest));
  }
  return verdicts.find((v) => v.kind === "retry") ?? verdicts.find((v) => v.kind === "terminal");
}

function isKubernetesConflict(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === 409;
}

function messageOf(error: unknown): string {
  return scrubSecrets(error instanceof Error ? error.message : String(error));
}
