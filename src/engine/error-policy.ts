import { ConditionType, Reason } from "../api/conditions.js";
import type { Condition } from "../api/schemas/common.js";
import type { AzureError, OperationInProgressError, ThrottledError } from "../azure/errors.js";
import { scrubSecrets } from "../observability/logger.js";
import { reasonForFailure } from "../plan/failures.js";
import type { ReconcileResult, RetryDecision } from "../queue/types.js";
import { AzidError, type ErrorCode } from "../util/errors.js";

// The one error policy of controller and CLI, as kube-rs's error_policy or controller-runtime's
// reconcileHandler: `judge` turns one failure into a verdict, `judgeAll` picks the most pressing
// of a reconcile's, `nextFor` turns a verdict into the queue's decision, `judgeSync` decides
// everything that follows a reconcile of an azid resource (the status to write or keep, the
// Warning, the queue's decision), and `classify` serves errors thrown past all of that.

/**
 * What a failure means for the work queue:
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

/** A rule of the policy: the verdict on one error of its code. */
type Rule = (error: AzidError) => Verdict;

const retry =
  (reason: string): Rule =>
  (error) => ({ kind: "retry", reason, message: messageOf(error) });
/** An Azure failure whose reason comes from Azure's own code (a missing resource group, ...). */
const retryAzure: Rule = (error) => ({
  kind: "retry",
  reason: reasonForFailure(error as AzureError),
  message: error.message,
});
const terminal =
  (reason: string, recheckAfterMs: number): Rule =>
  (error) => ({ kind: "terminal", reason, message: messageOf(error), recheckAfterMs });
/** A stale write to the API server (409) is a conflict; any other answer is retried as such. */
const kubeAnswer: Rule = (error) => ({
  kind: "retry",
  reason: isKubernetesConflict(error) ? "Conflict" : "ReconcileError",
  message: messageOf(error),
});
/** A failure of azid itself met in a reconcile (a bug, a host stopping): retry, never crash. */
const internal = retry("ReconcileError");

/**
 * The verdict on every error code (src/util/errors.ts): the policy maps codes, never messages.
 * A code added to the registry without a row here does not compile.
 */
export const POLICY: Record<ErrorCode, Rule> = {
  "azure.Throttled": (error) => ({
    kind: "throttled",
    reason: Reason.Throttled,
    message: error.message,
    retryAfterMs: (error as ThrottledError).retryAfterMs,
  }),
  "azure.OperationInProgress": (error) => ({
    kind: "throttled",
    reason: Reason.Progressing,
    message: error.message,
    retryAfterMs: (error as OperationInProgressError).retryAfterMs,
  }),
  "azure.CredentialTenantMismatch": (error) => ({
    kind: "terminal",
    reason: Reason.CredentialTenantMismatch,
    message:
      `${error.message} azid's credential for this subscription is from another tenant than the subscription's ` +
      "(a tenant move?): configure a credential from the new tenant for it (--credentials-file).",
    recheckAfterMs: RECHECK.credential,
  }),
  "azure.AuthenticationFailed": terminal(Reason.AzureError, RECHECK.credential),
  "azure.PolicyDenied": terminal(Reason.AzurePolicyDenied, RECHECK.azurePolicy),
  "azure.PermissionDenied": terminal(Reason.MissingPermission, RECHECK.permission),
  "azure.PrincipalNotFound": retry(Reason.PrincipalNotFound),
  "azure.Conflict": retry("Conflict"),
  "azure.InvalidRequest": (error) =>
    terminal(
      (error as AzureError).code === "RoleAssignmentLimitExceeded"
        ? Reason.RoleAssignmentLimitExceeded
        : Reason.AzureError,
      RECHECK.invalidRequest,
    )(error),
  // A missing resource group or target may be created any moment (by Terraform, say): retry.
  "azure.NotFound": retryAzure,
  "azure.Transient": retryAzure,
  "azure.RoleAssignmentExists": retryAzure,
  "azure.Failed": retryAzure,
  // The credentials file is re-read when it changes, which requeues every key.
  "azure.InvalidCredentialsFile": retry("ReconcileError"),
  "kube.ApiError": kubeAnswer,
  "kube.InvalidConfig": internal,
  "kube.InvalidKey": internal,
  "kube.ObjectBeingDeleted": internal,
  "kube.WatchClosed": internal,
  "kube.LeadershipLost": internal,
  // Redis away or a lock lost: the key comes back when the queue does.
  "queue.RedisUnavailable": internal,
  "queue.LockLost": internal,
  "queue.LockBusy": internal,
  "queue.KeyBusy": internal,
  "queue.QueueClosed": internal,
  "queue.InvalidOption": internal,
  "queue.InvalidKey": internal,
  "queue.InvalidRedisUrl": internal,
  "queue.BucketRequestTooLarge": internal,
  "api.InvalidArmId": internal,
  "api.NonStructuralSchema": internal,
  "plan.NoFixpoint": internal,
  "plan.IncompleteActionResult": internal,
  "config.InvalidConfiguration": internal,
  "config.InvalidDuration": internal,
  "config.InvalidSandboxFile": internal,
  "controller.DuplicateController": internal,
  "controller.AlreadyStarted": internal,
  "controller.StoppedWhileStarting": internal,
  "controller.Stopping": internal,
  "controller.CacheSyncTimeout": internal,
  "controller.NotCached": internal,
  "controller.DuplicateIndex": internal,
  "controller.InvalidAddress": internal,
  "controller.Unhealthy": internal,
  "cli.Failed": internal,
  "cli.Usage": internal,
  "cli.InvalidInput": internal,
  "cli.Refused": internal,
  "cli.MissingPermissions": internal,
  "cli.CredentialRefused": internal,
  "cli.NotConfirmed": internal,
  "cli.DemoKubeApi": internal,
};

