// azid validate -f PATH: offline. The schema with its defaults, the CEL rules' mirrors and the
// IdentityPolicies, with every problem located by file, document and field.
import type { Command } from "commander";
import { plural } from "../../util/text.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import {
  type ManifestFlags,
  type OutputFlags,
  type PolicyFlags,
  withManifestFlags,
  withOutputFlags,
  withPolicyFlags,
} from "../flags.js";
import { formatRefusals, loadInputs, refusals } from "../inputs.js";
import { describeSource, formatIssue, resourceKey } from "../manifests.js";
import { NOT_ENFORCED_MESSAGE } from "../policy.js";
import { type CommandContext, runAction } from "../run.js";

type Flags = ManifestFlags & PolicyFlags & OutputFlags;

export function registerValidateCommand(program: Command): void {
  const command = program
    .command("validate")
    .description(
      "check manifests offline: schema, defaults, the CRDs' validation rules and IdentityPolicies " +
        "(exit 0 valid, 3 invalid, 4 refused by policy)",
    );
  withOutputFlags(withPolicyFlags(withManifestFlags(command))).action(runAction(validate));
}

async function validate(flags: Flags, context: CommandContext): Promise<ExitCode> {
  const inputs = await loadInputs(flags);
  const refused = inputs.issues.length === 0 ? refusals(inputs) : [];
  const code = inputs.issues.length > 0 ? EXIT.invalid : refused.length > 0 ? EXIT.refused : EXIT.ok;
  const counts = countByKind([
    ...inputs.resources.map((r) => r.kind),
    ...inputs.set.policies.map((p) => p.kind),
  ]);
  if (context.output === "json") {
    context.printJson({
      ok: code === EXIT.ok,
      exitCode: code,
      resources: inputs.resources.map((resource) => {
        const source = inputs.set.sources.get(resourceKey(resource));
        return {
          kind: resource.kind,
          namespace: resource.metadata.namespace,
          name: resource.metadata.name,
          ...(source ? { source: describeSource(source) } : {}),
        };
      }),
      counts,
      issues: inputs.issues.map((issue) => ({ ...issue, text: formatIssue(issue) })),
      refusals: refused,
      policy: inputs.enforcement.enforced
        ? { enforced: true, policies: inputs.enforcement.policyNames }
        : { enforced: false, message: NOT_ENFORCED_MESSAGE },
      skippedDocuments: inputs.set.skipped,
    });
    return code;
  }
  if (!inputs.enforcement.enforced) context.say(`azid: ${NOT_ENFORCED_MESSAGE}`);
  if (inputs.issues.length > 0) {
    context.print(`invalid: ${plural(inputs.issues.length, "problem")}`);
    for (const issue of inputs.issues) context.print(`  ${formatIssue(issue)}`);
    return code;
  }
  if (refused.length > 0) {
    context.print(`refused by IdentityPolicy:\n${formatRefusals(refused)}`);
    return code;
  }
  const summary = Object.entries(counts)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  const policies = inputs.enforcement.enforced
    ? `; allowed by ${inputs.enforcement.policyNames.map((n) => `IdentityPolicy/${n}`).join(", ")}`
    : "";
  const skipped =
    inputs.set.skipped > 0 ? ` (${plural(inputs.set.skipped, "non-azid document")} skipped)` : "";
  context.print(`valid: ${summary || "no azid manifests"}${policies}${skipped}`);
  return code;
}

function countByKind(kinds: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
