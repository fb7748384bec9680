// IdentityPolicy evaluation: may this namespace use azid's Azure credential for this resource?
// Default deny; the allows of all selecting policies add up; an explicit deny wins; privileged
// roles need to be named in privilegedRoles. Every refusal names the rule that refused.
import { armIdKey, isWithin, parseScope } from "../api/arm-id.js";
import type { ManagedResource } from "../api/managed-resource.js";
import {
  type GraphAppRoleSpec,
  MICROSOFT_GRAPH_APP_ID,
  type RoleAssignmentSpec,
} from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type {
  GraphAppRoleRule,
  IdentityPolicy,
  LabelSelector,
  ScopeRule,
} from "../api/schemas/identity-policy.js";
import type { KeyVaultAccessPolicySpec } from "../api/schemas/key-vault.js";
import {
  type ClusterIssuer,
  sameIssuer,
  subjectMatches,
  subjectNamespace,
} from "../api/workload-identity.js";
import { keyVaultRefusal, vaultTenantRepairAllowed } from "./key-vault-policy.js";
import type { ObservedRoleDefinition } from "./observed.js";
import { didYouMean, type ResolvedRole, resolveRole, roleLabel, similarRoleNames } from "./roles.js";

export type PolicyItemList =
  | "roleAssignments"
  | "attachTo"
  | "graphAppRoles"
  | "federatedCredentials"
  | "keyVaultAccessPolicies";

export interface PolicyViolation {
  /** The field refused, e.g. `spec.roleAssignments[1]`, or `spec` for the resource as a whole. */
  field: string;
  /** Set when one item of a list is refused (the rest of the resource may still be evaluated). */
  item?: { list: PolicyItemList; index: number };
  /** The rule that refused: `IdentityPolicy/team-a deny[0]`, or `default deny`. */
  rule: string;
  message: string;
}

export interface PolicyDecision {
  allowed: boolean;
  violations: PolicyViolation[];
  /** Names of the IdentityPolicies that select the namespace. */
  policies: string[];
  /** Auto when a selecting policy asks for automatic tenant-move repair. */
  tenantMoveRemediation: "Auto" | "Manual";
  /** Declared vaults (armIdKey) whose tenant a tenant-move repair may reset (keyVaults allowTenantRepair). */
  vaultTenantRepair?: string[];
}

export interface PolicyContext {
  namespaceLabels: Readonly<Record<string, string>>;
  policies: readonly IdentityPolicy[];
  /** CustomRoles declared in the resource's namespace. */
  customRoles: readonly CustomRole[];
  /** Role definitions already known from Azure (custom roles declared elsewhere). */
  roleDefinitions?: readonly ObservedRoleDefinition[];
  /** App roles of APIs by lowercase application id, to match values with ids. */
  appRoles?: Readonly<Record<string, ReadonlyArray<{ id: string; value?: string }>>>;
  /**
   * The cluster's service-account issuer, which federated credentials may trust for the
   * resource's own namespace without a rule. Unknown: only policy rules allow an issuer.
   */
  serviceAccountIssuer?: ClusterIssuer;
}

export type GovernedResource = ManagedResource;

/** Kubernetes label selector semantics; `{}` selects everything. */
export function selectsNamespace(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, expression.key);
    const value = labels[expression.key];
    const values = expression.values ?? [];
    switch (expression.operator) {
      case "In":
        if (!present || !values.includes(value as string)) return false;
        break;
      case "NotIn":
        if (present && values.includes(value as string)) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
    }
  }
  return true;
}

/** Whether a scope falls under a rule (see ScopeRule.match). Unparseable scopes never match. */
export function scopeRuleMatches(rule: ScopeRule, scope: string): boolean {
  let parsed: ReturnType<typeof parseScope>;
  try {
    parsed = parseScope(scope);
  } catch {
    return false;
  }
  switch (rule.match ?? "Under") {
    case "Exact":
      return isWithin(scope, rule.scope) && isWithin(rule.scope, scope);
    case "Under":
      return isWithin(scope, rule.scope);
    case "ResourceGroupOnly":
      return (
        isWithin(scope, rule.scope) &&
        (parsed.kind === "resourceGroup" ||
          (parsed.kind === "resource" && parsed.resourceGroup !== undefined))
      );
  }
}

const policyName = (policy: IdentityPolicy) => `IdentityPolicy/${policy.metadata.name}`;

/** Does a list of role names/GUIDs/ids name this role? `wildcard` lets "*" count. */
function namesRole(list: readonly string[], role: ResolvedRole, wildcard: boolean): boolean {
  return list.some((entry) => {
    if (entry === "*") return wildcard;
    const text = entry.toLowerCase();
    if (role.names.some((name) => name.toLowerCase() === text)) return true;
    return role.guid !== undefined && (text === role.guid || text.endsWith(`/${role.guid}`));
  });
}

