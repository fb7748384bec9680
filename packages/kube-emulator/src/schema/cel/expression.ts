// Compiling and evaluating one CEL expression against named variables, with the Kubernetes
// libraries and cel-go's error wording. The CRD rules use it, and so can ValidatingAdmissionPolicy
// (variables object, oldObject, request, params, namespaceObject, variables).
import { Environment } from "@marcbachmann/cel-js";
import { isJsonObject } from "../json.js";
import { registerKubernetesLibraries } from "./library.js";
import { CelRuntimeError } from "./values.js";

/** A CEL expression that does not compile; `message` is cel-go's issues text ("ERROR: <input>:1:6: ..."). */
export class CelCompileError extends Error {
  readonly code = "CEL_COMPILE";
}

/** A CEL expression that failed while evaluating ("no such key: foo", "division by zero"...). */
export class CelEvaluationError extends Error {
  readonly code = "CEL_EVALUATION";
}

export interface CompiledExpression {
  readonly source: string;
  /** The checked result type, e.g. "bool", "string", "list<string>". */
  readonly outputType: string;
  /** The variable names the expression references. */
  readonly references: ReadonlySet<string>;
  /** Evaluates with CEL values (see toCelValue); throws CelEvaluationError. */
  evaluate(variables: Record<string, unknown>): unknown;
}

interface AstNode {
  op: string;
  args: unknown;
  pos?: number;
  start?: number;
  range?: { start: number };
}

function isAstNode(value: unknown): value is AstNode {
  return typeof value === "object" && value !== null && typeof (value as AstNode).op === "string";
}

function walk(node: unknown, visit: (node: AstNode) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!isAstNode(node)) return;
  visit(node);
  walk(node.args, visit);
}

/** A new environment with the Kubernetes libraries; add variables and types, then compile. */
export function createCelEnvironment(): Environment {
  return registerKubernetesLibraries(
    new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: true }),
  );
}

/** Formats an issue as cel-go's issues.String() does: position, message, source line, caret. */
function issueText(source: string, offset: number, message: string): string {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  const line = before.split("\n").length;
  const lineStart = before.lastIndexOf("\n") + 1;
  const column = before.length - lineStart;
  const text = source.split("\n")[line - 1] ?? "";
  return `ERROR: <input>:${line}:${column + 1}: ${message}\n | ${text}\n | ${".".repeat(column)}^`;
}

/** The engine's wording of a compile error, in cel-go's words where they differ. */
function celGoMessage(message: string): string {
  const noKey = /^No such key: (.+)$/.exec(message);
  if (noKey) return `undefined field '${noKey[1]}'`;
  const unknown = /^Unknown variable: (.+)$/.exec(message);
  if (unknown) return `undeclared reference to '${unknown[1]}' (in container '')`;
  const overload = /^found no matching overload for '(?:(.*)\.)?(\w+)\((.*)\)'$/.exec(message);
  if (overload) {
    const receiver = overload[1] ? `${overload[1]}.` : "";
    return `found no matching overload for '${overload[2]}' applied to '${receiver}(${overload[3]})'`;
  }
  const operator = /^no such overload: (\S+) (\S+) (\S+)$/.exec(message);
  if (operator)
    return `found no matching overload for '_${operator[2]}_' applied to '(${operator[1]}, ${operator[3]})'`;
  if (/^Unexpected token/.test(message)) return `Syntax error: ${message}`;
  return message;
}

function errorOffset(error: unknown): number {
  const located = error as { range?: { start?: number }; node?: { start?: number; pos?: number } };
  return located.range?.start ?? located.node?.start ?? located.node?.pos ?? 0;
}

function firstLine(error: unknown): string {
  const summary = (error as { summary?: unknown }).summary;
  if (typeof summary === "string" && summary !== "") return summary;
  return String((error as Error).message ?? error).split("\n")[0] ?? "";
}

