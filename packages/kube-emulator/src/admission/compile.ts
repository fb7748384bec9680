// Compiling a ValidatingAdmissionPolicy's expressions (validating/plugin.go compilePolicy,
// cel/compile.go, cel/composition.go). A compile error does not stop the policy: it is kept with
// the expression and fails it at admission per failurePolicy, as upstream does.
import type { Environment } from "@marcbachmann/cel-js";
import { CelCompileError, type CompiledExpression, compileExpression, namesUsed } from "../schema/index.js";
import { type PolicyTyping, policyEnvironment } from "./cel-environment.js";
import type { PolicySpec, Validation } from "./policy-types.js";

export type CelResult = { source: string } & (
  | { compiled: CompiledExpression; error?: undefined }
  | {
      compiled?: undefined;
      /** The API server's wording ("compilation failed: ERROR: <input>:1:1: ..." or "must evaluate to bool"). */
      error: string;
      /** True when the expression uses something a real API server has and this CEL engine lacks. */
      unsupported: boolean;
      /** cel-go's issues text when it did not compile (not for a wrong output type). */
      issues?: string;
    }
);

export interface CompiledNamed {
  name: string;
  result: CelResult;
}

export interface CompiledValidation {
  validation: Validation;
  expression: CelResult;
  messageExpression?: CelResult;
}

export interface CompiledPolicy {
  /** The class of `variables` values; its instances get one lazy property per variable. */
  readonly variablesClass: new () => object;
  readonly variables: CompiledNamed[];
  readonly matchConditions: CompiledNamed[];
  readonly validations: CompiledValidation[];
  /** `name` is the annotation's key. */
  readonly auditAnnotations: CompiledNamed[];
}

/** Output types each kind of expression must have (ExpressionAccessor.ReturnTypes); "any" for variables. */
const BOOL = ["bool"];
const STRING = ["string"];
const STRING_OR_NULL = ["string", "null"];

/**
 * What the Kubernetes CEL environment declares and this engine does not: the authorizer,
 * the IP, CIDR, format and semver libraries, ext.Strings format, two-variable comprehensions.
 */
const MISSING_FROM_ENGINE = new Set([
  "authorizer",
  "ip",
  "isIP",
  "cidr",
  "isCIDR",
  "family",
  "isUnspecified",
  "isLoopback",
  "isLinkLocalMulticast",
  "isLinkLocalUnicast",
  "isGlobalUnicast",
  "containsIP",
  "containsCIDR",
  "prefixLength",
  "masked",
  "format",
  "semver",
  "isSemver",
  "major",
  "minor",
  "patch",
  "all/3",
  "exists/3",
  "existsOne",
  "exists_one/3",
  "transformList",
  "transformMap",
  "transformMapEntry",
]);

/** Message expressions have no authorizer on a real API server either. */
const MISSING_FROM_MESSAGES = new Set([...MISSING_FROM_ENGINE].filter((name) => name !== "authorizer"));

function usesMissing(env: Environment, source: string, missing: ReadonlySet<string>): boolean {
  const names = namesUsed(env, source);
  return names !== undefined && [...names].some((name) => missing.has(name));
}

/** cel-go's names of the output types a message shows. */
function goTypeName(type: string): string {
  return type === "null" ? "null_type" : type;
}

function compileAs(
  env: Environment,
  source: string,
  returnTypes: string[] | "any",
  missing: ReadonlySet<string> = MISSING_FROM_ENGINE,
): CelResult {
  let compiled: CompiledExpression;
  try {
    compiled = compileExpression(env, source);
  } catch (error) {
    if (!(error instanceof CelCompileError)) throw error;
    return {
      source,
      error: `compilation failed: ${error.message}`,
      unsupported: usesMissing(env, source, missing),
      issues: error.message,
    };
  }
  if (returnTypes !== "any" && !returnTypes.includes(compiled.outputType)) {
    const names = returnTypes.map(goTypeName);
    const reason =
      names.length === 1 ? `must evaluate to ${names[0]}` : `must evaluate to one of [${names.join(" ")}]`;
    return { source, error: reason, unsupported: false };
  }
  return { source, compiled };
}

/**
 * Compiles every expression of a policy; never throws for a bad expression. With `typing`,
 * objects and params have the declared types of a schema (type checking); otherwise they are dyn.
 */
export function compilePolicy(spec: PolicySpec, typing?: PolicyTyping): CompiledPolicy {
  const hasParams = spec.paramKind !== undefined;
  const variablesClass = class Variables {};
  // Each variable sees the ones declared before it (CompileAndStoreVariables adds a field after each).
  const variableTypes: Record<string, string> = {};
  const variables: CompiledNamed[] = [];
  const environment = () =>
    policyEnvironment({ hasParams, variablesClass, variableTypes: { ...variableTypes }, typing });
  for (const variable of spec.variables ?? []) {
    const result = compileAs(environment(), variable.expression, "any");
    variableTypes[variable.name] = result.compiled?.outputType ?? "dyn";
    variables.push({ name: variable.name, result });
  }
  const env = environment();
  return {
    variablesClass,
    variables,
    matchConditions: (spec.matchConditions ?? []).map((condition) => ({
      name: condition.name,
      result: compileAs(env, condition.expression, BOOL),
    })),
    validations: (spec.validations ?? []).map((validation) => {
      const compiled: CompiledValidation = {
        validation,
        expression: compileAs(env, validation.expression, BOOL),
      };
      if (validation.messageExpression) {
        compiled.messageExpression = compileAs(
          env,
          validation.messageExpression,
          STRING,
          MISSING_FROM_MESSAGES,
        );
      }
      return compiled;
    }),
    auditAnnotations: (spec.auditAnnotations ?? []).map((annotation) => ({
      name: annotation.key,
      result: compileAs(env, annotation.valueExpression, STRING_OR_NULL),
    })),
  };
}
