// x-kubernetes-validations: compiling each node's rules against its CEL type (compilation.go) and
// evaluating them on a custom resource (validation.go): transition rules only where the old value
// correlates, optionalOldSelf, message / messageExpression / reason / fieldPath, ratcheting of
// unchanged values.
import { Optional } from "@marcbachmann/cel-js";
import { FieldPath, fieldError } from "../field-errors.js";
import { GoLiteral, goQuote } from "../go-format.js";
import { deepEqual, isJsonObject } from "../json.js";
import {
  additionalProperties,
  isEmbeddedResource,
  items,
  listMapKeys,
  listType,
  mapType,
  properties,
  schemaType,
  type ValidationRule,
  validationRules,
} from "../schema-model.js";
import type { JsonSchemaProps, SchemaCause } from "../types.js";
import { type DeclType, escapeName, TypeRegistry } from "./decl-types.js";
import {
  CelCompileError,
  CelEvaluationError,
  type CompiledExpression,
  compileExpression,
  createCelEnvironment,
} from "./expression.js";
import { validFieldPath } from "./field-path.js";

export interface CompiledRule {
  readonly rule: ValidationRule;
  readonly program?: CompiledExpression;
  /** Why the rule does not compile ("compilation failed: ERROR: <input>:1:6: ..."). */
  readonly error?: string;
  readonly usesOldSelf: boolean;
  readonly message?: CompiledExpression;
  readonly messageError?: string;
  readonly fieldPath: string;
}

export interface RuleNode {
  readonly schema: JsonSchemaProps;
  readonly declType: DeclType | undefined;
  readonly rules: CompiledRule[];
  readonly properties: Map<string, RuleNode>;
  readonly items?: RuleNode;
  readonly additionalProperties?: RuleNode;
  /** Whether this node or one below it has rules. */
  readonly hasRules: boolean;
}

export interface CompiledSchemaRules {
  readonly root: RuleNode;
  /** The compiled node of each schema object (for the CRD checks). */
  readonly nodes: Map<JsonSchemaProps, RuleNode>;
}

const cache = new WeakMap<JsonSchemaProps, CompiledSchemaRules>();
let typeCounter = 0;

/** Compiles every x-kubernetes-validations rule of a CRD version's schema (cached per schema object). */
export function compileSchemaRules(schema: JsonSchemaProps): CompiledSchemaRules {
  const cached = cache.get(schema);
  if (cached) return cached;
  const registry = new TypeRegistry(`selfType${typeCounter++}`);
  const nodes = new Map<JsonSchemaProps, RuleNode>();
  const base = createCelEnvironment();
  const pending: (() => void)[] = [];
  const build = (s: JsonSchemaProps, declType: DeclType | undefined): RuleNode => {
    const props = new Map<string, RuleNode>();
    for (const [name, prop] of properties(s)) {
      const escaped = escapeName(name);
      const fieldType = escaped
        ? declType?.fields?.get(escaped)?.type
        : registry.declType(prop, isEmbeddedResource(prop), `.${name}`);
      props.set(name, build(prop, fieldType));
    }
    const itemSchema = items(s);
    const additional = additionalProperties(s)?.schema;
    const node: RuleNode = {
      schema: s,
      declType,
      rules: [],
      properties: props,
      items: itemSchema ? build(itemSchema, declType?.element) : undefined,
      additionalProperties: additional ? build(additional, declType?.element) : undefined,
      hasRules: false,
    };
    const rules = validationRules(s);
    (node as { hasRules: boolean }).hasRules =
      rules.length > 0 ||
      [...props.values()].some((child) => child.hasRules) ||
      node.items?.hasRules === true ||
      node.additionalProperties?.hasRules === true;
    if (rules.length > 0 && declType)
      pending.push(() => node.rules.push(...compileRules(base, s, declType, rules)));
    nodes.set(s, node);
    return node;
  };
  const root = build(schema, registry.declType(schema, true, ""));
  registry.register(base);
  for (const compile of pending) compile();
  const compiled = { root, nodes };
  cache.set(schema, compiled);
  return compiled;
}

