// What the API server does to ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
// objects on create and update: the v1 defaults (admissionregistration/v1/defaults.go) and the
// validation of pkg/apis/admissionregistration/validation (required fields, supported values,
// and every CEL expression compiled: one that does not compile is a 422, except one that only
// uses what this CEL engine lacks, which is stored and fails at admission per failurePolicy).
import type { Strategy } from "../api/resource-type.js";
import { validateQualifiedName } from "../api/validation.js";
import { type FieldError, fieldErrors } from "../errors.js";
import type { JsonObject } from "../json.js";
import { isObject } from "../json.js";
import { type CelResult, compilePolicy } from "./compile.js";
import type {
  BindingSpec,
  LabelSelectorObject,
  MatchResources,
  NamedRuleWithOperations,
  ParamRef,
  PolicySpec,
} from "./policy-types.js";

const FAILURE_POLICIES = ["Fail", "Ignore"];
const MATCH_POLICIES = ["Equivalent", "Exact"];
const OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
const SCOPES = ["*", "Cluster", "Namespaced"];
const REASONS = ["Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized"];
const ACTIONS = ["Audit", "Deny", "Warn"];
const CEL_IDENTIFIER = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_AUDIT_ANNOTATIONS = 20;
const MAX_MATCH_CONDITIONS = 64;

function objectAt(parent: JsonObject, key: string): JsonObject {
  if (!isObject(parent[key])) parent[key] = {};
  return parent[key] as JsonObject;
}

/** SetDefaults_MatchResources and SetDefaults_Rule. */
function defaultMatchResources(match: JsonObject): void {
  match.matchPolicy ??= "Equivalent";
  match.namespaceSelector ??= {};
  match.objectSelector ??= {};
  for (const list of ["resourceRules", "excludeResourceRules"]) {
    const rules = match[list];
    if (!Array.isArray(rules)) continue;
    for (const rule of rules) if (isObject(rule)) rule.scope ??= "*";
  }
}

function defaultPolicy(policy: JsonObject): void {
  const spec = objectAt(policy, "spec");
  spec.failurePolicy ??= "Fail";
  if (isObject(spec.matchConstraints)) defaultMatchResources(spec.matchConstraints);
}

function defaultBinding(binding: JsonObject): void {
  const spec = objectAt(binding, "spec");
  if (isObject(spec.matchResources)) defaultMatchResources(spec.matchResources);
}

function hasWildcard(items: string[]): boolean {
  return items.includes("*");
}