class Evaluation {
  readonly violations: PolicyViolation[] = [];
  constructor(
    readonly selecting: readonly IdentityPolicy[],
    readonly context: PolicyContext,
  ) {}

  refuse(field: string, rule: string, message: string, item?: PolicyViolation["item"]) {
    this.violations.push({ field, rule, message, ...(item ? { item } : {}) });
  }

  /**
   * Where identities (or custom roles) may live. Without a resource group the whole
   * subscription is meant, which only a rule without resourceGroups allows.
   */
  location(field: string, subscriptionId: string, resourceGroup: string | undefined, what: string) {
    const allowed = this.selecting.some((policy) =>
      (policy.spec.subscriptions ?? []).some(
        (rule) =>
          rule.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
          (rule.resourceGroups === undefined ||
            (resourceGroup !== undefined &&
              rule.resourceGroups.some((group) => group.toLowerCase() === resourceGroup.toLowerCase()))),
      ),
    );
    if (!allowed) {
      const where = resourceGroup
        ? `resource group ${resourceGroup} of subscription ${subscriptionId}`
        : `subscription ${subscriptionId}`;
      this.refuse(
        field,
        "default deny",
        `no IdentityPolicy selecting this namespace allows ${what} in ${where}`,
      );
    }
  }

  roleAssignment(spec: RoleAssignmentSpec, index: number) {
    const field = `spec.roleAssignments[${index}]`;
    const item = { list: "roleAssignments" as const, index };
    const role = resolveRole(spec, this.context.customRoles, this.context.roleDefinitions);
    // A customRoleRef to a CustomRole that does not exist (yet) grants nothing: the grant waits
    // with CustomRoleNotFound, and this policy judges the role once it exists.
    if (role.missing) return;
    const label = roleLabel(role);
    for (const policy of this.selecting) {
      for (const [ruleIndex, deny] of (policy.spec.deny ?? []).entries()) {
        if (!deny.roles && !deny.scopes) continue;
        const roleHit = deny.roles === undefined || namesRole(deny.roles, role, true);
        const scopeHit =
          deny.scopes === undefined || deny.scopes.some((rule) => scopeRuleMatches(rule, spec.scope));
        if (roleHit && scopeHit) {
          const why = deny.description ? `: ${deny.description}` : "";
          this.refuse(
            field,
            `${policyName(policy)} deny[${ruleIndex}]`,
            `granting ${label} at ${spec.scope} is denied${why}`,
            item,
          );
          return;
        }
      }
    }
    // Privileged (or of unknown permissions): only when a policy names it in privilegedRoles.
    const privileged = role.privileged !== false;
    const lifted =
      privileged &&
      this.selecting.some((policy) => namesRole(policy.spec.privilegedRoles ?? [], role, false));
    if (privileged && !lifted) {
      const similar = role.source === "azure" ? similarRoleNames(label, this.context.customRoles) : [];
      // A near miss of a known name is a typo: say so, rather than invite allowing it as privileged.
      const message =
        similar.length > 0
          ? `${label} is not a built-in role nor a CustomRole of this namespace${didYouMean(similar)}`
          : role.privileged === undefined
            ? `${label} is refused: its permissions are unknown (a role defined outside azid); an ` +
              "IdentityPolicy must name it in privilegedRoles to allow it"
            : `${label} is refused: it is privileged (its actions cover ` +
              "Microsoft.Authorization/roleAssignments/write); an IdentityPolicy must name it in privilegedRoles";
      this.refuse(field, similar.length > 0 ? "unknown role" : "privileged role", message, item);
      return;
    }
    // "*" never stands for a privileged role: roles[] must name it too.
    const allowed = this.selecting.some((policy) =>
      (policy.spec.roles ?? []).some(
        (rule) =>
          namesRole(rule.roles, role, !privileged) &&
          rule.scopes.some((scopeRule) => scopeRuleMatches(scopeRule, spec.scope)),
      ),
    );
    if (!allowed) {
      this.refuse(
        field,
        "default deny",
        `no IdentityPolicy selecting this namespace allows ${label} at ${spec.scope}`,
        item,
      );
    }
  }

  attachTarget(resourceId: string, field: string, item: PolicyViolation["item"] | undefined, what: string) {
    for (const policy of this.selecting) {
      for (const [ruleIndex, deny] of (policy.spec.deny ?? []).entries()) {
        if (deny.attachTargets?.some((rule) => scopeRuleMatches(rule, resourceId))) {
          const why = deny.description ? `: ${deny.description}` : "";
          this.refuse(
            field,
            `${policyName(policy)} deny[${ruleIndex}]`,
            `${what} ${resourceId} is denied${why}`,
            item,
          );
          return;
        }
      }
    }
    const allowed = this.selecting.some((policy) =>
      (policy.spec.attachTargets ?? []).some((rule) => scopeRuleMatches(rule, resourceId)),
    );
    if (!allowed) {
      this.refuse(
        field,
        "default deny",
        `no IdentityPolicy selecting this namespace allows ${what} ${resourceId}`,
        item,
      );
    }
  }

