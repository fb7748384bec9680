// azid apply -f PATH: reconcile once without a cluster (a pipeline step). Custom roles first,
// then identities, several at a time, paced by ARM's buckets; progress on stderr; a summary.
// On a terminal it shows the plan and asks first, as `terraform apply` does (--auto-approve skips).
import type { Command } from "commander";
import { type AzureFlags, openAzureSession } from "../azure-session.js";
import { formatClusterWiring, wireCluster } from "../cluster-wiring.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
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
  withStateFlag,
} from "../flags.js";
import { loadInputs, requireAcceptable } from "../inputs.js";
import { Progress } from "../progress.js";
import { confirm } from "../prompt.js";
import { reconcileAll } from "../reconcile.js";
import { bySubscription } from "../resources.js";
import { type CommandContext, runAction } from "../run.js";
import { StateStore } from "../state-file.js";
import { readSubscriptions } from "../subscriptions.js";
import { exitCodeOf, formatOutcomes, formatTotals, logOutcomes, outcomeJson, totalsOf } from "../summary.js";
import { formatPlanView, makePlanView } from "./plan.js";

type Flags = ManifestFlags &
  PolicyFlags &
  OutputFlags &
  AzureFlags & {
    state?: string;
    concurrency: number;
    maxAttempts: number;
    progress: boolean;
    autoApprove: boolean;
    kubeconfig?: string;
  };

export function registerApplyCommand(program: Command): void {
  const command = program
    .command("apply")
    .description(
      "reconcile Azure with the manifests once, without a cluster: custom roles first, then " +
        "identities; on a terminal, shows the plan and asks first (exit 0 all ready, 1 some not ready, " +
        "3 invalid, 4 refused by policy, 6 credential refused, 7 not confirmed)",
    )
    .option("--auto-approve", "on a terminal, apply without showing the plan and asking", false)
    .option("--concurrency <n>", "resources reconciled at once", positiveInteger, 8)
    .option("--max-attempts <n>", "runs per resource while failures are retryable", positiveInteger, 6)
    .option("--no-progress", "no progress on stderr");
  withOutputFlags(withAzureFlags(withPolicyFlags(withManifestFlags(withStateFlag(command))))).action(
    runAction(apply),
  );
}

async function apply(flags: Flags, context: CommandContext): Promise<ExitCode> {
  const inputs = await loadInputs(flags);
  requireAcceptable(inputs, context);
  const session = openAzureSession(azureFlagsOf(flags), context.logger);
  if (process.stdin.isTTY && !flags.autoApprove && context.output === "text") {
    const view = await makePlanView(inputs, session, flags);
    context.print(formatPlanView(view, inputs.resources.length));
    if (!view.changed) return EXIT.ok;
    await confirm("Apply these changes to Azure?", { yes: false });
  }
  const started = Date.now();
  await readSubscriptions(session.inventory, bySubscription(inputs.resources).keys());
  const state = new StateStore(flags.state);
  try {
    const progress = new Progress({
      stream: process.stderr,
      unit: "resources",
      total: inputs.resources.length,
      throttled: () => session.requests.totals().throttled,
      enabled: flags.progress,
    });
    session.onOutcome(progress.onAction);
    const outcomes = await reconcileAll(inputs.resources, {
      executor: session.executor,
      state,
      decide: inputs.enforcement.decide,
      serviceAccountIssuer: inputs.serviceAccountIssuer,
      // A tenant move is repaired here only where a policy asks for it; otherwise `azid remediate`.
      allowTenantRepair: (_resource, decision) =>
        inputs.enforcement.enforced && decision.tenantMoveRemediation === "Auto",
      customRolesOf: (namespace) =>
        inputs.set.customRoles.filter((role) => role.metadata.namespace === namespace),
      concurrency: flags.concurrency,
      maxAttempts: flags.maxAttempts,
      baseDelayMs: Math.max(20, 1000 / session.timeScale),
      onDone: progress.onResource,
    });
    progress.finish();
    const totals = totalsOf(outcomes, (Date.now() - started) / 1000, session.requests.totals());
    const code = exitCodeOf(outcomes);
    logOutcomes(context, outcomes);
    const cluster = await wireCluster(outcomes, flags.kubeconfig);
    if (context.output === "json") {
      context.printJson({
        ok: code === EXIT.ok,
        exitCode: code,
        resources: outcomes.map(outcomeJson),
        totals,
        ...(cluster.length > 0 ? { clusterWiring: cluster } : {}),
      });
    } else {
      if (outcomes.length > 0) context.print(formatOutcomes(outcomes));
      context.print(formatTotals("applied", totals));
      if (cluster.length > 0) context.print(formatClusterWiring(cluster, flags.kubeconfig !== undefined));
      if (totals.awaitingRepair > 0) {
        context.print(
          "the subscription of some resources moved to another tenant: repair them with `azid remediate --subscription S -f PATH`",
        );
      }
    }
    return code;
  } finally {
    await state.close();
  }
}
