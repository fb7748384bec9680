// The ValidatingAdmissionPolicy admission plugin (admission/plugin/policy/validating/dispatcher.go
// with policy/generic): every write, after validation, is checked against each policy whose
// matchConstraints select it and each of its bindings whose matchResources do, once per param.
// A failed validation denies (Deny), adds a Warning header (Warn) or an audit annotation (Audit),
// as the binding's validationActions say; the first denial is the answer.
import type { Registry } from "../api/registry.js";
import type { ResourceType, ResourceVersion } from "../api/resource-type.js";
import { ApiError, qualifiedResource } from "../errors.js";
import type { JsonObject } from "../json.js";
import { isObject } from "../json.js";
import { metaOf } from "../objects.js";
import { fromStorage } from "../rest/scope.js";
import { toCelValue } from "../schema/index.js";
import type { Storage } from "../storage/storage.js";
import type { AdmissionAttributes, ValidatingAdmission } from "./attributes.js";
import { type AdmissionRequestJson, requestValue } from "./cel-environment.js";
import { type CompiledPolicy, compilePolicy } from "./compile.js";
import { type Equivalent, type MatchRequest, matchRequest } from "./matching.js";
import { collectParams, type ParamSource, PolicyConfigurationError, resolveParamKind } from "./params.js";
import {
  ADMISSION_GROUP,
  BINDING_STORE,
  POLICY_STORE,
  type ValidatingAdmissionPolicy,
  type ValidatingAdmissionPolicyBinding,
} from "./policy-types.js";
import { type Activation, type ValidateResult, validatePolicy } from "./validator.js";

/** What a real API server writes to its audit log for a request: the admission's annotations. */
export interface AuditRecord {
  operation: string;
  /** group/version/resource, with "/subresource" when there is one. */
  resource: string;
  namespace: string;
  name: string;
  username: string;
  annotations: Record<string, string>;
}

interface Denial {
  policy: string;
  binding?: string;
  message: string;
  reason?: string;
}

const VALIDATION_FAILURE = "validation.policy.admission.k8s.io/validation_failure";
const AUDIT_VALUE_LIMIT = 10 * 1024;
const AUDIT_RECORDS_KEPT = 1000;
const POLICY_RESOURCES = new Set([
  "validatingadmissionpolicies",
  "validatingadmissionpolicybindings",
  "mutatingadmissionpolicies",
  "mutatingadmissionpolicybindings",
]);

/** Policies never judge the policy kinds themselves (generic/plugin.go isPolicyResource). */
function isPolicyResource(type: ResourceType): boolean {
  return type.group === ADMISSION_GROUP && POLICY_RESOURCES.has(type.resource);
}

function reasonToCode(reason: string): number {
  switch (reason) {
    case "Forbidden":
      return 403;
    case "Unauthorized":
      return 401;
    case "RequestEntityTooLarge":
      return 413;
    default:
      return 422;
  }
}

