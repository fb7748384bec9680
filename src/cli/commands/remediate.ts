// azid remediate --subscription S -f PATH: after a tenant move, detect it, print the whole repair
// plan (counts, actions, the floor ARM's buckets force), confirm, and apply it paced by the local
// gate with many resources in flight, then report. Resumable: a second run after an interruption
// plans only what is left (every step is idempotent, statuses are on record before writes).
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { type AzureFlags, openAzureSession } from "../azure-session.js";
import { wireCluster } from "../cluster-wiring.js";
import { CliError, EXIT, type ExitCode } from "../exit-codes.js";
import {
  azureFlagsOf,
  type ManifestFlags,
  type OutputFlags,
  type PolicyFlags,
  positiveInteger,
  withAzureFlags,
  withManifestFlags,
  withOutputFlags,
  withPolicyFlags,
  withRequiredFlag,
  withStateFlag,
} from "../flags.js";
import { renderHtmlReport } from "../html-report.js";
import { loadInputs, requireAcceptable } from "../inputs.js";
import { resourceKey } from "../manifests.js";
import { describePlan, formatPlan } from "../plan-view.js";
import { planSubscription } from "../planning.js";
import { Progress } from "../progress.js";
import { confirm } from "../prompt.js";
import { reconcileAll } from "../reconcile.js";
import {
  formatPlanSummary,
  formatReport,
  planReport,
  principalBefore,
  type RemediationReport,
  resourceReport,
  verdictOfResources,
} from "../remediation-report.js";
import { subscriptionOfResource } from "../resources.js";
import { type CommandContext, runAction } from "../run.js";
import { StateStore } from "../state-file.js";
import { readSubscription } from "../subscriptions.js";
import { exitCodeOf, logOutcomes } from "../summary.js";

type Flags = ManifestFlags &
  PolicyFlags &
  OutputFlags &
  AzureFlags & {
    subscription: string;
    yes: boolean;
    report?: string;
    state?: string;
    concurrency: number;
    maxAttempts: number;
    progress: boolean;
    kubeconfig?: string;
  };

/** How old the plan's reads may be for the repair to start from them rather than read again. */
const FRESH_OBSERVATION_MS = 60_000;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerRemediateCommand(program: Command): void {
  const command = withRequiredFlag(
    program
      .command("remediate")
      .description(
        "repair what a tenant move broke in one subscription: custom roles, identities (re-created or " +
          "turned off and on), credentials, attachments, role and Graph grants; prints the plan and asks " +
          "first (exit 0 repaired, 1 not all ready, 6 credential refused, 7 not confirmed)",
      ),
    "--subscription <id>",
    "the subscription that moved",
  )
    .option("--yes", "apply the plan without asking", false)
    .option("--report <file.html>", "also write the report as one self-contained HTML page")
    .option(
      "--concurrency <n>",
      "resources repaired at once (the rate gate paces their calls)",
      positiveInteger,
      64,
    )
    .option("--max-attempts <n>", "runs per resource while failures are retryable", positiveInteger, 8)
    .option("--no-progress", "no progress on stderr");
  withOutputFlags(withAzureFlags(withPolicyFlags(withManifestFlags(withStateFlag(command))))).action(
    runAction(remediate),
  );
}

