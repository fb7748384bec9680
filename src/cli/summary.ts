// The end of apply and remediate: one line per resource and the run's totals, as text or JSON.

import { formatDuration, plural } from "../util/text.js";
import { EXIT, EXIT_FOR_ERROR, type ExitCode } from "./exit-codes.js";
import type { ResourceOutcome } from "./reconcile.js";
import type { RequestTotals } from "./request-log.js";
import type { CommandContext } from "./run.js";

export interface RunTotals {
  resources: number;
  ready: number;
  failed: number;
  awaitingRepair: number;
  writes: number;
  seconds: number;
  arm: RequestTotals;
}

export function totalsOf(
  outcomes: readonly ResourceOutcome[],
  seconds: number,
  arm: RequestTotals,
): RunTotals {
  return {
    resources: outcomes.length,
    ready: outcomes.filter((o) => o.state === "ready").length,
    failed: outcomes.filter((o) => o.state === "failed").length,
    awaitingRepair: outcomes.filter((o) => o.state === "awaitingRepair").length,
    writes: outcomes.reduce((sum, o) => sum + o.writes.length, 0),
    seconds,
    arm,
  };
}

export function outcomeJson(outcome: ResourceOutcome) {
  const status = outcome.status as { principalId?: string; clientId?: string; tenantId?: string } | undefined;
  return {
    resource: outcome.key,
    state: outcome.state,
    ...(outcome.ready
      ? {
          ready: {
            status: outcome.ready.status,
            reason: outcome.ready.reason,
            message: outcome.ready.message,
          },
        }
      : {}),
    ...(status?.principalId ? { principalId: status.principalId } : {}),
    ...(status?.clientId ? { clientId: status.clientId } : {}),
    ...(status?.tenantId ? { tenantId: status.tenantId } : {}),
    writes: outcome.writes.map((w) => ({ kind: w.kind, description: w.description })),
    errors: outcome.errors,
    /** What the controller would have said as Kubernetes events. */
    events: outcome.notices,
    attempts: outcome.attempts,
    seconds: (outcome.finishedAt - outcome.startedAt) / 1000,
  };
}

const STATE_LABEL: Record<ResourceOutcome["state"], string> = {
  ready: "Ready",
  failed: "NotReady",
  awaitingRepair: "TenantMoved",
};

export function formatOutcomes(outcomes: readonly ResourceOutcome[]): string {
  const width = Math.max(0, ...outcomes.map((o) => o.key.length));
  return outcomes
    .map((o) => {
      const first = o.errors[0];
      // The Ready message usually names the failure already; add it only when it does not.
      const error =
        first && !o.ready?.message.includes(first.code) ? ` (${first.code}: ${first.message})` : "";
      const why = o.state === "ready" ? "" : `  ${reasoned(o.ready?.reason, o.ready?.message)}${error}`;
      const writes = plural(o.writes.length, "write");
      return `${o.key.padEnd(width)}  ${STATE_LABEL[o.state].padEnd(11)} ${writes}${why}`;
    })
    .join("\n");
}

/** "Reason: message", without the reason twice when the message already names it. */
export function reasoned(reason = "", message = ""): string {
  if (!reason) return message;
  return message.includes(reason) ? message : `${reason}: ${message}`;
}

export function formatTotals(verb: string, totals: RunTotals): string {
  const waiting = totals.awaitingRepair > 0 ? `, ${totals.awaitingRepair} awaiting tenant-move repair` : "";
  return (
    `${verb}: ${totals.ready}/${totals.resources} ready, ${totals.failed} not ready${waiting} · ` +
    `${plural(totals.writes, "write")} · ${plural(totals.arm.calls, "ARM call")} (${totals.arm.throttled} throttled) · ` +
    formatDuration(totals.seconds)
  );
}

/**
 * 0 when every resource is ready; otherwise the exit code of the failures' codes: 6 when Azure
 * refused azid's credential, 1 for the rest.
 */
export function exitCodeOf(outcomes: readonly ResourceOutcome[]): ExitCode {
  if (outcomes.every((o) => o.state === "ready")) return EXIT.ok;
  const codes = outcomes.flatMap((o) => o.errors.map((e) => EXIT_FOR_ERROR[e.errorCode]));
  return codes.includes(EXIT.credential) ? EXIT.credential : EXIT.error;
}

/**
 * One log line per resource, at info: the summary on stdout already says the same to a person,
 * so at the default level (warn) nothing is said twice; --log-level info adds the details
 * (attempts, every error) for a pipeline's logs.
 */
export function logOutcomes(context: CommandContext, outcomes: readonly ResourceOutcome[]): void {
  for (const outcome of outcomes) {
    for (const notice of outcome.notices) {
      const event = { resource: outcome.key, reason: notice.reason };
      if (notice.type === "Warning") context.logger.warn(event, notice.message);
      else context.logger.info(event, notice.message);
    }
    const fields = {
      resource: outcome.key,
      state: outcome.state,
      reason: outcome.ready?.reason,
      writes: outcome.writes.length,
      attempts: outcome.attempts,
      ...(outcome.errors.length > 0 ? { errors: outcome.errors } : {}),
    };
    if (outcome.state === "ready") context.logger.info(fields, "resource ready");
    else context.logger.info({ ...fields, message: outcome.ready?.message }, "resource not ready");
  }
}
