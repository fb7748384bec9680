// Which requests a policy or binding matches (admission/plugin/policy/matching/matching.go with
// webhook/predicates/rules, namespace and object): namespaceSelector, objectSelector,
// excludeResourceRules, resourceRules with their resourceNames, and matchPolicy Equivalent,
// which also tries the other versions of the resource (and resources sharing its storage).
import type { JsonObject } from "../json.js";
import { isObject } from "../json.js";
import { type LabelRequirement, matchesLabels } from "../selectors.js";
import type { AdmissionOperation } from "./attributes.js";
import type { LabelSelectorObject, MatchResources, NamedRuleWithOperations } from "./policy-types.js";

export interface ResourceRef {
  group: string;
  version: string;
  resource: string;
}

export interface KindRef {
  group: string;
  version: string;
  kind: string;
}

export interface Equivalent {
  resource: ResourceRef;
  kind: KindRef;
}

export interface MatchRequest {
  operation: AdmissionOperation;
  resource: ResourceRef;
  kind: KindRef;
  subresource: string;
  /** Admission's namespace: "" for cluster-scoped objects, the namespace's own name for a namespace (except on create). */
  namespace: string;
  name: string;
  object?: JsonObject;
  oldObject?: JsonObject;
  /** The labels of a namespace, undefined when it does not exist. */
  namespaceLabels(name: string): Record<string, string> | undefined;
  /** The request's resource in the other versions and groups that store it. */
  equivalents(): Equivalent[];
}

/** metav1.LabelSelector as requirements (LabelSelectorAsSelector). */
export function selectorRequirements(selector: LabelSelectorObject | undefined): LabelRequirement[] {
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    requirements.push({ key, operator: "in", values: [value] });
  }
  const operators: Record<string, LabelRequirement["operator"]> = {
    In: "in",
    NotIn: "notin",
    Exists: "exists",
    DoesNotExist: "!",
  };
  for (const expression of selector?.matchExpressions ?? []) {
    const operator = operators[expression.operator];
    if (operator) requirements.push({ key: expression.key, operator, values: expression.values ?? [] });
  }
  return requirements;
}

function labelsOf(object: JsonObject | undefined): Record<string, string> | undefined {
  const metadata = object?.metadata;
  return isObject(metadata) && isObject(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
}

function isNamespaceResource(resource: ResourceRef): boolean {
  return resource.group === "" && resource.version === "v1" && resource.resource === "namespaces";
}

function matchesNamespaceSelector(selector: LabelSelectorObject | undefined, request: MatchRequest): boolean {
  if (request.namespace === "" && request.resource.resource !== "namespaces") return true;
  const requirements = selectorRequirements(selector);
  if (requirements.length === 0) return true;
  const ownLabels =
    request.resource.resource === "namespaces" &&
    request.subresource === "" &&
    (request.operation === "CREATE" || request.operation === "UPDATE");
  const labels = ownLabels ? labelsOf(request.object) : request.namespaceLabels(request.namespace);
  return matchesLabels(requirements, labels);
}

function matchesObjectSelector(selector: LabelSelectorObject | undefined, request: MatchRequest): boolean {
  const requirements = selectorRequirements(selector);
  if (requirements.length === 0) return true;
  const matches = (object: JsonObject | undefined) =>
    object !== undefined && matchesLabels(requirements, labelsOf(object));
  return matches(request.object) || matches(request.oldObject);
}

function exactOrWildcard(items: string[] | undefined, requested: string): boolean {
  return (items ?? []).some((item) => item === "*" || item === requested);
}

function matchesScope(scope: string | undefined, request: MatchRequest, resource: ResourceRef): boolean {
  switch (scope ?? "*") {
    case "*":
      return true;
    case "Namespaced":
      return !isNamespaceResource(resource) && request.namespace !== "";
    case "Cluster":
      return isNamespaceResource(resource) || request.namespace === "";
    default:
      return false;
  }
}

function matchesRule(rule: NamedRuleWithOperations, request: MatchRequest, resource: ResourceRef): boolean {
  const operations = rule.operations ?? [];
  if (!operations.includes("*") && !operations.includes(request.operation)) return false;
  if (!matchesScope(rule.scope, request, resource)) return false;
  if (!exactOrWildcard(rule.apiGroups, resource.group)) return false;
  if (!exactOrWildcard(rule.apiVersions, resource.version)) return false;
  const resourceMatch = (rule.resources ?? []).some((entry) => {
    const [res = "", sub = ""] = entry.split(/\/(.*)/s);
    return (res === "*" || res === resource.resource) && (sub === "*" || sub === request.subresource);
  });
  if (!resourceMatch) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(request.name);
}

/** The resource and kind a rule list matches the request as, or undefined. */
function matchResourceRules(
  rules: NamedRuleWithOperations[] | undefined,
  matchPolicy: MatchResources["matchPolicy"],
  request: MatchRequest,
): Equivalent | undefined {
  for (const rule of rules ?? []) {
    if (matchesRule(rule, request, request.resource))
      return { resource: request.resource, kind: request.kind };
  }
  if (matchPolicy !== "Equivalent") return undefined;
  for (const rule of rules ?? []) {
    for (const equivalent of request.equivalents()) {
      if (matchesRule(rule, request, equivalent.resource)) return equivalent;
    }
  }
  return undefined;
}

/**
 * Whether the request is selected by a policy's matchConstraints or a binding's matchResources:
 * the resource and kind it matched as (the request's own, or an equivalent one), or undefined.
 */
export function matchRequest(match: MatchResources, request: MatchRequest): Equivalent | undefined {
  if (!matchesNamespaceSelector(match.namespaceSelector, request)) return undefined;
  if (!matchesObjectSelector(match.objectSelector, request)) return undefined;
  if (matchResourceRules(match.excludeResourceRules, match.matchPolicy, request)) return undefined;
  // A binding may restrict by selectors alone; policies must name resources (validation).
  if ((match.resourceRules ?? []).length === 0) return { resource: request.resource, kind: request.kind };
  return matchResourceRules(match.resourceRules, match.matchPolicy, request);
}