async function remediate(flags: Flags, context: CommandContext): Promise<ExitCode> {
  if (!GUID.test(flags.subscription)) {
    throw new CliError(
      `--subscription: expected a subscription id (a GUID), got ${flags.subscription}`,
      "Usage",
    );
  }
  const subscriptionId = flags.subscription.toLowerCase();
  const inputs = await loadInputs(flags);
  requireAcceptable(inputs, context);
  const resources = inputs.resources.filter((r) => subscriptionOfResource(r) === subscriptionId);
  if (resources.length === 0) {
    throw new CliError(`no resource in -f is in subscription ${subscriptionId}`, "InvalidInput");
  }
  const started = new Date();
  const session = openAzureSession(azureFlagsOf(flags), context.logger);
  const subscription = await readSubscription(session.inventory, subscriptionId);
  const state = new StateStore(flags.state);
  try {
    const planned = await planSubscription(session, subscription, resources, {
      decide: inputs.enforcement.decide,
      serviceAccountIssuer: inputs.serviceAccountIssuer,
      state,
    });
    const failures = planned.observation.failures;
    if (failures.length > 0) {
      const lines = failures.map((f) => `  ${f.action.description}: ${f.error.code}: ${f.error.message}`);
      throw new CliError(`reading Azure failed, no plan can be made:\n${lines.join("\n")}`);
    }
    const report = planReport(subscriptionId, planned.plan, session.timeScale, started);
    report.fromTenantIds = [
      ...new Set([
        ...report.fromTenantIds,
        ...recordedTenants(resources.map(resourceKey), state, subscription.tenantId),
      ]),
    ].sort();
    const human = context.output === "json" ? context.say : context.print;
    human(
      report.fromTenantIds.length > 0
        ? `tenant move detected: subscription ${subscriptionId} is in tenant ${subscription.tenantId}; ` +
            `identities still belong to ${report.fromTenantIds.join(", ")}`
        : `no identity of subscription ${subscriptionId} is in another tenant than ${subscription.tenantId}`,
    );
    if (planned.plan.actions.length === 0) {
      human("nothing to do: Azure matches the manifests");
      if (context.output === "json") context.printJson({ ok: true, exitCode: EXIT.ok, report });
      writeHtml(flags.report, report, context);
      return EXIT.ok;
    }
    human(formatPlan(describePlan(planned.plan.actions, planned.input.observed)));
    human(formatPlanSummary(report));
    await confirm(`Apply these ${report.plan.total} actions to subscription ${subscriptionId}?`, flags);

    const before = new Map(
      resources.map((r) => [resourceKey(r), principalBefore(r, planned.input.observed)] as const),
    );
    const progress = new Progress({
      stream: process.stderr,
      unit: "writes",
      total: report.plan.total,
      throttled: () => session.requests.totals().throttled,
      enabled: flags.progress,
    });
    session.onOutcome(progress.onAction);
    const applyStarted = Date.now();
    // What the plan read is fresh enough to start from when the run follows it at once (--yes).
    const observedRecently = applyStarted - started.getTime() < FRESH_OBSERVATION_MS;
    const outcomes = await reconcileAll(resources, {
      executor: session.executor,
      state,
      decide: inputs.enforcement.decide,
      serviceAccountIssuer: inputs.serviceAccountIssuer,
      allowTenantRepair: () => true,
      customRolesOf: (namespace) =>
        inputs.set.customRoles.filter((role) => role.metadata.namespace === namespace),
      concurrency: flags.concurrency,
      maxAttempts: flags.maxAttempts,
      baseDelayMs: Math.max(20, 1000 / session.timeScale),
      ...(observedRecently ? { initialObserved: planned.input.observed } : {}),
      onDone: progress.onResource,
    });
    progress.finish();
    report.applied = true;
    report.finishedAt = new Date().toISOString();
    report.seconds = (Date.now() - applyStarted) / 1000;
    report.resources = outcomes.map((o) => resourceReport(o, before.get(o.key) ?? {}));
    const cluster = await wireCluster(outcomes, flags.kubeconfig);
    if (cluster.length > 0) {
      report.clusterWiring = cluster;
      report.clusterApplied = flags.kubeconfig !== undefined;
    }
    report.verdict = verdictOfResources(report.resources);
    report.arm = session.requests.totals();
    report.timeline = session.requests.timeline();
    report.repairStartSecond = session.requests.secondOf(applyStarted);
    const code = exitCodeOf(outcomes);
    logOutcomes(context, outcomes);
    context.logger.info(
      {
        subscriptionId,
        seconds: report.seconds,
        floorSeconds: report.plan.floorSeconds,
        arm: report.arm,
        exitCode: code,
      },
      "remediation finished",
    );
    if (context.output === "json") context.printJson({ ok: code === EXIT.ok, exitCode: code, report });
    else context.print(formatReport(report));
    writeHtml(flags.report, report, context);
    return code;
  } finally {
    await state.close();
  }
}

/** Tenants a previous run recorded for these resources that are not the subscription's any more. */
function recordedTenants(keys: readonly string[], state: StateStore, current: string): string[] {
  return keys.flatMap((key) => {
    const tenant = (state.status(key) as { tenantId?: string } | undefined)?.tenantId;
    return tenant && tenant.toLowerCase() !== current.toLowerCase() ? [tenant.toLowerCase()] : [];
  });
}

function writeHtml(path: string | undefined, report: RemediationReport, context: CommandContext) {
  if (!path) return;
  writeFileSync(path, renderHtmlReport(report));
  context.say(`azid: report written to ${path}`);
}
