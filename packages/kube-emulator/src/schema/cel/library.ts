// The Kubernetes CEL libraries on top of @marcbachmann/cel-js: what the API server's base
// environment adds to standard CEL (apiserver/pkg/cel/library and cel-go's ext.Strings/ext.Sets).
// README.md beside this folder lists what is and is not supported.
import { Environment } from "@marcbachmann/cel-js";
import {
  addQuantities,
  compareQuantities,
  makeQuantity,
  negateQuantity,
  parseQuantity,
  type Quantity,
  quantityAsFloat,
  quantityAsInt64,
} from "../quantity.js";
import { compileRe2 } from "../regex.js";
import { celEqual, celError } from "./values.js";

/** kubernetes.Quantity values. */
export class CelQuantity {
  constructor(readonly value: Quantity) {}
}

/** kubernetes.URL values (net/url.URL). */
export class CelURL {
  constructor(
    readonly scheme: string,
    readonly host: string,
    readonly escapedPath: string,
    readonly rawQuery: string,
  ) {}
}

class SetsNamespace {}
const comparableTypes = [
  "int",
  "uint",
  "double",
  "string",
  "bytes",
  "bool",
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
];

function compare(a: unknown, b: unknown): number {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  const left = a as number | bigint | string;
  const right = b as number | bigint | string;
  if (left < right) return -1;
  return left > right ? 1 : 0;
}

/** url.Parse for the absolute URIs and absolute paths url() accepts (url.ParseRequestURI). */
function parseURL(text: string): CelURL | undefined {
  if (text.startsWith("/")) {
    const [path = "", query = ""] = text.split(/\?(.*)/s);
    return /\s/.test(text) ? undefined : new CelURL("", "", path, query);
  }
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(text);
  if (!match || /[\s]/.test(text)) return undefined;
  const scheme = match[1] as string;
  let rest = (match[2] as string).replace(/#.*$/s, "");
  let query = "";
  const q = rest.indexOf("?");
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (!rest.startsWith("//")) return new CelURL(scheme, "", rest, query);
  rest = rest.slice(2);
  const slash = rest.indexOf("/");
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash) : "";
  const host = authority.includes("@") ? authority.slice(authority.lastIndexOf("@") + 1) : authority;
  return new CelURL(scheme, host, path, query);
}

function hostname(url: CelURL): string {
  const host = url.host;
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end >= 0 ? host.slice(1, end) : host;
  }
  const colon = host.lastIndexOf(":");
  return colon >= 0 ? host.slice(0, colon) : host;
}

function port(url: CelURL): string {
  const host = url.host;
  const end = host.startsWith("[") ? host.indexOf("]") : -1;
  const colon = host.lastIndexOf(":");
  return colon > end ? host.slice(colon + 1) : "";
}

function queryMap(raw: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (raw === "") return out;
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const [key = "", value = ""] = part.split(/=(.*)/s);
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s.replaceAll("+", " "));
      } catch {
        return s;
      }
    };
    const name = decode(key);
    out.set(name, [...(out.get(name) ?? []), decode(value)]);
  }
  return out;
}

function quantityOf(text: string): CelQuantity {
  const value = parseQuantity(text);
  if (!value)
    throw celError(
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );
  return new CelQuantity(value);
}

/** strings.quote (cel-go ext): a double-quoted CEL string literal. */
function quote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const escapes: Record<string, string> = {
      "\x07": "\\a",
      "\b": "\\b",
      "\f": "\\f",
      "\n": "\\n",
      "\r": "\\r",
      "\t": "\\t",
      "\v": "\\v",
      "\\": "\\\\",
      '"': '\\"',
    };
    out += escapes[ch] ?? ch;
  }
  return `${out}"`;
}