function compileRules(
  base: ReturnType<typeof createCelEnvironment>,
  s: JsonSchemaProps,
  declType: DeclType,
  rules: ValidationRule[],
): CompiledRule[] {
  const env = base.clone();
  env.registerVariable("self", declType.name);
  env.registerVariable("oldSelf", declType.name);
  let optionalEnv: typeof env | undefined;
  return rules.map((rule) => {
    const fieldPath =
      rule.fieldPath === ""
        ? ""
        : (() => {
            const result = validFieldPath(rule.fieldPath, s);
            return "path" in result ? result.path : "";
          })();
    if (rule.rule.trim() === "") return { rule, usesOldSelf: false, fieldPath };
    let ruleEnv = env;
    if (rule.optionalOldSelf === true) {
      optionalEnv ??= base
        .clone()
        .registerVariable("self", declType.name)
        .registerVariable("oldSelf", `optional<${declType.name}>`);
      ruleEnv = optionalEnv;
    }
    let program: CompiledExpression;
    try {
      program = compileExpression(ruleEnv, rule.rule);
    } catch (error) {
      if (!(error instanceof CelCompileError)) throw error;
      return { rule, usesOldSelf: false, fieldPath, error: `compilation failed: ${error.message}` };
    }
    if (program.outputType !== "bool") {
      return { rule, usesOldSelf: false, fieldPath, error: "cel expression must evaluate to a bool" };
    }
    const usesOldSelf = program.references.has("oldSelf");
    if (rule.messageExpression === "") return { rule, program, usesOldSelf, fieldPath };
    try {
      const message = compileExpression(env, rule.messageExpression);
      if (message.outputType !== "string") {
        return {
          rule,
          program,
          usesOldSelf,
          fieldPath,
          messageError: "messageExpression must evaluate to a string",
        };
      }
      return { rule, program, usesOldSelf, fieldPath, message };
    } catch (error) {
      if (!(error instanceof CelCompileError)) throw error;
      return {
        rule,
        program,
        usesOldSelf,
        fieldPath,
        messageError: `messageExpression compilation failed: ${error.message}`,
      };
    }
  });
}

/** apiextensions.ValidationRule as %#v prints it in a CRD's compile error. */
export function ruleLiteral(rule: ValidationRule): GoLiteral {
  const reason =
    rule.reason === undefined
      ? "(*apiextensions.FieldValueErrorReason)(nil)"
      : "(*apiextensions.FieldValueErrorReason)(0xc000000000)";
  const optional = rule.optionalOldSelf === undefined ? "(*bool)(nil)" : "(*bool)(0xc000000001)";
  return new GoLiteral(
    `apiextensions.ValidationRule{Rule:${goQuote(rule.rule)}, Message:${goQuote(rule.message)}, MessageExpression:${goQuote(rule.messageExpression)}, Reason:${reason}, FieldPath:${goQuote(rule.fieldPath)}, OptionalOldSelf:${optional}}`,
  );
}

export interface CelValidationResult {
  causes: SchemaCause[];
  /** Failures of unchanged values (ratcheted): the API server returns them as warnings. */
  warnings: string[];
}

const maxMessageExpressionBytes = 5 * 1024;

function ruleErrorString(rule: ValidationRule): string {
  return rule.message.length > 0 ? rule.message.trim() : rule.rule.trim();
}

/** Evaluates the rules on an object (and, on update, its old version). */
export function validateRules(
  schema: JsonSchemaProps,
  object: unknown,
  old?: { value: unknown },
): CelValidationResult {
  const result: CelValidationResult = { causes: [], warnings: [] };
  const { root } = compileSchemaRules(schema);
  if (!root.hasRules) return result;
  const unchanged = old !== undefined && deepEqual(object, old.value);
  visit(root, FieldPath.root, object, old, unchanged, result);
  return result;
}