  graphAppRole(spec: GraphAppRoleSpec, index: number) {
    const field = `spec.graphAppRoles[${index}]`;
    const item = { list: "graphAppRoles" as const, index };
    const names = this.appRoleNames(spec);
    const matches = (rule: GraphAppRoleRule) =>
      rule.resourceAppId.toLowerCase() === spec.resourceAppId.toLowerCase() &&
      rule.appRoles.some((entry) => names.has(entry.toLowerCase()));
    for (const policy of this.selecting) {
      for (const [ruleIndex, deny] of (policy.spec.deny ?? []).entries()) {
        if (deny.graphAppRoles?.some(matches)) {
          const why = deny.description ? `: ${deny.description}` : "";
          this.refuse(
            field,
            `${policyName(policy)} deny[${ruleIndex}]`,
            `app role ${spec.appRole} is denied${why}`,
            item,
          );
          return;
        }
      }
    }
    if (!this.selecting.some((policy) => (policy.spec.graphAppRoles ?? []).some(matches))) {
      this.refuse(
        field,
        "default deny",
        `no IdentityPolicy selecting this namespace allows app role ${spec.appRole} of ${spec.resourceAppId}`,
        item,
      );
    }
  }

  /**
   * Whom a federated credential lets act as the identity. The cluster's own issuer: only
   * ServiceAccounts of the resource's namespace, whatever a policy says (no namespace gains
   * another's ServiceAccounts). Any other issuer: only subjects a selecting policy's rule for
   * that issuer matches.
   */
  federatedCredential(credential: { issuer: string; subject: string }, index: number, namespace: string) {
    const field = `spec.federatedCredentials[${index}]`;
    const item = { list: "federatedCredentials" as const, index };
    const { issuer, subject } = credential;
    const cluster = this.context.serviceAccountIssuer;
    if (cluster?.url !== undefined && sameIssuer(issuer, cluster.url)) {
      const other = subjectNamespace(subject);
      if (other === namespace) return;
      this.refuse(
        field,
        "cluster issuer",
        other === undefined
          ? `the cluster's issuer ${cluster.url} only issues system:serviceaccount:${namespace}:NAME subjects to this namespace; ${subject} is not one`
          : `${subject} is a ServiceAccount of namespace ${other}: the cluster's issuer is only trusted for ServiceAccounts of ${namespace} (declare the identity in ${other} instead)`,
        item,
      );
      return;
    }
    const rules = this.selecting.flatMap((policy) =>
      (policy.spec.federatedCredentials ?? [])
        .filter((rule) => sameIssuer(rule.issuer, issuer))
        .map((rule) => ({ policy, rule })),
    );
    if (rules.length === 0) {
      const unknown =
        cluster?.url === undefined
          ? ` (the cluster's own issuer is unknown: ${cluster?.problem ?? "not resolved"})`
          : ` (the cluster's issuer is ${cluster.url})`;
      this.refuse(
        field,
        "default deny",
        `no IdentityPolicy selecting this namespace allows the issuer ${issuer}${unknown}; an IdentityPolicy must list it in federatedCredentials`,
        item,
      );
      return;
    }
    if (!rules.some(({ rule }) => rule.subjects.some((pattern) => subjectMatches(pattern, subject)))) {
      const named = rules.map(({ policy }) => policyName(policy)).join(", ");
      this.refuse(
        field,
        "default deny",
        `subject ${subject} of issuer ${issuer} matches no subject pattern of ${named}`,
        item,
      );
    }
  }

  /** The declared app role by value and by id, when the catalog tells one from the other. */
  private appRoleNames(spec: GraphAppRoleSpec): Set<string> {
    const names = new Set([spec.appRole.toLowerCase()]);
    const catalog = this.context.appRoles?.[spec.resourceAppId.toLowerCase()] ?? [];
    const entry = catalog.find(
      (role) =>
        role.id.toLowerCase() === spec.appRole.toLowerCase() ||
        role.value?.toLowerCase() === spec.appRole.toLowerCase(),
    );
    if (entry) {
      names.add(entry.id.toLowerCase());
      if (entry.value) names.add(entry.value.toLowerCase());
    }
    return names;
  }
}

