// azid preflight -f PATH: ask ARM what azid's own credential may do at every scope the declared
// resources touch (Microsoft.Authorization/permissions) and list what is missing, as actions and
// as the built-in roles that grant them. Exit 5 when something is missing.
import type { Command } from "commander";
import type { Permission } from "../../api/role-permissions.js";
import { permits } from "../../api/role-permissions.js";
import { type AzureError, PermissionError, toAzureError } from "../../azure/errors.js";
import { callerPermissions } from "../../azure/permissions.js";
import { pool } from "../../util/pool.js";
import { type AzureFlags, openAzureSession } from "../azure-session.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import {
  azureFlagsOf,
  type ManifestFlags,
  type OutputFlags,
  type PolicyFlags,
  withAzureFlags,
  withManifestFlags,
  withOutputFlags,
  withPolicyFlags,
} from "../flags.js";
import { loadInputs, requireAcceptable } from "../inputs.js";
import { resourceKey } from "../manifests.js";
import { type Requirement, requirementsOf } from "../preflight-requirements.js";
import { bySubscription } from "../resources.js";
import { rolesGranting } from "../role-suggestions.js";
import { type CommandContext, runAction } from "../run.js";
import { readSubscription } from "../subscriptions.js";

type Flags = ManifestFlags & PolicyFlags & OutputFlags & AzureFlags;

interface ScopeCheck {
  scope: string;
  missing: Requirement[];
  /** Built-in roles that grant what is missing (at this scope or above). */
  roles?: string[];
  /** Set when ARM would not list the permissions (the scope does not exist, ...). */
  error?: { code: string; message: string };
}

const SUBSCRIPTION_READ = "Microsoft.Resources/subscriptions/read";

const GRAPH_NOTE =
  "Graph app roles are granted through Microsoft Graph, not ARM: azid's principal needs the " +
  "application permission AppRoleAssignment.ReadWrite.All (with admin consent), which ARM cannot report";

export function registerPreflightCommand(program: Command): void {
  const command = program
    .command("preflight")
    .description(
      "check that azid's credential has the permissions the manifests need at every scope they touch, " +
        "and name the built-in roles that grant what is missing (exit 0 all there, 5 missing, 6 credential refused)",
    );
  withOutputFlags(withAzureFlags(withPolicyFlags(withManifestFlags(command)))).action(runAction(preflight));
}

async function preflight(flags: Flags, context: CommandContext): Promise<ExitCode> {
  const inputs = await loadInputs(flags);
  requireAcceptable(inputs, context);
  const session = openAzureSession(azureFlagsOf(flags), context.logger);
  const requirements = requirementsOf(inputs.resources);
  // Right after a move the credential has no role at all, and even the subscription cannot be
  // read: that is one more missing permission to list with the rest, not an error.
  for (const [subscriptionId, resources] of bySubscription(inputs.resources)) {
    try {
      await readSubscription(session.inventory, subscriptionId);
    } catch (error) {
      if (!(error instanceof PermissionError)) throw error;
      requirements.unshift({
        scope: `/subscriptions/${subscriptionId}`,
        subscriptionId,
        action: SUBSCRIPTION_READ,
        why: "read the subscription (its tenant tells azid that it moved)",
        resources: resources.map(resourceKey),
      });
    }
  }
  const scopes = new Map<string, Requirement[]>();
  for (const requirement of requirements) {
    const key = requirement.scope.toLowerCase();
    scopes.set(key, [...(scopes.get(key) ?? []), requirement]);
  }
  const checks: ScopeCheck[] = await pool([...scopes.values()], 8, async (needed) => {
    const { scope, subscriptionId } = needed[0] as Requirement;
    let permissions: Permission[];
    try {
      permissions = await callerPermissions(session.clients, subscriptionId, session.endpoints.arm, scope);
    } catch (thrown) {
      const error: AzureError = toAzureError(thrown);
      const roles = rolesGranting(needed.map((m) => m.action));
      return {
        scope,
        missing: needed,
        ...(roles ? { roles } : {}),
        error: { code: error.code, message: error.message },
      };
    }
    const missing = needed.filter((requirement) => !permits(permissions, requirement.action));
    const roles = missing.length > 0 ? rolesGranting(missing.map((m) => m.action)) : undefined;
    return { scope, missing, ...(roles ? { roles } : {}) };
  });
  const usesGraph = inputs.resources.some(
    (r) => r.kind !== "CustomRole" && (r.spec.graphAppRoles ?? []).length > 0,
  );
  const failing = checks.filter((c) => c.missing.length > 0);
  const code = failing.length > 0 ? EXIT.missingPermissions : EXIT.ok;
  if (context.output === "json") {
    context.printJson({
      ok: code === EXIT.ok,
      exitCode: code,
      scopes: checks,
      ...(usesGraph ? { notes: [GRAPH_NOTE] } : {}),
    });
    return code;
  }
  for (const check of checks) {
    if (check.missing.length === 0) {
      context.print(`ok       ${check.scope}`);
      continue;
    }
    context.print(`MISSING  ${check.scope}`);
    if (check.error)
      context.print(`  cannot read permissions here: ${check.error.code}: ${check.error.message}`);
    for (const m of check.missing) context.print(`  ${m.action}  (${m.why}: ${m.resources.join(", ")})`);
    if (check.roles && check.roles.length > 0)
      context.print(`  built-in roles that grant it: ${check.roles.join(", ")}`);
  }
  if (usesGraph) context.print(`note: ${GRAPH_NOTE}`);
  context.print(
    failing.length > 0
      ? `preflight: permissions missing at ${failing.length} of ${checks.length} scopes`
      : `preflight: azid's credential has every permission needed at ${checks.length} scopes`,
  );
  return code;
}