function visit(
  node: RuleNode,
  path: FieldPath,
  value: unknown,
  old: { value: unknown } | undefined,
  unchanged: boolean,
  result: CelValidationResult,
): void {
  if (!node.hasRules || value === null || value === undefined) return;
  evaluateNode(node, path, value, old, unchanged, result);
  if (Array.isArray(value) && node.items) {
    const itemsNode = node.items;
    const oldList = old && Array.isArray(old.value) ? old.value : undefined;
    const keys = listType(node.schema) === "map" ? listMapKeys(node.schema) : undefined;
    value.forEach((item, i) => {
      let oldItem: { value: unknown } | undefined;
      if (keys && oldList && isJsonObject(item)) {
        const match = oldList.find(
          (candidate) => isJsonObject(candidate) && keys.every((key) => deepEqual(candidate[key], item[key])),
        );
        if (match !== undefined) oldItem = { value: match };
      }
      visit(
        itemsNode,
        path.index(i),
        item,
        oldItem,
        oldItem ? deepEqual(item, oldItem.value) : unchanged,
        result,
      );
    });
  } else if (isJsonObject(value)) {
    const correlatable = mapType(node.schema) !== "atomic";
    const oldMap = correlatable && old && isJsonObject(old.value) ? old.value : undefined;
    for (const [key, item] of Object.entries(value)) {
      const oldItem = oldMap && Object.hasOwn(oldMap, key) ? { value: oldMap[key] } : undefined;
      const itemUnchanged = oldItem ? deepEqual(item, oldItem.value) : unchanged;
      const prop = node.properties.get(key);
      if (prop) visit(prop, path.child(key), item, oldItem, itemUnchanged, result);
      else if (node.additionalProperties) {
        visit(node.additionalProperties, path.key(key), item, oldItem, itemUnchanged, result);
      }
    }
  }
}

function evaluateNode(
  node: RuleNode,
  path: FieldPath,
  value: unknown,
  old: { value: unknown } | undefined,
  unchanged: boolean,
  result: CelValidationResult,
): void {
  if (node.rules.length === 0 || !node.declType) return;
  const type = schemaType(node.schema);
  const self = node.declType.convert(value);
  const oldSelf = old ? node.declType.convert(old.value) : undefined;
  for (const compiled of node.rules) {
    const { rule } = compiled;
    if (compiled.error) {
      result.causes.push(fieldError.invalid(path, type, `rule compile error: ${compiled.error}`));
      continue;
    }
    if (!compiled.program) continue;
    const optionalOldSelf = rule.optionalOldSelf === true;
    if (compiled.usesOldSelf && !old && !optionalOldSelf) continue;
    const variables = {
      self,
      oldSelf: optionalOldSelf ? (old ? Optional.of(oldSelf) : Optional.none()) : oldSelf,
    };
    let outcome: unknown;
    try {
      outcome = compiled.program.evaluate(variables);
    } catch (error) {
      if (!(error instanceof CelEvaluationError)) throw error;
      const detail = error.message.startsWith("no such overload")
        ? `'${error.message}': call arguments did not match a supported operator, function or macro signature for rule: ${ruleErrorString(rule)}`
        : `${error.message} evaluating rule: ${ruleErrorString(rule)}`;
      result.causes.push(fieldError.invalid(path, type, detail));
      continue;
    }
    if (outcome === true) continue;
    const target = compiled.fieldPath === "" ? path : path.child(compiled.fieldPath);
    const detail = messageFor(compiled, { self, oldSelf });
    const cause = causeForReason(target, type, detail, rule.reason);
    if (!compiled.usesOldSelf && unchanged) result.warnings.push(`${cause.field}: ${cause.message}`);
    else result.causes.push(cause);
  }
}

function messageFor(compiled: CompiledRule, variables: Record<string, unknown>): string {
  if (compiled.message) {
    try {
      const text = compiled.message.evaluate(variables);
      if (typeof text === "string") {
        const trimmed = text.trim();
        if (
          trimmed !== "" &&
          !/\n/.test(trimmed) &&
          Buffer.byteLength(trimmed) <= maxMessageExpressionBytes
        ) {
          return trimmed;
        }
      }
    } catch (error) {
      if (!(error instanceof CelEvaluationError)) throw error;
    }
  }
  return compiled.rule.message.length > 0
    ? compiled.rule.message.trim()
    : `failed rule: ${ruleErrorString(compiled.rule)}`;
}

/** fieldErrorForReason */
function causeForReason(
  path: FieldPath,
  type: string,
  detail: string,
  reason: string | undefined,
): SchemaCause {
  switch (reason) {
    case "FieldValueForbidden":
      return fieldError.forbidden(path, detail);
    case "FieldValueRequired":
      return fieldError.required(path, detail);
    case "FieldValueDuplicate":
      return fieldError.duplicate(path, type);
    default:
      return fieldError.invalid(path, type, detail);
  }
}