function byName<T extends { metadata: { name: string } }>(a: T, b: T): number {
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** attributes.AddAnnotation: a key keeps its first value. */
function addAnnotation(annotations: Record<string, string>, key: string, value: string): void {
  if (!Object.hasOwn(annotations, key)) annotations[key] = value;
}

/** What the policies made of one request: denials (the first is the answer), warnings, audit annotations. */
interface Outcome {
  denials: Denial[];
  warnings: string[];
  annotations: Record<string, string>;
}

/** Turns one evaluation's failed validations into the binding's actions; gathers audit annotation values. */
function actOn(
  result: ValidateResult,
  policyName: string,
  binding: ValidatingAdmissionPolicyBinding,
  outcome: Outcome,
  published: Map<string, string[]>,
): void {
  const actions = binding.spec.validationActions ?? [];
  const bindingName = binding.metadata.name;
  for (const [index, decision] of result.decisions.entries()) {
    if (decision.action !== "deny") continue;
    const { message, reason } = decision;
    if (actions.includes("Deny"))
      outcome.denials.push({ policy: policyName, binding: bindingName, message, reason });
    if (actions.includes("Warn")) {
      outcome.warnings.push(
        `Validation failed for ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}': ${message}`,
      );
    }
    if (actions.includes("Audit")) {
      const failure = {
        message,
        policy: policyName,
        binding: bindingName,
        expressionIndex: index,
        validationActions: actions,
      };
      addAnnotation(outcome.annotations, VALIDATION_FAILURE, JSON.stringify([failure]));
    }
  }
  for (const annotation of result.auditAnnotations) {
    if (annotation.action === "publish") {
      const values = published.get(annotation.key) ?? [];
      const value = annotation.value.slice(0, AUDIT_VALUE_LIMIT);
      if (!values.includes(value)) published.set(annotation.key, [...values, value]);
    } else if (annotation.action === "error") {
      outcome.denials.push({ policy: policyName, binding: bindingName, message: annotation.error });
    }
  }
}

export class PolicyAdmission implements ValidatingAdmission {
  private readonly compiled = new Map<string, { rv: number; policy: CompiledPolicy }>();
  private readonly audit: AuditRecord[] = [];

  constructor(
    private readonly storage: Storage,
    private readonly registry: Registry,
  ) {}

  /** The audit annotations of the latest requests that had any, oldest first. */
  auditRecords(): AuditRecord[] {
    return [...this.audit];
  }

  validate(attributes: AdmissionAttributes): void {
    if (isPolicyResource(attributes.scope.type)) return;
    const bindingStore = this.storage.existingStore(BINDING_STORE);
    if (!bindingStore || bindingStore.size === 0) return;
    const bindingsByPolicy = new Map<string, ValidatingAdmissionPolicyBinding[]>();
    for (const stored of bindingStore.scan()) {
      const binding = stored.object as unknown as ValidatingAdmissionPolicyBinding;
      const name = binding.spec.policyName ?? "";
      bindingsByPolicy.set(name, [...(bindingsByPolicy.get(name) ?? []), binding]);
    }
    const request = this.matchRequest(attributes);
    const outcome: Outcome = { denials: [], warnings: attributes.options.warnings, annotations: {} };
    for (const policyName of [...bindingsByPolicy.keys()].sort()) {
      const stored = this.storage.existingStore(POLICY_STORE)?.get(policyName);
      if (!stored) {
        this.compiled.delete(policyName);
        continue;
      }
      const policy = stored.object as unknown as ValidatingAdmissionPolicy;
      const bindings = bindingsByPolicy.get(policyName)!.sort(byName);
      this.dispatchPolicy(attributes, request, policy, stored.rv, bindings, outcome);
    }
    if (Object.keys(outcome.annotations).length > 0) this.record(attributes, request, outcome.annotations);
    const denial = outcome.denials[0];
    if (denial) throw denialError(attributes, denial);
  }

  private dispatchPolicy(
    attributes: AdmissionAttributes,
    request: MatchRequest,
    policy: ValidatingAdmissionPolicy,
    rv: number,
    bindings: ValidatingAdmissionPolicyBinding[],
    outcome: Outcome,
  ): void {
    const { spec } = policy;
    const policyName = policy.metadata.name;
    const failurePolicy = spec.failurePolicy === "Ignore" ? "Ignore" : "Fail";
    const configurationError = (error: unknown, binding?: string): void => {
      if (!(error instanceof PolicyConfigurationError)) throw error;
      if (failurePolicy === "Ignore") return;
      const what = binding === undefined ? "policy" : "binding";
      outcome.denials.push({
        policy: policyName,
        binding,
        message: `failed to configure ${what}: ${error.message}`,
      });
    };
    const matched = spec.matchConstraints ? matchRequest(spec.matchConstraints, request) : undefined;
    if (!matched) return;
    let paramSource: ParamSource | undefined;
    try {
      paramSource = spec.paramKind ? resolveParamKind(this.registry, spec.paramKind) : undefined;
    } catch (error) {
      configurationError(error);
      return;
    }
    const compiled = this.compile(policy, rv);
    const published = new Map<string, string[]>();
    let inputs: Activation | undefined;
    for (const binding of bindings) {
      if (binding.spec.matchResources && !matchRequest(binding.spec.matchResources, request)) continue;
      let params: (JsonObject | null)[];
      try {
        params = collectParams(this.storage, paramSource, binding.spec.paramRef, request.namespace);
      } catch (error) {
        configurationError(error, binding.metadata.name);
        continue;
      }
      if (params.length === 0) continue;
      inputs ??= this.activation(attributes, request, matched);
      for (const param of params) {
        const result = validatePolicy(compiled, failurePolicy, {
          ...inputs,
          ...(spec.paramKind ? { params: toCelValue(param) } : {}),
        });
        actOn(result, policyName, binding, outcome, published);
      }
    }
    for (const [key, values] of published)
      addAnnotation(outcome.annotations, `${policyName}/${key}`, values.join(", "));
  }

  private compile(policy: ValidatingAdmissionPolicy, rv: number): CompiledPolicy {
    const cached = this.compiled.get(policy.metadata.name);
    if (cached?.rv === rv) return cached.policy;
    const compiled = compilePolicy(policy.spec);
    this.compiled.set(policy.metadata.name, { rv, policy: compiled });
    return compiled;
  }

  /** What matching needs to know about the request. */
  private matchRequest(attributes: AdmissionAttributes): MatchRequest {
    const { scope, operation } = attributes;
    const { type, version } = scope;
    const namespaces = this.storage.existingStore("/namespaces");
    return {
      operation,
      resource: { group: type.group, version: version.name, resource: type.resource },
      kind: { group: type.group, version: version.name, kind: type.kind },
      subresource: scope.subresource,
      namespace: admissionNamespace(attributes),
      name: attributes.name,
      object: attributes.object && fromStorage(scope, attributes.object),
      oldObject: attributes.oldObject && fromStorage(scope, attributes.oldObject),
      namespaceLabels: (name) => {
        const ns = namespaces?.get(name);
        return ns ? (metaOf(ns.object).labels ?? {}) : undefined;
      },
      equivalents: () => this.equivalents(type, version),
    };
  }

  /** The other versions of the resource, and the resources that share its storage (events). */
  private equivalents(type: ResourceType, version: ResourceVersion): Equivalent[] {
    const out: Equivalent[] = [];
    for (const other of this.registry.all()) {
      if (other.storeId !== type.storeId) continue;
      for (const v of other.versions) {
        if (other === type && v === version) continue;
        out.push({
          resource: { group: other.group, version: v.name, resource: other.resource },
          kind: { group: other.group, version: v.name, kind: other.kind },
        });
      }
    }
    return out;
  }

  /** The root variables, with the objects in the version the policy matched. */
  private activation(
    attributes: AdmissionAttributes,
    request: MatchRequest,
    matched: Equivalent,
  ): Activation {
    const served = this.registry.resolve(
      matched.resource.group,
      matched.resource.version,
      matched.resource.resource,
    );
    const inVersion = (object: JsonObject | undefined) =>
      object === undefined ? null : toCelValue(served ? fromStorage(served, object) : object);
    const requestJson: AdmissionRequestJson = {
      kind: matched.kind,
      resource: matched.resource,
      subResource: request.subresource,
      requestKind: request.kind,
      requestResource: request.resource,
      requestSubResource: request.subresource,
      name: attributes.name,
      namespace: request.namespace,
      operation: attributes.operation,
      userInfo: attributes.options.user,
      dryRun: attributes.options.dryRun,
      options: operationOptions(attributes),
    };
    return {
      object: inVersion(attributes.object),
      oldObject: inVersion(attributes.oldObject),
      request: requestValue(requestJson),
      namespaceObject: toCelValue(this.namespaceObject(attributes)),
    };
  }

  /** CreateNamespaceObject: the namespace of a namespaced request, with part of its metadata. */
  private namespaceObject(attributes: AdmissionAttributes): JsonObject | null {
    const { type } = attributes.scope;
    if (type.group === "" && type.kind === "Namespace") return null;
    if (attributes.namespace === "") return null;
    const ns = this.storage.existingStore("/namespaces")?.get(attributes.namespace)?.object;
    if (!ns) return null;
    const meta = metaOf(ns);
    const metadata: JsonObject = {};
    for (const field of NAMESPACE_METADATA) {
      const value = meta[field];
      if (value !== undefined) metadata[field] = value as JsonObject[string];
    }
    const out: JsonObject = { metadata };
    if (isObject(ns.spec)) out.spec = ns.spec;
    if (isObject(ns.status)) out.status = ns.status;
    return out;
  }

  private record(
    attributes: AdmissionAttributes,
    request: MatchRequest,
    annotations: Record<string, string>,
  ): void {
    const { resource } = request;
    this.audit.push({
      operation: attributes.operation,
      resource: `${resource.group}/${resource.version}/${resource.resource}${request.subresource ? `/${request.subresource}` : ""}`,
      namespace: attributes.namespace,
      name: attributes.name,
      username: attributes.options.user.username,
      annotations,
    });
    if (this.audit.length > AUDIT_RECORDS_KEPT) this.audit.shift();
  }
}

const NAMESPACE_METADATA = [
  "name",
  "generateName",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "finalizers",
] as const;

/** A namespace's own requests carry its name as their namespace, except its creation. */
function admissionNamespace(attributes: AdmissionAttributes): string {
  const { type } = attributes.scope;
  if (type.group === "" && type.kind === "Namespace" && attributes.operation !== "CREATE")
    return attributes.name;
  return attributes.namespace;
}

const OPTIONS_KIND = {
  CREATE: "CreateOptions",
  UPDATE: "UpdateOptions",
  DELETE: "DeleteOptions",
  CONNECT: "",
};

/** request.options: the request's options; a create made by PUT or apply gets CreateOptions. */
function operationOptions(attributes: AdmissionAttributes): JsonObject {
  const given = attributes.options.requestOptions;
  const kind = OPTIONS_KIND[attributes.operation];
  if (given && (given.kind === kind || attributes.operation !== "CREATE")) return given;
  const options: JsonObject = { kind, apiVersion: "meta.k8s.io/v1" };
  if (attributes.options.dryRun) options.dryRun = ["All"];
  if (attributes.operation !== "DELETE") options.fieldManager = attributes.options.fieldManager;
  if (given?.fieldValidation !== undefined) options.fieldValidation = given.fieldValidation;
  return options;
}

/** admission.NewForbidden with the denial's reason and code, as the dispatcher rewrites it. */
function denialError(attributes: AdmissionAttributes, denial: Denial): ApiError {
  const message =
    denial.binding === undefined
      ? `ValidatingAdmissionPolicy '${denial.policy}' denied request: ${denial.message}`
      : `ValidatingAdmissionPolicy '${denial.policy}' with binding '${denial.binding}' denied request: ${denial.message}`;
  const { type } = attributes.scope;
  const resource = qualifiedResource({ group: type.group, resource: type.resource });
  const subject = attributes.name ? `${resource} "${attributes.name}"` : resource;
  const reason = denial.reason || "Invalid";
  const details: ApiError["details"] = { group: type.group, kind: type.resource, causes: [{ message }] };
  if (attributes.name) details!.name = attributes.name;
  return new ApiError(reasonToCode(reason), reason, `${subject} is forbidden: ${message}`, details);
}