/** cel-go's runtime error wording for the engine's messages. */
export function runtimeMessage(error: unknown): string {
  if (error instanceof CelRuntimeError) return error.message;
  const message = firstLine(error);
  const bounds = /^No such key: index out of bounds, index (-?\d+) (?:>= size (\d+)|< 0)$/.exec(message);
  if (bounds) return `index out of bounds: ${bounds[1]}`;
  const noKey = /^No such key: (.+)$/.exec(message);
  if (noKey) return `no such key: ${noKey[1]}`;
  if (message.startsWith("integer overflow")) return "integer overflow";
  return message;
}

/**
 * The identifiers and functions an expression uses, functions also as `name/arity` (arguments
 * besides the receiver); undefined when it does not parse. Lets a caller tell an expression
 * that uses something this engine lacks from one that is wrong.
 */
export function namesUsed(env: Environment, source: string): Set<string> | undefined {
  let program: ReturnType<Environment["parse"]>;
  try {
    program = env.parse(source);
  } catch {
    return undefined;
  }
  const names = new Set<string>();
  walk(program.ast, (node) => {
    if (node.op === "id" && typeof node.args === "string") names.add(node.args);
    if ((node.op === "call" || node.op === "rcall") && Array.isArray(node.args)) {
      const [name] = node.args;
      const args = node.args[node.op === "call" ? 1 : 2];
      if (typeof name === "string") {
        names.add(name);
        if (Array.isArray(args)) names.add(`${name}/${args.length}`);
      }
    }
  });
  return names;
}

/** Compiles (parses and type-checks) an expression in an environment; throws CelCompileError. */
export function compileExpression(env: Environment, source: string): CompiledExpression {
  let program: ReturnType<Environment["parse"]>;
  try {
    program = env.parse(source);
  } catch (error) {
    throw new CelCompileError(issueText(source, errorOffset(error), celGoMessage(firstLine(error))));
  }
  const references = new Set<string>();
  walk(program.ast, (node) => {
    if (node.op === "id" && typeof node.args === "string") references.add(node.args);
    // cel.bind comes from cel-go's ext.Bindings, which the API server does not load.
    if (node.op === "rcall" && Array.isArray(node.args) && node.args[0] === "bind") {
      const target = node.args[1];
      if (isAstNode(target) && target.op === "id" && target.args === "cel") {
        throw new CelCompileError(
          issueText(source, target.pos ?? 0, "undeclared reference to 'cel' (in container '')"),
        );
      }
    }
  });
  const checked = program.check();
  if (!checked.valid) {
    const message = celGoMessage(firstLine(checked.error));
    let offset = errorOffset(checked.error);
    // cel-go places a field selection's issue on its '.'.
    if (message.startsWith("undefined field") && source[offset - 1] === ".") offset -= 1;
    throw new CelCompileError(issueText(source, offset, message));
  }
  return {
    source,
    outputType: checked.type ?? "dyn",
    references,
    evaluate(variables) {
      try {
        return program(variables);
      } catch (error) {
        throw new CelEvaluationError(runtimeMessage(error));
      }
    },
  };
}

/** Decoded JSON as CEL sees an untyped value: integral numbers are ints, objects are maps. */
export function toCelValue(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelValue);
  if (isJsonObject(value)) {
    const map = new Map<string, unknown>();
    for (const [key, item] of Object.entries(value)) map.set(key, toCelValue(item));
    return map;
  }
  return value;
}

/**
 * Compiles an expression whose variables are untyped (dyn), as a policy engine would, e.g.
 * compileCel("object.spec.replicas <= params.max", ["object", "params"]).
 */
export function compileCel(source: string, variableNames: string[]): CompiledExpression {
  const env = createCelEnvironment();
  for (const name of variableNames) env.registerVariable(name, "dyn");
  return compileExpression(env, source);
}

/** Compiles and evaluates in one go, with JSON variables converted by toCelValue. */
export function evaluateCel(source: string, variables: Record<string, unknown>): unknown {
  const compiled = compileCel(source, Object.keys(variables));
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(variables)) values[name] = toCelValue(value);
  return compiled.evaluate(values);
}