/** Registers the Kubernetes libraries on an environment. */
export function registerKubernetesLibraries(env: Environment): Environment {
  // ext.Strings (version 2) beyond what the engine has built in.
  env.registerFunction("string.charAt(int): string", (s: string, i: bigint) => {
    const chars = [...s];
    if (i < 0n || i > BigInt(chars.length)) throw celError(`index out of range: ${i}`);
    return chars[Number(i)] ?? "";
  });
  env.registerFunction("string.replace(string, string): string", (s: string, a: string, b: string) =>
    s.replaceAll(a, b),
  );
  env.registerFunction(
    "string.replace(string, string, int): string",
    (s: string, a: string, b: string, n: bigint) => {
      let out = s;
      let from = 0;
      for (let count = 0n; n < 0n || count < n; count++) {
        const at = out.indexOf(a, from);
        if (at < 0 || (a === "" && at > out.length)) break;
        out = out.slice(0, at) + b + out.slice(at + a.length);
        from = at + b.length + (a === "" ? 1 : 0);
      }
      return out;
    },
  );
  class StringsNamespace {}
  env.registerType("StringsNamespace", StringsNamespace);
  env.registerConstant("strings", "StringsNamespace", new StringsNamespace());
  env.registerFunction("StringsNamespace.quote(string): string", (_: unknown, s: string) => quote(s));

  // Kubernetes list library.
  for (const type of comparableTypes) {
    env.registerFunction(`list<${type}>.isSorted(): bool`, (list: unknown[]) =>
      list.every((item, i) => i === 0 || compare(list[i - 1], item) <= 0),
    );
    env.registerFunction(`list<${type}>.min(): ${type}`, (list: unknown[]) => {
      if (list.length === 0) throw celError("min(list) argument must not be empty");
      return list.reduce((a, b) => (compare(b, a) < 0 ? b : a));
    });
    env.registerFunction(`list<${type}>.max(): ${type}`, (list: unknown[]) => {
      if (list.length === 0) throw celError("max(list) argument must not be empty");
      return list.reduce((a, b) => (compare(b, a) > 0 ? b : a));
    });
  }
  env.registerFunction("list<int>.sum(): int", (list: bigint[]) => list.reduce((a, b) => a + b, 0n));
  env.registerFunction("list<double>.sum(): double", (list: number[]) => list.reduce((a, b) => a + b, 0));
  env.registerFunction("list<A>.indexOf(A): int", (list: unknown[], x: unknown) =>
    BigInt(list.findIndex((item) => celEqual(item, x))),
  );
  env.registerFunction("list<A>.lastIndexOf(A): int", (list: unknown[], x: unknown) =>
    BigInt(list.findLastIndex((item) => celEqual(item, x))),
  );

  // Kubernetes regex library (RE2 syntax).
  env.registerFunction(
    "string.find(string): string",
    (s: string, re: string) => compileRe2(re).exec(s)?.[0] ?? "",
  );
  env.registerFunction("string.findAll(string): list<string>", (s: string, re: string) =>
    [...s.matchAll(compileRe2(re, true))].map((m) => m[0]),
  );
  env.registerFunction(
    "string.findAll(string, int): list<string>",
    (s: string, re: string, limit: bigint) => {
      const all = [...s.matchAll(compileRe2(re, true))].map((m) => m[0]);
      return limit < 0n ? all : all.slice(0, Number(limit));
    },
  );

  // ext.Sets
  env.registerType("SetsNamespace", SetsNamespace);
  env.registerConstant("sets", "SetsNamespace", new SetsNamespace());
  env.registerFunction(
    "SetsNamespace.contains(list<A>, list<A>): bool",
    (_: unknown, a: unknown[], b: unknown[]) => b.every((x) => a.some((y) => celEqual(x, y))),
  );
  env.registerFunction(
    "SetsNamespace.equivalent(list<A>, list<A>): bool",
    (_: unknown, a: unknown[], b: unknown[]) =>
      b.every((x) => a.some((y) => celEqual(x, y))) && a.every((x) => b.some((y) => celEqual(x, y))),
  );
  env.registerFunction(
    "SetsNamespace.intersects(list<A>, list<A>): bool",
    (_: unknown, a: unknown[], b: unknown[]) => a.some((x) => b.some((y) => celEqual(x, y))),
  );

  // Kubernetes URL library.
  env.registerType("kubernetes.URL", CelURL);
  env.registerFunction("url(string): kubernetes.URL", (s: string) => {
    const url = parseURL(s);
    if (!url)
      throw celError(
        `URL parse error during conversion from string: parse ${JSON.stringify(s)}: invalid URI`,
      );
    return url;
  });
  env.registerFunction("isURL(string): bool", (s: string) => parseURL(s) !== undefined);
  env.registerFunction("kubernetes.URL.getScheme(): string", (u: CelURL) => u.scheme);
  env.registerFunction("kubernetes.URL.getHost(): string", (u: CelURL) => u.host);
  env.registerFunction("kubernetes.URL.getHostname(): string", hostname);
  env.registerFunction("kubernetes.URL.getPort(): string", port);
  env.registerFunction("kubernetes.URL.getEscapedPath(): string", (u: CelURL) => u.escapedPath);
  env.registerFunction("kubernetes.URL.getQuery(): map<string, list<string>>", (u: CelURL) =>
    queryMap(u.rawQuery),
  );

  // Kubernetes quantity library.
  env.registerType("kubernetes.Quantity", CelQuantity);
  env.registerFunction("quantity(string): kubernetes.Quantity", quantityOf);
  env.registerFunction("isQuantity(string): bool", (s: string) => parseQuantity(s) !== undefined);
  env.registerFunction("kubernetes.Quantity.sign(): int", (q: CelQuantity) =>
    BigInt(Math.sign(Number(q.value.num))),
  );
  env.registerFunction(
    "kubernetes.Quantity.isInteger(): bool",
    (q: CelQuantity) => quantityAsInt64(q.value) !== undefined,
  );
  env.registerFunction("kubernetes.Quantity.asInteger(): int", (q: CelQuantity) => {
    const value = quantityAsInt64(q.value);
    if (value === undefined) throw celError("cannot convert value to integer");
    return value;
  });
  env.registerFunction("kubernetes.Quantity.asApproximateFloat(): double", (q: CelQuantity) =>
    quantityAsFloat(q.value),
  );
  const other = (x: CelQuantity | bigint) => (x instanceof CelQuantity ? x.value : makeQuantity(x));
  for (const arg of ["kubernetes.Quantity", "int"]) {
    env.registerFunction(
      `kubernetes.Quantity.add(${arg}): kubernetes.Quantity`,
      (q: CelQuantity, x: CelQuantity | bigint) => new CelQuantity(addQuantities(q.value, other(x))),
    );
    env.registerFunction(
      `kubernetes.Quantity.sub(${arg}): kubernetes.Quantity`,
      (q: CelQuantity, x: CelQuantity | bigint) =>
        new CelQuantity(addQuantities(q.value, negateQuantity(other(x)))),
    );
  }
  env.registerFunction(
    "kubernetes.Quantity.isGreaterThan(kubernetes.Quantity): bool",
    (a: CelQuantity, b: CelQuantity) => compareQuantities(a.value, b.value) > 0,
  );
  env.registerFunction(
    "kubernetes.Quantity.isLessThan(kubernetes.Quantity): bool",
    (a: CelQuantity, b: CelQuantity) => compareQuantities(a.value, b.value) < 0,
  );
  env.registerFunction(
    "kubernetes.Quantity.compareTo(kubernetes.Quantity): int",
    (a: CelQuantity, b: CelQuantity) => BigInt(compareQuantities(a.value, b.value)),
  );
  env.registerOperator(
    "kubernetes.Quantity == kubernetes.Quantity",
    (a: CelQuantity, b: CelQuantity) => compareQuantities(a.value, b.value) === 0,
  );

  // Optional types: the helper the engine lacks.
  env.registerFunction("OptionalNamespace.ofNonZeroValue(A): optional<A>", (_: unknown, value: unknown) =>
    isZeroValue(value) ? optionalNone() : optionalOf(value),
  );
  return env;
}

let optionalHelpers: { of: (v: unknown) => unknown; none: () => unknown } | undefined;

function optionalOf(value: unknown): unknown {
  optionalHelpers ??= loadOptionalHelpers();
  return optionalHelpers.of(value);
}

function optionalNone(): unknown {
  optionalHelpers ??= loadOptionalHelpers();
  return optionalHelpers.none();
}

function loadOptionalHelpers() {
  const probe = new Environment({ enableOptionalTypes: true, unlistedVariablesAreDyn: true });
  const none = probe.evaluate("optional.none()");
  const ctor = (none as { constructor: { of: (v: unknown) => unknown; none: () => unknown } }).constructor;
  return { of: (v: unknown) => ctor.of(v), none: () => ctor.none() };
}

function isZeroValue(value: unknown): boolean {
  if (value === null || value === false || value === "" || value === 0 || value === 0n) return true;
  if (Array.isArray(value) || value instanceof Uint8Array) return value.length === 0;
  if (value instanceof Map) return value.size === 0;
  return false;
}
