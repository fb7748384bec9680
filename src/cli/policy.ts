// IdentityPolicy enforcement for files: the policies found in -f and --policy, the namespaces'
// labels (Namespace manifests, --namespace-labels), and one decision per resource. Without any
// policy the CLI enforces none, and says so: a pipeline that runs with its own credential is
// trusted as the cluster admin would be, but nobody should believe a guardrail is on when it is not.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { armIdKey } from "../api/arm-id.js";
import { MICROSOFT_GRAPH_APP_ID } from "../api/schemas/common.js";
import type { IdentityPolicy } from "../api/schemas/identity-policy.js";
import type { ClusterIssuer } from "../api/workload-identity.js";
import { evaluatePolicy, type PolicyDecision, type PolicyViolation } from "../plan/policy.js";
import { PACKAGE_ROOT } from "../util/paths.js";
import { CliError } from "./exit-codes.js";
import { type ManagedResource, type ManifestSet, resourceKey } from "./manifests.js";

export interface PolicyOptions {
  /** Policies from --policy files, on top of those in -f. */
  policies: readonly IdentityPolicy[];
  /** --namespace-labels: labels of every namespace that has no Namespace manifest. */
  namespaceLabels: Readonly<Record<string, string>>;
  serviceAccountIssuer?: ClusterIssuer;
}

export interface PolicyEnforcement {
  /** False when no IdentityPolicy was given: everything is allowed. */
  enforced: boolean;
  policyNames: string[];
  decide(resource: ManagedResource): PolicyDecision;
}

export const NOT_ENFORCED_MESSAGE =
  "no IdentityPolicy given (in -f or --policy): azid enforces none, every manifest is allowed";

const ALLOW_ALL: PolicyDecision = {
  allowed: true,
  violations: [],
  policies: [],
  tenantMoveRemediation: "Manual",
};

/**
 * Everything allowed, the tenant of every declared vault included: whoever runs the CLI with its
 * own credential approves the plan it prints, vault by vault.
 */
function allowAll(resource: ManagedResource): PolicyDecision {
  const vaults = resource.kind === "CustomRole" ? [] : (resource.spec.keyVaultAccessPolicies ?? []);
  return vaults.length === 0
    ? ALLOW_ALL
    : { ...ALLOW_ALL, vaultTenantRepair: vaults.map((item) => armIdKey(item.vaultId)) };
}

export function policyEnforcement(set: ManifestSet, options: PolicyOptions): PolicyEnforcement {
  const policies = [...set.policies, ...options.policies];
  if (policies.length === 0) return { enforced: false, policyNames: [], decide: allowAll };
  const appRoles = graphAppRoleCatalog();
  const cache = new Map<string, PolicyDecision>();
  return {
    enforced: true,
    policyNames: policies.map((policy) => policy.metadata.name),
    decide(resource) {
      const key = resourceKey(resource);
      let decision = cache.get(key);
      if (!decision) {
        const namespace = resource.metadata.namespace ?? "default";
        decision = evaluatePolicy(resource, {
          namespaceLabels: namespaceLabels(set, options, namespace),
          policies,
          customRoles: set.customRoles.filter((role) => (role.metadata.namespace ?? "default") === namespace),
          ...(appRoles ? { appRoles } : {}),
          ...(options.serviceAccountIssuer ? { serviceAccountIssuer: options.serviceAccountIssuer } : {}),
        });
        cache.set(key, decision);
      }
      return decision;
    },
  };
}

/** Kubernetes labels every namespace with its own name; policies may select on it. */
function namespaceLabels(set: ManifestSet, options: PolicyOptions, namespace: string) {
  const declared = set.namespaces.get(namespace);
  return {
    ...(declared ?? options.namespaceLabels),
    "kubernetes.io/metadata.name": namespace,
  };
}

/** `k=v,k2=v2` as --namespace-labels takes it. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",").filter((part) => part.trim() !== "")) {
    const at = pair.indexOf("=");
    const key = pair.slice(0, at).trim();
    if (at <= 0 || key === "") {
      throw new CliError(`--namespace-labels: expected key=value, got ${JSON.stringify(pair)}`, "Usage");
    }
    labels[key] = pair.slice(at + 1).trim();
  }
  return labels;
}

export function formatViolation(violation: PolicyViolation): string {
  return `${violation.field}: ${violation.message} (${violation.rule})`;
}

let catalog: Record<string, ReadonlyArray<{ id: string; value?: string }>> | null | undefined;

/** Microsoft Graph's app roles (spec/), so that a policy naming a role by value matches its id. */
function graphAppRoleCatalog() {
  if (catalog === undefined) {
    const file = join(PACKAGE_ROOT, "spec", "azure-api", "graph", "microsoft-graph-serviceprincipal.json");
    catalog = existsSync(file)
      ? {
          [MICROSOFT_GRAPH_APP_ID]: (
            JSON.parse(readFileSync(file, "utf8")) as { appRoles: Array<{ id: string; value?: string }> }
          ).appRoles,
        }
      : null;
  }
  return catalog ?? undefined;
}
