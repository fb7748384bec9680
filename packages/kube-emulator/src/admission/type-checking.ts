// The status of a ValidatingAdmissionPolicy's expressions (validating/typechecking.go, written by
// kube-controller-manager's validatingadmissionpolicy-status controller): each validation and
// message expression compiled with `object` typed by the schema of every kind the policy names
// (at most 10, without wildcards), and `params` by the paramKind's. Besides upstream's warnings,
// every expression this CEL engine cannot compile is reported, so that none fails silently.
import type { Environment } from "@marcbachmann/cel-js";
import { BUILTIN_COMPONENTS } from "../api/builtin-schemas.js";
import type { Registry } from "../api/registry.js";
import { type ResourceType, type ResourceVersion, versionOf } from "../api/resource-type.js";
import type { JsonSchemaProps } from "../schema/index.js";
import { TypeRegistry } from "../schema/index.js";
import type { Schema } from "../typed.js";
import type { PolicyTyping } from "./cel-environment.js";
import { type CelResult, type CompiledPolicy, compilePolicy } from "./compile.js";
import { resolveParamKind } from "./params.js";
import type { PolicySpec } from "./policy-types.js";

export interface ExpressionWarning {
  fieldRef: string;
  warning: string;
}

const MAX_TYPES_TO_CHECK = 10;

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

interface TypedKind {
  gvk: Gvk;
  type: ResourceType;
  version: ResourceVersion;
}

function gvkString(gvk: Gvk): string {
  return `${gvk.group}/${gvk.version}, Kind=${gvk.kind}`;
}

/** typesToCheck: the kinds of the rules' exact groups, versions and resources, sorted. */
function typesToCheck(registry: Registry, spec: PolicySpec): TypedKind[] {
  const found = new Map<string, TypedKind>();
  for (const rule of spec.matchConstraints?.resourceRules ?? []) {
    const groups = rule.apiGroups ?? [];
    const versions = rule.apiVersions ?? [];
    if (groups.some((g) => g.includes("*")) || versions.some((v) => v.includes("*"))) continue;
    const resources = (rule.resources ?? []).filter((r) => !/[*/]/.test(r));
    for (const group of [...groups].sort()) {
      for (const versionName of [...versions].sort()) {
        for (const resource of [...resources].sort()) {
          const type = registry.get(group, resource);
          const version = type && versionOf(type, versionName);
          if (!type || !version) continue;
          const gvk = { group, version: versionName, kind: type.kind };
          found.set(gvkString(gvk), { gvk, type, version });
          if (found.size === MAX_TYPES_TO_CHECK) return sortKinds([...found.values()]);
        }
      }
    }
  }
  return sortKinds([...found.values()]);
}

function sortKinds(kinds: TypedKind[]): TypedKind[] {
  const key = (k: TypedKind) => [k.gvk.group, k.gvk.version, k.gvk.kind];
  return kinds.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return 0;
  });
}

/** A built-in component with its $refs inlined; a recursive one stays untyped (invisible to CEL). */
function inlineComponent(name: string, seen: ReadonlySet<string> = new Set()): Schema {
  if (seen.has(name)) return {};
  const within = new Set(seen).add(name);
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value !== "object" || value === null) return value;
    const ref = (value as { $ref?: unknown }).$ref;
    if (typeof ref === "string") return inlineComponent(ref.replace("#/components/schemas/", ""), within);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve(BUILTIN_COMPONENTS[name] ?? {}) as Schema;
}

/** The schema a resolver would give for a kind: the built-in's, or the CRD's with TypeMeta and ObjectMeta. */
function schemaOf(kind: { version: ResourceVersion }): JsonSchemaProps | undefined {
  const { version } = kind;
  if (version.openApiComponent) return inlineComponent(version.openApiComponent) as JsonSchemaProps;
  if (!version.schema) return undefined;
  const properties = {
    ...((version.schema.properties as Record<string, JsonSchemaProps> | undefined) ?? {}),
  };
  properties.apiVersion = { type: "string" };
  properties.kind = { type: "string" };
  properties.metadata = inlineComponent("V1ObjectMeta") as JsonSchemaProps;
  return { ...version.schema, type: "object", properties };
}

function typing(
  object: JsonSchemaProps,
  params: JsonSchemaProps | undefined,
  prefix: string,
): PolicyTyping | undefined {
  const types = new TypeRegistry(prefix);
  const objectType = types.declType(object, true, ".object");
  if (!objectType) return undefined;
  const paramsType = params ? types.declType(params, true, ".params") : undefined;
  return {
    objectType: objectType.name,
    paramsType: paramsType?.name,
    register: (env: Environment) => types.register(env),
  };
}

let prefixCounter = 0;

function engineGap(result: CelResult | undefined, fieldRef: string): ExpressionWarning[] {
  if (!result || result.compiled || !result.unsupported) return [];
  return [
    {
      fieldRef,
      warning: `the Kubernetes emulator's CEL engine cannot compile this expression (a real API server can), so it fails at admission as failurePolicy says: ${result.error}`,
    },
  ];
}

/** Every expression this engine cannot compile, whatever the types. */
function engineGaps(compiled: CompiledPolicy): ExpressionWarning[] {
  return [
    ...compiled.matchConditions.flatMap((c, i) =>
      engineGap(c.result, `spec.matchConditions[${i}].expression`),
    ),
    ...compiled.variables.flatMap((v, i) => engineGap(v.result, `spec.variables[${i}].expression`)),
    ...compiled.validations.flatMap((v, i) => [
      ...engineGap(v.expression, `spec.validations[${i}].expression`),
      ...engineGap(v.messageExpression, `spec.validations[${i}].messageExpression`),
    ]),
    ...compiled.auditAnnotations.flatMap((a, i) =>
      engineGap(a.result, `spec.auditAnnotations[${i}].valueExpression`),
    ),
  ];
}

/** The expression warnings the status controller writes to status.typeChecking. */
export function typeCheckPolicy(registry: Registry, spec: PolicySpec): ExpressionWarning[] {
  const warnings = engineGaps(compilePolicy(spec));
  let paramsSchema: JsonSchemaProps | undefined;
  if (spec.paramKind) {
    try {
      paramsSchema = schemaOf(resolveParamKind(registry, spec.paramKind));
    } catch {
      paramsSchema = undefined;
    }
  }
  // One typed compilation per kind; the issues of an expression are gathered across kinds.
  const issues = new Map<string, string[]>();
  const note = (fieldRef: string, gvk: Gvk, result: CelResult | undefined) => {
    if (!result || result.compiled || !result.issues || result.unsupported) return;
    issues.set(fieldRef, [...(issues.get(fieldRef) ?? []), `${gvkString(gvk)}: ${result.issues}\n`]);
  };
  for (const kind of typesToCheck(registry, spec)) {
    const objectSchema = schemaOf(kind);
    const typed = objectSchema && typing(objectSchema, paramsSchema, `typecheck${prefixCounter++}`);
    if (!typed) continue;
    const compiled = compilePolicy(spec, typed);
    for (const [i, validation] of compiled.validations.entries()) {
      note(`spec.validations[${i}].expression`, kind.gvk, validation.expression);
      note(`spec.validations[${i}].messageExpression`, kind.gvk, validation.messageExpression);
    }
  }
  for (const [i] of (spec.validations ?? []).entries()) {
    for (const field of ["expression", "messageExpression"]) {
      const fieldRef = `spec.validations[${i}].${field}`;
      const found = issues.get(fieldRef);
      if (found) warnings.push({ fieldRef, warning: found.join("\n") });
    }
  }
  return warnings;
}
