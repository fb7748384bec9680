// The declared side of every command: the manifests of -f, the policies of -f and --policy,
// and what the policies decide for each resource.

import { builtinRoleByName } from "../api/builtin-roles.js";
import type { IdentityPolicy } from "../api/schemas/identity-policy.js";
import type { ClusterIssuer } from "../api/workload-identity.js";
import { KubeClient, loadKubeConfig } from "../kube/client.js";
import { issuerProblem, resolveClusterIssuer } from "../kube/service-account-issuer.js";
import type { PolicyViolation } from "../plan/policy.js";
import { didYouMean, similarRoleNames } from "../plan/roles.js";
import { plural } from "../util/text.js";
import { CliError } from "./exit-codes.js";
import type { ManifestFlags, PolicyFlags } from "./flags.js";
import {
  formatIssue,
  loadManifests,
  type ManagedResource,
  type ManifestIssue,
  type ManifestSet,
  managedResources,
  resourceKey,
} from "./manifests.js";
import {
  formatViolation,
  NOT_ENFORCED_MESSAGE,
  type PolicyEnforcement,
  parseLabels,
  policyEnforcement,
} from "./policy.js";
import type { CommandContext } from "./run.js";

export interface Inputs {
  /** The -f paths, as given. */
  paths: string[];
  set: ManifestSet;
  resources: ManagedResource[];
  enforcement: PolicyEnforcement;
  /** Problems in the manifests and the policy files. */
  issues: ManifestIssue[];
  /** The cluster's service-account issuer (--service-account-issuer, or discovered with --kubeconfig). */
  serviceAccountIssuer: ClusterIssuer;
}

export interface Refusal {
  resource: string;
  violations: PolicyViolation[];
}

export async function loadInputs(flags: ManifestFlags & Partial<PolicyFlags>): Promise<Inputs> {
  const set = loadManifests(flags.filename);
  const issues = [...set.issues];
  const policies: IdentityPolicy[] = [];
  if (flags.policy && flags.policy.length > 0) {
    const policySet = loadManifests(flags.policy);
    issues.push(...policySet.issues);
    policies.push(...policySet.policies);
    for (const resource of managedResources(policySet)) {
      const source = policySet.sources.get(resourceKey(resource));
      if (source) {
        issues.push({
          source,
          resource: `${resource.kind} ${resource.metadata.namespace}/${resource.metadata.name}`,
          field: "kind",
          message: "--policy takes IdentityPolicy manifests only (give other manifests with -f)",
        });
      }
    }
  }
  const issuer = await clusterIssuer(flags);
  const enforcement = policyEnforcement(set, {
    policies,
    namespaceLabels: flags.namespaceLabels ? parseLabels(flags.namespaceLabels) : {},
    serviceAccountIssuer: issuer,
  });
  const resources = managedResources(set);
  issues.push(...mistypedRoles(set, resources));
  return { paths: flags.filename, set, resources, enforcement, issues, serviceAccountIssuer: issuer };
}

/**
 * The CLI has no cluster of its own: the issuer is --service-account-issuer, or discovered from
 * --kubeconfig's API server. Neither: the serviceAccounts' credentials report IssuerUnknown.
 */
async function clusterIssuer(flags: Partial<PolicyFlags>): Promise<ClusterIssuer> {
  if (flags.serviceAccountIssuer !== undefined) {
    const problem = issuerProblem(flags.serviceAccountIssuer);
    if (problem) throw new CliError(`--service-account-issuer: ${problem}`, "Usage");
    return { url: flags.serviceAccountIssuer, source: "configuration" };
  }
  if (!flags.kubeconfig) {
    return {
      problem:
        "the cluster's service-account issuer is unknown: give --service-account-issuer, or --kubeconfig to discover it",
    };
  }
  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeConfig({ kubeconfigPath: flags.kubeconfig }));
  } catch (error) {
    throw new CliError(`--kubeconfig: ${(error as Error).message}`, "Usage");
  }
  return resolveClusterIssuer(undefined, client);
}

/**
 * Role names that are neither built-in nor a CustomRole of the namespace but within a few edits
 * of one: typos, found offline before anything is read or written. (A name close to nothing may
 * be a custom role defined outside azid: only Azure can tell, and plan asks it.)
 */
function mistypedRoles(set: ManifestSet, resources: readonly ManagedResource[]): ManifestIssue[] {
  return resources.flatMap((resource) => {
    if (resource.kind === "CustomRole") return [];
    const namespace = resource.metadata.namespace ?? "default";
    const customRoles = set.customRoles.filter(
      (role) => (role.metadata.namespace ?? "default") === namespace,
    );
    const source = set.sources.get(resourceKey(resource));
    return (resource.spec.roleAssignments ?? []).flatMap((assignment, index) => {
      const name = assignment.role;
      if (!name || !source || builtinRoleByName(name)) return [];
      if (customRoles.some((role) => role.spec.roleName.toLowerCase() === name.toLowerCase())) return [];
      const similar = similarRoleNames(name, customRoles);
      if (similar.length === 0) return [];
      return [
        {
          source,
          resource: `${resource.kind} ${namespace}/${resource.metadata.name}`,
          field: `spec.roleAssignments[${index}].role`,
          message: `RoleNotFound: "${name}" is not a built-in role nor a CustomRole of this namespace${didYouMean(similar)}`,
        },
      ];
    });
  });
}

/** Resources some policy refuses (wholly or in part), with the rules that refused. */
export function refusals(inputs: Inputs): Refusal[] {
  return inputs.resources.flatMap((resource) => {
    const decision = inputs.enforcement.decide(resource);
    return decision.violations.length > 0
      ? [{ resource: resourceKey(resource), violations: decision.violations }]
      : [];
  });
}

/**
 * For commands that go on to Azure: stop at invalid manifests (exit 3) or policy refusals
 * (exit 4) before anything is read or written, and say whether policies are enforced.
 */
export function requireAcceptable(inputs: Inputs, context: CommandContext): void {
  if (inputs.issues.length > 0) {
    throw new CliError(
      `the manifests are invalid, nothing was done:\n${inputs.issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`,
      "InvalidInput",
    );
  }
  // An empty or mistyped folder must not read as "no change" in a pipeline.
  if (inputs.resources.length === 0) {
    const skipped =
      inputs.set.skipped > 0 ? ` (${plural(inputs.set.skipped, "other document")} skipped)` : "";
    throw new CliError(
      `no UserAssignedIdentity, SystemAssignedIdentity or CustomRole in -f ${inputs.paths.join(", ")}${skipped}: ` +
        "nothing to do; check the path",
      "InvalidInput",
    );
  }
  if (!inputs.enforcement.enforced) context.say(`azid: ${NOT_ENFORCED_MESSAGE}`);
  const refused = refusals(inputs);
  if (refused.length > 0) {
    throw new CliError(
      `refused by IdentityPolicy, nothing was written to Azure:\n${formatRefusals(refused)}`,
      "Refused",
    );
  }
}

export function formatRefusals(refused: readonly Refusal[]): string {
  return refused
    .map((r) => `  ${r.resource}:\n${r.violations.map((v) => `    ${formatViolation(v)}`).join("\n")}`)
    .join("\n");
}
