// The "simple JSON path" a CRD's additionalPrinterColumns use: fields, indexes, wildcards
// and equality filters, e.g. .status.conditions[?(@.type=="Ready")].status.
import type { JsonValue } from "../json.js";
import { isObject } from "../json.js";

type Step =
  | { kind: "field"; name: string }
  | { kind: "index"; index: number }
  | { kind: "all" }
  | { kind: "filter"; path: string[]; op: "==" | "!="; value: string };

export class JsonPath {
  private readonly steps: Step[];

  constructor(readonly source: string) {
    this.steps = parse(source);
  }

  /** Every value the path reaches, in document order. */
  find(root: JsonValue): JsonValue[] {
    let current: JsonValue[] = [root];
    for (const step of this.steps) {
      const next: JsonValue[] = [];
      for (const value of current) next.push(...apply(step, value));
      current = next;
    }
    return current;
  }
}

function apply(step: Step, value: JsonValue): JsonValue[] {
  switch (step.kind) {
    case "field":
      return isObject(value) && value[step.name] !== undefined ? [value[step.name]!] : [];
    case "index": {
      if (!Array.isArray(value)) return [];
      const index = step.index < 0 ? value.length + step.index : step.index;
      return index >= 0 && index < value.length ? [value[index]!] : [];
    }
    case "all":
      if (Array.isArray(value)) return value;
      return isObject(value) ? Object.values(value) : [];
    case "filter": {
      if (!Array.isArray(value)) return [];
      return value.filter((item) => {
        let target: JsonValue | undefined = item;
        for (const name of step.path) target = isObject(target) ? target[name] : undefined;
        const text =
          target === undefined ? undefined : typeof target === "string" ? target : JSON.stringify(target);
        return step.op === "==" ? text === step.value : text !== step.value;
      });
    }
  }
}

function parse(source: string): Step[] {
  let text = source.trim();
  if (text.startsWith("{") && text.endsWith("}")) text = text.slice(1, -1);
  if (text.startsWith("$")) text = text.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === ".") {
      i++;
      const start = i;
      while (i < text.length && text[i] !== "." && text[i] !== "[") i++;
      const name = text.slice(start, i);
      if (name === "*") steps.push({ kind: "all" });
      else if (name) steps.push({ kind: "field", name });
    } else if (ch === "[") {
      const end = findClosingBracket(text, i);
      steps.push(parseBracket(text.slice(i + 1, end), source));
      i = end + 1;
    } else {
      throw new Error(`unrecognized character in JSONPath ${source} at ${i}`);
    }
  }
  return steps;
}

function findClosingBracket(text: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === "]") {
      return i;
    }
  }
  throw new Error("unclosed [ in JSONPath");
}

function parseBracket(inner: string, source: string): Step {
  const body = inner.trim();
  if (body === "*") return { kind: "all" };
  if (/^-?\d+$/.test(body)) return { kind: "index", index: Number(body) };
  const quoted = /^(['"])(.*)\1$/.exec(body);
  if (quoted) return { kind: "field", name: quoted[2]! };
  const filter = /^\?\(@((?:\.[^.=!\s]+)+)\s*(==|!=)\s*(['"]?)(.*?)\3\s*\)$/.exec(body);
  if (filter) {
    return {
      kind: "filter",
      path: filter[1]!.slice(1).split("."),
      op: filter[2] as "==" | "!=",
      value: filter[4]!,
    };
  }
  throw new Error(`unsupported JSONPath expression [${inner}] in ${source}`);
}
