// azid plan -f PATH: read Azure (reads only) and print what apply would change, per resource and
// item. Exit 0 when the plan was made; with --detailed-exitcode (as Terraform's), 2 when something
// would change.
import type { Command } from "commander";
import { formatRef } from "../../plan/actions.js";
import { plural } from "../../util/text.js";
import { type AzureFlags, type AzureSession, openAzureSession } from "../azure-session.js";
import { CliError, EXIT, type ExitCode } from "../exit-codes.js";
import {
  azureFlagsOf,
  type ManifestFlags,
  type OutputFlags,
  type PolicyFlags,
  withAzureFlags,
  withManifestFlags,
  withOutputFlags,
  withPolicyFlags,
  withStateFlag,
} from "../flags.js";
import { type Inputs, loadInputs, requireAcceptable } from "../inputs.js";
import { countChanges, describePlan, formatCounts, formatPlan, type ResourceChanges } from "../plan-view.js";
import { planSubscription, type SubscriptionPlan } from "../planning.js";
import { bySubscription } from "../resources.js";
import { type CommandContext, runAction } from "../run.js";
import { StateStore } from "../state-file.js";
import { readSubscriptions } from "../subscriptions.js";

type Flags = ManifestFlags &
  PolicyFlags &
  OutputFlags &
  AzureFlags & { state?: string; detailedExitcode: boolean };

export function registerPlanCommand(program: Command): void {
  const command = program
    .command("plan")
    .description(
      "show what apply would change in Azure, per resource and item, reading only " +
        "(exit 0 planned, 1 error, 3 invalid, 4 refused by policy, 6 credential refused; " +
        "with --detailed-exitcode 0 no change, 2 changes)",
    )
    .option("--detailed-exitcode", "exit 2 when something would change, 0 only when nothing would", false);
  withOutputFlags(withAzureFlags(withPolicyFlags(withManifestFlags(withStateFlag(command))))).action(
    runAction(plan),
  );
}

/** What `plan` shows and `apply` asks about on a terminal: each subscription's plan, reads only. */
export interface PlanView {
  resources: ResourceChanges[];
  moved: SubscriptionPlan[];
  plans: SubscriptionPlan[];
  changed: boolean;
}

export async function makePlanView(
  inputs: Inputs,
  session: AzureSession,
  flags: { state?: string },
): Promise<PlanView> {
  const groups = bySubscription(inputs.resources);
  const subscriptions = await readSubscriptions(session.inventory, groups.keys());
  const state = new StateStore(flags.state);
  const plans: SubscriptionPlan[] = [];
  try {
    for (const [id, resources] of groups) {
      const subscription = subscriptions.get(id);
      if (!subscription) continue;
      plans.push(
        await planSubscription(session, subscription, resources, {
          decide: inputs.enforcement.decide,
          serviceAccountIssuer: inputs.serviceAccountIssuer,
          // What apply would do: repair a tenant move only where a policy asks for it.
          allowTenantRepair: (resource) =>
            inputs.enforcement.enforced &&
            inputs.enforcement.decide(resource).tenantMoveRemediation === "Auto",
          state,
        }),
      );
    }
  } finally {
    await state.close();
  }
  const failures = plans.flatMap((p) => p.observation.failures);
  if (failures.length > 0) {
    const lines = failures.map(
      (f) => `  ${formatRef(f.action.owner)}: ${f.action.description}: ${f.error.code}: ${f.error.message}`,
    );
    throw new CliError(`some reads failed, the plan would be incomplete:\n${lines.join("\n")}`);
  }
  const resources: ResourceChanges[] = plans.flatMap((p) => describePlan(p.plan.actions, p.input.observed));
  const moved = plans.filter((p) => p.plan.fromTenantIds.length > 0);
  return { resources, moved, plans, changed: resources.length > 0 || moved.length > 0 };
}

/**
 * What the plan cannot change and a person must know: a resource whose own system-assigned
 * identity is still of the old tenant but that no SystemAssignedIdentity declares.
 */
export function planWarnings(view: PlanView): string[] {
  return view.plans.flatMap((p) =>
    p.plan.undeclaredSystemIdentities.map(
      ({ resourceId, tenantId }) =>
        `${resourceId} has a system-assigned identity of tenant ${tenantId} that no manifest declares: ` +
        "azid does not repair it; declare a SystemAssignedIdentity for it (remediate then turns it off " +
        "and on), or turn it off and on yourself",
    ),
  );
}

/** The plan as text: each change, each moved subscription, and the counts. */
export function formatPlanView(view: PlanView, declared: number): string {
  const lines: string[] = [];
  if (view.resources.length > 0) lines.push(formatPlan(view.resources));
  for (const p of view.moved) {
    lines.push(
      `subscription ${p.subscription.subscriptionId} moved from tenant ${p.plan.fromTenantIds.join(", ")} ` +
        `to ${p.plan.toTenantId}: apply does not repair it; run \`azid remediate --subscription ` +
        `${p.subscription.subscriptionId} -f ...\``,
    );
  }
  lines.push(
    view.changed
      ? `plan: ${formatCounts(countChanges(view.resources), view.resources.length)}`
      : `no change: Azure matches the manifests (${plural(declared, "resource")})`,
  );
  return lines.join("\n");
}

async function plan(flags: Flags, context: CommandContext): Promise<ExitCode> {
  const inputs = await loadInputs(flags);
  requireAcceptable(inputs, context);
  const session = openAzureSession(azureFlagsOf(flags), context.logger);
  const view = await makePlanView(inputs, session, flags);
  const { resources, moved, plans, changed } = view;
  const counts = countChanges(resources);
  const warnings = planWarnings(view);
  // A resource whose own spec stops it before any write is an error of the input, not a change.
  const blocked = plans.flatMap((p) => p.plan.blocked);
  const code = blocked.length > 0 ? EXIT.invalid : changed && flags.detailedExitcode ? EXIT.changes : EXIT.ok;
  if (context.output === "json") {
    context.printJson({
      changes: changed,
      exitCode: code,
      counts,
      resources,
      tenantMoves: moved.map((p) => ({
        subscriptionId: p.subscription.subscriptionId,
        fromTenantIds: p.plan.fromTenantIds,
        toTenantId: p.plan.toTenantId,
      })),
      floorSeconds: Math.max(0, ...plans.map((p) => p.plan.floor.seconds)) / session.timeScale,
      warnings,
      blocked: blocked.map((b) => ({
        resource: formatRef(b.resource),
        reason: b.reason,
        message: b.message,
      })),
      reads: plans.reduce((sum, p) => sum + p.observation.reads, 0),
    });
    return code;
  }
  for (const warning of warnings) context.say(`azid: warning: ${warning}`);
  context.print(formatPlanView(view, inputs.resources.length));
  if (blocked.length > 0) {
    const lines = blocked.map((b) => `  ${formatRef(b.resource)}: ${b.reason}: ${b.message}`);
    context.say(
      `azid: ${plural(blocked.length, "resource")} cannot be applied as declared:\n${lines.join("\n")}`,
    );
  }
  return code;
}