function validateSelector(selector: LabelSelectorObject | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [i, requirement] of (selector?.matchExpressions ?? []).entries()) {
    const at = `${path}.matchExpressions[${i}]`;
    const values = requirement.values ?? [];
    if (requirement.operator === "In" || requirement.operator === "NotIn") {
      if (values.length === 0) {
        errors.push(
          fieldErrors.required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"),
        );
      }
    } else if (requirement.operator === "Exists" || requirement.operator === "DoesNotExist") {
      if (values.length > 0) {
        errors.push(
          fieldErrors.forbidden(
            `${at}.values`,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
    } else {
      errors.push(
        fieldErrors.invalid(`${at}.operator`, requirement.operator, "not a valid selector operator"),
      );
    }
  }
  return errors;
}

function validateRule(rule: NamedRuleWithOperations, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const operations = rule.operations ?? [];
  if (operations.length === 0) errors.push(fieldErrors.required(`${path}.operations`));
  if (operations.length > 1 && hasWildcard(operations)) {
    errors.push(
      fieldErrors.invalid(
        `${path}.operations`,
        operations,
        "if '*' is present, must not specify other operations",
      ),
    );
  }
  for (const [i, operation] of operations.entries()) {
    if (!OPERATIONS.includes(operation)) {
      errors.push(fieldErrors.notSupported(`${path}.operations[${i}]`, operation, OPERATIONS));
    }
  }
  const lists: [keyof NamedRuleWithOperations, string][] = [
    ["apiGroups", "API groups"],
    ["apiVersions", "API versions"],
    ["resources", "resources"],
  ];
  for (const [field, words] of lists) {
    const items = (rule[field] as string[] | undefined) ?? [];
    if (items.length === 0) errors.push(fieldErrors.required(`${path}.${field}`));
    if (items.length > 1 && hasWildcard(items)) {
      errors.push(
        fieldErrors.invalid(`${path}.${field}`, items, `if '*' is present, must not specify other ${words}`),
      );
    }
    if (field === "apiGroups") continue;
    for (const [i, item] of items.entries())
      if (item === "") errors.push(fieldErrors.required(`${path}.${field}[${i}]`));
  }
  if (rule.scope !== undefined && !SCOPES.includes(rule.scope)) {
    errors.push(fieldErrors.notSupported(`${path}.scope`, rule.scope, SCOPES));
  }
  const names = new Set<string>();
  for (const [i, name] of (rule.resourceNames ?? []).entries()) {
    if (names.has(name)) errors.push(fieldErrors.duplicate(`${path}.resourceNames[${i}]`, name));
    names.add(name);
  }
  return errors;
}

function validateMatchResources(match: MatchResources | undefined, path: string): FieldError[] {
  if (!match) return [];
  const errors: FieldError[] = [];
  if (match.matchPolicy === undefined) errors.push(fieldErrors.required(`${path}.matchPolicy`));
  else if (!MATCH_POLICIES.includes(match.matchPolicy)) {
    errors.push(fieldErrors.notSupported(`${path}.matchPolicy`, match.matchPolicy, MATCH_POLICIES));
  }
  errors.push(...validateSelector(match.namespaceSelector, `${path}.namespaceSelector`));
  errors.push(...validateSelector(match.objectSelector, `${path}.objectSelector`));
  for (const [i, rule] of (match.resourceRules ?? []).entries()) {
    errors.push(...validateRule(rule, `${path}.resourceRules[${i}]`));
  }
  for (const [i, rule] of (match.excludeResourceRules ?? []).entries()) {
    errors.push(...validateRule(rule, `${path}.excludeResourceRules[${i}]`));
  }
  return errors;
}

/** A compile error is a 422 unless it only stems from what this engine lacks. */
function expressionErrors(result: CelResult, path: string): FieldError[] {
  if (result.compiled || result.unsupported) return [];
  return [fieldErrors.invalid(path, result.source, result.error)];
}

function validatePolicySpec(policyName: string, spec: PolicySpec): FieldError[] {
  const errors: FieldError[] = [];
  if (spec.failurePolicy === undefined) errors.push(fieldErrors.required("spec.failurePolicy"));
  else if (!FAILURE_POLICIES.includes(spec.failurePolicy)) {
    errors.push(fieldErrors.notSupported("spec.failurePolicy", spec.failurePolicy, FAILURE_POLICIES));
  }
  if (spec.paramKind) {
    if (!spec.paramKind.apiVersion) errors.push(fieldErrors.required("spec.paramKind.apiVersion"));
    if (!spec.paramKind.kind) errors.push(fieldErrors.required("spec.paramKind.kind"));
  }
  if (!spec.matchConstraints) {
    errors.push(fieldErrors.required("spec.matchConstraints"));
  } else {
    errors.push(...validateMatchResources(spec.matchConstraints, "spec.matchConstraints"));
    if ((spec.matchConstraints.resourceRules ?? []).length === 0) {
      errors.push(fieldErrors.required("spec.matchConstraints.resourceRules"));
    }
  }
  const compiled = compilePolicy(spec);
  const conditions = spec.matchConditions ?? [];
  if (conditions.length > MAX_MATCH_CONDITIONS) {
    errors.push({
      type: "FieldValueTooMany",
      field: "spec.matchConditions",
      message: `Too many: ${conditions.length}: must have at most ${MAX_MATCH_CONDITIONS} items`,
    });
  }
  const conditionNames = new Set<string>();
  for (const [i, condition] of conditions.entries()) {
    const path = `spec.matchConditions[${i}]`;
    if (condition.expression?.trim())
      errors.push(...expressionErrors(compiled.matchConditions[i]!.result, `${path}.expression`));
    else errors.push(fieldErrors.required(`${path}.expression`));
    if (!condition.name) errors.push(fieldErrors.required(`${path}.name`));
    else {
      errors.push(...validateQualifiedName(condition.name, `${path}.name`));
      if (conditionNames.has(condition.name))
        errors.push(fieldErrors.duplicate(`${path}.name`, condition.name));
      conditionNames.add(condition.name);
    }
  }
  for (const [i, variable] of (spec.variables ?? []).entries()) {
    const path = `spec.variables[${i}]`;
    if (!variable.name?.trim()) errors.push(fieldErrors.required(`${path}.name`, "name is not specified"));
    else if (!CEL_IDENTIFIER.test(variable.name)) {
      errors.push(fieldErrors.invalid(`${path}.name`, variable.name, "name is not a valid CEL identifier"));
    }
    if (!variable.expression?.trim())
      errors.push(fieldErrors.required(`${path}.expression`, "expression is not specified"));
    else errors.push(...expressionErrors(compiled.variables[i]!.result, `${path}.expression`));
  }
  const validations = spec.validations ?? [];
  const annotations = spec.auditAnnotations ?? [];
  if (validations.length === 0 && annotations.length === 0) {
    const detail = "validations or auditAnnotations must contain at least one item";
    errors.push(
      fieldErrors.required("spec.validations", detail),
      fieldErrors.required("spec.auditAnnotations", detail),
    );
  }
  for (const [i, validation] of validations.entries()) {
    const path = `spec.validations[${i}]`;
    const compiledValidation = compiled.validations[i]!;
    if (!validation.expression?.trim())
      errors.push(fieldErrors.required(`${path}.expression`, "expression is not specified"));
    else errors.push(...expressionErrors(compiledValidation.expression, `${path}.expression`));
    const messageExpression = validation.messageExpression ?? "";
    if (messageExpression !== "" && messageExpression.trim() === "") {
      errors.push(
        fieldErrors.invalid(`${path}.messageExpression`, messageExpression, "must be non-empty if specified"),
      );
    } else if (compiledValidation.messageExpression) {
      errors.push(...expressionErrors(compiledValidation.messageExpression, `${path}.messageExpression`));
    }
    const message = validation.message ?? "";
    if (message !== "" && message.trim() === "") {
      errors.push(fieldErrors.invalid(`${path}.message`, message, "message must be non-empty if specified"));
    } else if (/[\n\r]/.test(message.trim())) {
      errors.push(fieldErrors.invalid(`${path}.message`, message, "message must not contain line breaks"));
    }
    if (validation.reason !== undefined && !REASONS.includes(validation.reason)) {
      errors.push(fieldErrors.notSupported(`${path}.reason`, validation.reason, REASONS));
    }
  }
  if (annotations.length > MAX_AUDIT_ANNOTATIONS) {
    errors.push(
      fieldErrors.invalid(
        "spec.auditAnnotations",
        annotations,
        `must not have more than ${MAX_AUDIT_ANNOTATIONS} auditAnnotations`,
      ),
    );
  }
  const keys = new Set<string>();
  for (const [i, annotation] of annotations.entries()) {
    const path = `spec.auditAnnotations[${i}]`;
    errors.push(...validateQualifiedName(`${policyName}/${annotation.key}`, `${path}.key`));
    if (!annotation.valueExpression?.trim()) {
      errors.push(fieldErrors.required(`${path}.valueExpression`, "valueExpression is not specified"));
    } else {
      errors.push(...expressionErrors(compiled.auditAnnotations[i]!.result, `${path}.valueExpression`));
    }
    if (keys.has(annotation.key)) errors.push(fieldErrors.duplicate(`${path}.key`, annotation.key));
    keys.add(annotation.key);
  }
  return errors;
}

function validateParamRef(paramRef: ParamRef | undefined, path: string): FieldError[] {
  if (!paramRef) return [];
  const errors: FieldError[] = [];
  if (paramRef.name && paramRef.selector) {
    errors.push(
      fieldErrors.forbidden(`${path}.name`, "name and selector are mutually exclusive"),
      fieldErrors.forbidden(`${path}.selector`, "name and selector are mutually exclusive"),
    );
  }
  errors.push(...validateSelector(paramRef.selector, `${path}.selector`));
  if (!paramRef.name && !paramRef.selector) {
    errors.push(fieldErrors.required(path, "one of name or selector must be specified"));
  }
  if (!paramRef.parameterNotFoundAction) errors.push(fieldErrors.required(`${path}.parameterNotFoundAction`));
  else if (!["Deny", "Allow"].includes(paramRef.parameterNotFoundAction)) {
    errors.push(
      fieldErrors.notSupported(`${path}.parameterNotFoundAction`, paramRef.parameterNotFoundAction, [
        "Deny",
        "Allow",
      ]),
    );
  }
  return errors;
}

function validateBindingSpec(spec: BindingSpec): FieldError[] {
  const errors: FieldError[] = [];
  if (!spec.policyName) errors.push(fieldErrors.required("spec.policyName"));
  else if (spec.policyName.length > 253 || !DNS_SUBDOMAIN.test(spec.policyName)) {
    errors.push(
      fieldErrors.invalid(
        "spec.policyName",
        spec.policyName,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  }
  errors.push(...validateParamRef(spec.paramRef, "spec.paramRef"));
  // "matchResouces" is upstream's spelling of the path.
  errors.push(...validateMatchResources(spec.matchResources, "spec.matchResouces"));
  const actions = spec.validationActions ?? [];
  const seen = new Set<string>();
  for (const [i, action] of actions.entries()) {
    if (!ACTIONS.includes(action))
      errors.push(fieldErrors.notSupported(`spec.validationActions[${i}]`, action, ACTIONS));
    if (seen.has(action)) errors.push(fieldErrors.duplicate(`spec.validationActions[${i}]`, action));
    seen.add(action);
  }
  if (seen.has("Deny") && seen.has("Warn")) {
    errors.push(
      fieldErrors.invalid(
        "spec.validationActions",
        actions,
        "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
      ),
    );
  }
  if (seen.size === 0)
    errors.push(fieldErrors.required("spec.validationActions", "at least one validation action is required"));
  return errors;
}

function specOf<T>(object: JsonObject): T {
  return (isObject(object.spec) ? object.spec : {}) as T;
}

function nameOf(object: JsonObject): string {
  return isObject(object.metadata) ? String(object.metadata.name ?? "") : "";
}

export const validatingAdmissionPolicyStrategy: Strategy = {
  prepareForCreate: defaultPolicy,
  prepareForUpdate: defaultPolicy,
  validate: (policy) => validatePolicySpec(nameOf(policy), specOf<PolicySpec>(policy)),
};

export const validatingAdmissionPolicyBindingStrategy: Strategy = {
  prepareForCreate: defaultBinding,
  prepareForUpdate: defaultBinding,
  validate: (binding) => validateBindingSpec(specOf<BindingSpec>(binding)),
};
