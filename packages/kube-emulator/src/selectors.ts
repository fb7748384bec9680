// Label and field selectors with the grammar of k8s.io/apimachinery/pkg/labels and /fields.
import { badRequest } from "./errors.js";

export type LabelOperator = "in" | "notin" | "exists" | "!" | "=" | "!=" | "gt" | "lt";

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

/** An empty selector matches everything. */
export type LabelSelector = LabelRequirement[];

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

class Lexer {
  private pos = 0;
  constructor(private readonly input: string) {}

  private skipSpace(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos]!)) this.pos++;
  }

  peek(): string {
    this.skipSpace();
    return this.input.slice(this.pos);
  }

  done(): boolean {
    return this.peek() === "";
  }

  /** Consumes one of the given tokens (longest first) when the input starts with it. */
  accept(...tokens: string[]): string | undefined {
    const rest = this.peek();
    for (const token of tokens.sort((a, b) => b.length - a.length)) {
      if (!rest.startsWith(token)) continue;
      if (/^[a-z]+$/.test(token) && /[A-Za-z0-9_./-]/.test(rest.charAt(token.length))) continue;
      this.pos = this.input.length - rest.length + token.length;
      return token;
    }
    return undefined;
  }

  identifier(): string {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.input.length && !/[\s,=!()<>]/.test(this.input[this.pos]!)) this.pos++;
    return this.input.slice(start, this.pos);
  }
}

function fail(message: string): never {
  throw badRequest(`unable to parse requirement: ${message}`);
}

function checkKey(key: string): void {
  if (!key) fail("found '', expected: identifier");
  if (key.length > 316 || !LABEL_KEY.test(key)) {
    fail(
      `<nil>: Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function checkValue(key: string, value: string): void {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    fail(
      `values[0][${key}]: Invalid value: ${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

export function parseLabelSelector(input: string | undefined): LabelSelector {
  if (!input || input.trim() === "") return [];
  const lexer = new Lexer(input);
  const requirements: LabelRequirement[] = [];
  for (;;) {
    if (lexer.accept("!")) {
      const key = lexer.identifier();
      checkKey(key);
      requirements.push({ key, operator: "!", values: [] });
    } else {
      const key = lexer.identifier();
      checkKey(key);
      const op = lexer.accept("==", "=", "!=", "in", "notin", ">", "<");
      if (op === undefined) {
        requirements.push({ key, operator: "exists", values: [] });
      } else if (op === "in" || op === "notin") {
        if (!lexer.accept("(")) fail(`found '${lexer.peek().charAt(0)}', expected: '('`);
        const values: string[] = [];
        if (!lexer.accept(")")) {
          for (;;) {
            const value = lexer.identifier();
            checkValue(key, value);
            values.push(value);
            if (lexer.accept(")")) break;
            if (!lexer.accept(",")) fail(`found '${lexer.peek().charAt(0)}', expected: ',' or ')'`);
          }
        }
        requirements.push({ key, operator: op, values });
      } else {
        const value = lexer.identifier();
        if (op === ">" || op === "<") {
          if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
          requirements.push({ key, operator: op === ">" ? "gt" : "lt", values: [value] });
        } else {
          checkValue(key, value);
          requirements.push({ key, operator: op === "!=" ? "!=" : "=", values: [value] });
        }
      }
    }
    if (lexer.done()) break;
    if (!lexer.accept(",")) fail(`found '${lexer.peek().charAt(0)}', expected: ',' or 'end of string'`);
  }
  return requirements;
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const req of selector) {
    const has = labels !== undefined && Object.hasOwn(labels, req.key);
    const value = has ? labels[req.key] : undefined;
    switch (req.operator) {
      case "exists":
        if (!has) return false;
        break;
      case "!":
        if (has) return false;
        break;
      case "=":
      case "in":
        if (!has || !req.values.includes(value!)) return false;
        break;
      case "!=":
      case "notin":
        if (has && req.values.includes(value!)) return false;
        break;
      case "gt":
      case "lt": {
        if (!has || !/^-?\d+$/.test(value!)) return false;
        const n = Number(value);
        const bound = Number(req.values[0]);
        if (req.operator === "gt" ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  operator: "=" | "!=";
  value: string;
}

export type FieldSelector = FieldRequirement[];

/** Splits on unescaped separators; `\,`, `\=` and `\\` escape, as fields.ParseSelector reads them. */
function splitUnescaped(input: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch === "\\" && i + 1 < input.length) {
      current += ch + input[i + 1];
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === "\\") {
      const next = value[i + 1];
      if (next === "\\" || next === "," || next === "=") {
        out += next;
        i++;
        continue;
      }
      throw badRequest(`invalid field selector: invalid escape sequence: \\${next ?? ""}`);
    }
    if (ch === "," || ch === "=") throw badRequest(`invalid field selector: unescaped ${ch} in value`);
    out += ch;
  }
  return out;
}

export function parseFieldSelector(input: string | undefined): FieldSelector {
  if (!input || input.trim() === "") return [];
  const requirements: FieldRequirement[] = [];
  for (const part of splitUnescaped(input, ",")) {
    if (part.trim() === "") continue;
    let matched = false;
    // "!=" and "==" are tried before "=", which they contain.
    for (const op of ["!=", "==", "="] as const) {
      const at = indexOfUnescaped(part, op);
      if (at < 0) continue;
      const field = part.slice(0, at).trim();
      const value = unescapeFieldValue(part.slice(at + op.length));
      requirements.push({ field, operator: op === "!=" ? "!=" : "=", value });
      matched = true;
      break;
    }
    if (!matched) throw badRequest(`invalid selector: '${input}'; can't understand '${part}'`);
  }
  return requirements;
}

function indexOfUnescaped(input: string, token: string): number {
  for (let i = 0; i < input.length; i++) {
    if (input[i] === "\\") {
      i++;
      continue;
    }
    if (input.startsWith(token, i)) return i;
  }
  return -1;
}

export function matchesFields(selector: FieldSelector, fields: Record<string, string>): boolean {
  for (const req of selector) {
    const value = fields[req.field] ?? "";
    if (req.operator === "=" ? value !== req.value : value === req.value) return false;
  }
  return true;
}
