// Evaluating one policy for one request and one param (validating/validator.go, cel/filter.go,
// matchconditions/matcher.go): match conditions, then validations with their messages, then audit
// annotations, each error turned into a decision by the failure policy.
import { CelRuntimeError } from "../schema/index.js";
import type { CelResult, CompiledPolicy } from "./compile.js";

/** The CEL values of the root variables, except `variables`. */
export interface Activation {
  object: unknown;
  oldObject: unknown;
  request: unknown;
  namespaceObject: unknown;
  /** Absent when the policy has no paramKind (then `params` is not declared). */
  params?: unknown;
}

export interface PolicyDecision {
  action: "admit" | "deny";
  evaluation: "admit" | "deny" | "error";
  message: string;
  /** Set for a failed validation: its reason, Invalid by default. */
  reason?: string;
}

export type AuditAnnotationResult =
  | { action: "publish"; key: string; value: string }
  | { action: "exclude"; key: string }
  | { action: "error"; key: string; error: string };

export interface ValidateResult {
  decisions: PolicyDecision[];
  auditAnnotations: AuditAnnotationResult[];
}

type Evaluation = { value: unknown; error?: undefined } | { value?: undefined; error: string };

/** celconfig.MaxEvaluatedMessageExpressionSizeBytes */
const MAX_MESSAGE_BYTES = 5 * 1024;

function evaluate(result: CelResult, activation: Record<string, unknown>): Evaluation {
  if (!result.compiled) return { error: `compilation error: ${result.error}` };
  try {
    return { value: result.compiled.evaluate(activation) };
  } catch (error) {
    return { error: `expression '${result.source}' resulted in error: ${(error as Error).message}` };
  }
}

/** `variables`: each one evaluated on first use, at most once per request and param. */
function variablesValue(policy: CompiledPolicy, activation: Record<string, unknown>): object {
  const value = new policy.variablesClass();
  for (const { name, result } of policy.variables) {
    let cached: { value: unknown } | undefined;
    Object.defineProperty(value, name, {
      enumerable: true,
      get() {
        if (cached) return cached.value;
        if (!result.compiled)
          throw new CelRuntimeError(`composited variable "${name}" fails to compile: ${result.error}`);
        try {
          cached = { value: result.compiled.evaluate(activation) };
        } catch (error) {
          throw new CelRuntimeError(
            `composited variable "${name}" fails to evaluate: ${(error as Error).message}`,
          );
        }
        return cached.value;
      },
    });
  }
  return value;
}

/** utilerrors.NewAggregate(...).Error() */
function aggregate(errors: string[]): string {
  return errors.length === 1 ? errors[0]! : `[${errors.join(", ")}]`;
}

export function validatePolicy(
  policy: CompiledPolicy,
  failurePolicy: "Fail" | "Ignore",
  input: Activation,
): ValidateResult {
  const activation: Record<string, unknown> = { ...input };
  activation.variables = variablesValue(policy, activation);
  const onError = failurePolicy === "Ignore" ? "admit" : "deny";
  const errorDecision = (message: string): ValidateResult => ({
    decisions: [{ action: onError, evaluation: "error", message }],
    auditAnnotations: [],
  });

  const conditionErrors: string[] = [];
  for (const condition of policy.matchConditions) {
    const outcome = evaluate(condition.result, activation);
    if (outcome.error !== undefined) conditionErrors.push(outcome.error);
    else if (outcome.value === false) return { decisions: [], auditAnnotations: [] };
  }
  if (conditionErrors.length > 0) {
    return failurePolicy === "Ignore"
      ? { decisions: [], auditAnnotations: [] }
      : errorDecision(aggregate(conditionErrors));
  }

  const decisions = policy.validations.map(
    ({ validation, expression, messageExpression }): PolicyDecision => {
      const outcome = evaluate(expression, activation);
      if (outcome.error !== undefined)
        return { action: onError, evaluation: "error", message: outcome.error };
      if (outcome.value === true) return { action: "admit", evaluation: "admit", message: "" };
      let message = "";
      if (messageExpression) {
        const evaluated = evaluate(messageExpression, activation);
        if (typeof evaluated.value === "string") {
          message = evaluated.value.trim();
          if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES || message.includes("\n")) message = "";
        }
      }
      if (message === "" && validation.message) message = validation.message.trim();
      if (message === "") message = `failed expression: ${validation.expression.trim()}`;
      return { action: "deny", evaluation: "deny", message, reason: validation.reason ?? "Invalid" };
    },
  );

  const auditAnnotations = policy.auditAnnotations.map(({ name: key, result }): AuditAnnotationResult => {
    const outcome = evaluate(result, activation);
    if (outcome.error !== undefined) {
      return failurePolicy === "Ignore"
        ? { action: "exclude", key }
        : { action: "error", key, error: outcome.error };
    }
    if (outcome.value === null) return { action: "exclude", key };
    const value = String(outcome.value).trim();
    return value === "" ? { action: "exclude", key } : { action: "publish", key, value };
  });
  return { decisions, auditAnnotations };
}