export function judge(error: unknown): Verdict {
  if (error instanceof AzidError) return POLICY[error.errorCode](error);
  // Not raised by azid on purpose (a bug, client-node's own error): retry with backoff, never crash.
  return {
    kind: "retry",
    reason: isKubernetesConflict(error) ? "Conflict" : "ReconcileError",
    message: messageOf(error),
  };
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

/**
 * The work queue's decision on a verdict: retry with backoff, wait out a throttle (no attempt
 * counted), or look again after the recheck delay of a failure only a person fixes (scaled to
 * ARM's clock: the sandbox's time runs faster). The reconciler has reported the verdict (a
 * condition, an event): the queue acts on it without judging again.
 */
export function nextFor(verdict: Verdict, timeScale = 1): ReconcileResult {
  const message = `${verdict.reason}: ${verdict.message}`;
  switch (verdict.kind) {
    case "retry":
      return { failure: { kind: "retry" }, message };
    case "throttled":
      return { failure: { kind: "throttled", retryAfterMs: verdict.retryAfterMs }, message };
    case "terminal":
      return { requeueAfterMs: verdict.recheckAfterMs / timeScale };
  }
}

/**
 * An error thrown out of a reconcile (a stale status write, a bug): nobody reported it, so the
 * queue retries it with backoff or waits out a throttle; a terminal verdict is not retried (resync
 * and changes bring the key back).
 */
export function classify(error: unknown): RetryDecision {
  const verdict = judge(error);
  if (verdict.kind === "throttled") return { kind: "throttled", retryAfterMs: verdict.retryAfterMs };
  return { kind: verdict.kind };
}

/** What `judgeSync` needs to know about one reconcile of an azid resource. */
export interface SyncFacts {
  /** The verdict on its Azure failures, if any. */
  verdict?: Verdict;
  /** Writes it sent. */
  writes: number;
  /** The plan did not settle within the round limit. */
  unsettled: boolean;
  /** The status it computed. */
  status: unknown;
  /** The status the object has now, and its generation. */
  previous: { status?: unknown; generation?: number };
  deleting: boolean;
  /** 1 for a first try, n+1 after n failures in a row. */
  attempt: number;
  /** ARM time runs this much faster (the sandbox's); rechecks wait on ARM's clock. */
  timeScale: number;
}

export interface SyncJudgement {
  /** Write the computed status; false keeps the last one (a Ready resource through a blip). */
  writeStatus: boolean;
  /** Why it stopped, for a Warning event: an Azure failure, or a state only a person fixes. */
  warning?: { reason: string; message: string };
  /** The reason of a terminal verdict, for azid_reconcile_stopped_total. */
  stopped?: string;
  /** The work queue's decision. */
  next: ReconcileResult;
}

/** Failed attempts in a row during which a Ready resource stays Ready through failed reads. */
export const TRANSIENT_READ_FAILURES_TOLERATED = 3;
/** Not Ready without a failure to wait out (a principal to appear, a custom role to exist): look again. */
export const NOT_READY_RECHECK_MS = 30_000;
/** The plan did not settle within its rounds: go on soon. */
export const UNSETTLED_REQUEUE_MS = 1000;

/** Not Ready for a reason no Azure call failed with, that waiting alone will not fix. */
const ATTENTION_REASONS = new Set<string>([
  Reason.InvalidSpec,
  Reason.IdentityNotFound,
  Reason.TargetNotFound,
  Reason.ResourceGroupNotFound,
  Reason.UnsupportedTarget,
  Reason.LocationMismatch,
  Reason.RoleNotFound,
  Reason.CustomRoleNotFound,
  Reason.AppRoleNotFound,
]);

/** Everything that follows one reconcile of an azid resource, decided in one place. */
export function judgeSync(facts: SyncFacts): SyncJudgement {
  const { verdict } = facts;
  const ready = readyOf(facts.status);
  const attention = ready?.status === "False" && ATTENTION_REASONS.has(ready.reason) ? ready : undefined;
  const stopped = verdict ?? attention;
  return {
    writeStatus: !keepsLastStatus(facts),
    ...(stopped ? { warning: { reason: stopped.reason, message: stopped.message } } : {}),
    ...(verdict?.kind === "terminal" ? { stopped: verdict.reason } : {}),
    next: verdict
      ? nextFor(verdict, facts.timeScale)
      : facts.unsettled
        ? { requeueAfterMs: UNSETTLED_REQUEUE_MS }
        : ready?.status === "True"
          ? {}
          : { requeueAfterMs: NOT_READY_RECHECK_MS / facts.timeScale },
  };
}

/**
 * True when this reconcile only failed to read, with errors worth retrying (5xx, a dropped
 * connection, after the SDK's own retries), wrote nothing, and the resource was Ready for its
 * current generation: it stays Ready for a few backed-off attempts rather than flapping to False
 * and back on a blip of ARM (alerts and GitOps health follow Ready). Its Warning event still says
 * what failed; a failure that lasts past the tolerance is written to the status. Throttling is
 * not tolerated so: a throttled reconcile counts no attempt, so the tolerance would never end.
 */
function keepsLastStatus(facts: SyncFacts): boolean {
  if (facts.verdict?.kind !== "retry" || facts.writes > 0) return false;
  if (facts.attempt > TRANSIENT_READ_FAILURES_TOLERATED || facts.deleting) return false;
  const previous = facts.previous.status as { observedGeneration?: number } | undefined;
  return previous?.observedGeneration === facts.previous.generation && readyOf(previous)?.status === "True";
}

function readyOf(status: unknown): Condition | undefined {
  return (status as { conditions?: Condition[] } | undefined)?.conditions?.find(
    (condition) => condition.type === ConditionType.Ready,
  );
}
