// Renders values the way Go's fmt does in the API server's error messages (%q, %v, %#v), so that
// a cause's message reads byte for byte like the one a real cluster returns.

/** A value already rendered in Go syntax (e.g. a struct), printed as is by %#v. */
export class GoLiteral {
  constructor(readonly text: string) {}
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (printable.test(ch) && !(code >= 0xd800 && code <= 0xdfff)) out += ch;
    else if (ch === "\x07") out += "\\a";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\v") out += "\\v";
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code >= 0xd800 && code <= 0xdfff) out += "\\ufffd";
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** %v of a float64: strconv's shortest 'g' format, which switches to an exponent below 1e-4 and from 1e6 up. */
export function goFloat(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const [mantissa = "", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return String(value);
}

/** Whether a JSON number decodes to int64 in Go's unstructured JSON (an integral value). */
export function isGoInteger(value: number): boolean {
  return Number.isInteger(value);
}

/** %v for the simple types the field errors print plainly (int64, float64, bool). */
export function goScalar(value: number | boolean): string {
  if (typeof value === "boolean") return String(value);
  return isGoInteger(value) ? String(value) : goFloat(value);
}

/** %#v of a decoded JSON value (map[string]interface {}, []interface {}, scalars). */
export function goSyntax(value: unknown): string {
  if (value instanceof GoLiteral) return value.text;
  if (value === null || value === undefined) return "interface {}(nil)";
  if (typeof value === "string") return goQuote(value);
  if (typeof value === "number" || typeof value === "boolean") return goScalar(value);
  if (typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return `[]interface {}{${value.map((item) => goSyntax(item)).join(", ")}}`;
  if (typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${goQuote(key)}:${goSyntax((value as Record<string, unknown>)[key])}`);
    return `map[string]interface {}{${entries.join(", ")}}`;
  }
  return String(value);
}