export function evaluatePolicy(resource: GovernedResource, context: PolicyContext): PolicyDecision {
  const selecting = context.policies.filter((policy) =>
    selectsNamespace(policy.spec.namespaceSelector, context.namespaceLabels),
  );
  const evaluation = new Evaluation(selecting, context);
  const namespace = resource.metadata.namespace ?? "default";
  if (selecting.length === 0) {
    evaluation.refuse(
      "metadata.namespace",
      "default deny",
      `no IdentityPolicy selects namespace ${namespace}`,
    );
  } else {
    evaluateResource(resource, evaluation);
  }
  const violations = evaluation.violations;
  return {
    allowed: violations.length === 0,
    violations,
    policies: selecting.map((policy) => policy.metadata.name),
    tenantMoveRemediation: selecting.some((policy) => policy.spec.tenantMoveRemediation === "Auto")
      ? "Auto"
      : "Manual",
    vaultTenantRepair: repairableVaults(resource, selecting),
  };
}

/** The declared vaults whose tenant a repair may reset, by a keyVaults rule's allowTenantRepair. */
function repairableVaults(resource: GovernedResource, selecting: readonly IdentityPolicy[]): string[] {
  if (resource.kind === "CustomRole") return [];
  return (resource.spec.keyVaultAccessPolicies ?? [])
    .filter((item) => vaultTenantRepairAllowed(selecting, item.vaultId, scopeRuleMatches))
    .map((item) => armIdKey(item.vaultId));
}

function evaluateResource(resource: GovernedResource, evaluation: Evaluation) {
  switch (resource.kind) {
    case "UserAssignedIdentity": {
      const { spec } = resource;
      evaluation.location("spec.resourceGroup", spec.subscriptionId, spec.resourceGroup, "identities");
      evaluateGrants(spec, evaluation);
      const namespace = resource.metadata.namespace ?? "default";
      for (const [index, credential] of (spec.federatedCredentials ?? []).entries()) {
        evaluation.federatedCredential(credential, index, namespace);
      }
      for (const [index, target] of (spec.attachTo ?? []).entries()) {
        evaluation.attachTarget(
          target,
          `spec.attachTo[${index}]`,
          { list: "attachTo", index },
          "attaching to",
        );
      }
      return;
    }
    case "SystemAssignedIdentity": {
      const { spec } = resource;
      evaluation.attachTarget(
        spec.resourceId,
        "spec.resourceId",
        undefined,
        "enabling a system-assigned identity on",
      );
      evaluateGrants(spec, evaluation);
      return;
    }
    case "CustomRole": {
      const { spec } = resource;
      if (!evaluation.selecting.some((policy) => policy.spec.allowCustomRoles === true)) {
        evaluation.refuse(
          "spec",
          "default deny",
          "no IdentityPolicy selecting this namespace allows CustomRoles",
        );
        return;
      }
      for (const [index, scope] of spec.assignableScopes.entries()) {
        const parsed = safeScope(scope);
        const group = parsed && "resourceGroup" in parsed ? parsed.resourceGroup : undefined;
        evaluation.location(
          `spec.assignableScopes[${index}]`,
          spec.subscriptionId,
          group,
          "custom roles assignable",
        );
      }
      return;
    }
  }
}

function evaluateGrants(
  spec: {
    roleAssignments?: RoleAssignmentSpec[];
    graphAppRoles?: GraphAppRoleSpec[];
    keyVaultAccessPolicies?: KeyVaultAccessPolicySpec[];
  },
  evaluation: Evaluation,
) {
  // Key Vault access policies (issue 14): rules of their own in key-vault-policy.ts.
  for (const [index, item] of (spec.keyVaultAccessPolicies ?? []).entries()) {
    const refusal = keyVaultRefusal(evaluation.selecting, item, scopeRuleMatches);
    if (refusal) {
      evaluation.refuse(`spec.keyVaultAccessPolicies[${index}]`, refusal.rule, refusal.message, {
        list: "keyVaultAccessPolicies",
        index,
      });
    }
  }
  for (const [index, assignment] of (spec.roleAssignments ?? []).entries())
    evaluation.roleAssignment(assignment, index);
  for (const [index, role] of (spec.graphAppRoles ?? []).entries()) {
    evaluation.graphAppRole({ ...role, resourceAppId: role.resourceAppId ?? MICROSOFT_GRAPH_APP_ID }, index);
  }
}

function safeScope(scope: string) {
  try {
    return parseScope(scope);
  } catch {
    return undefined;
  }
}

/** The violations that refuse the resource as a whole (not a single item). */
export function resourceViolations(decision: PolicyDecision): PolicyViolation[] {
  return decision.violations.filter((violation) => violation.item === undefined);
}

/** The violation refusing one item, if any. */
export function itemViolation(
  decision: PolicyDecision,
  list: PolicyItemList,
  index: number,
): PolicyViolation | undefined {
  return decision.violations.find(
    (violation) => violation.item?.list === list && violation.item.index === index,
  );
}
