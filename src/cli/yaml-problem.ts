// One YAML syntax error as a person reads it: the line that is wrong, its text, and what is wrong,
// said once (the yaml library's message repeats its position and ends on a colon).
import type { YAMLError } from "yaml";

export function describeYamlProblem(text: string, errors: readonly YAMLError[]): string {
  const first = errors[0];
  if (!first) return "not YAML";
  // An over-indented line makes the yaml library read the line before it as a multi-line key and
  // report that earlier line; the line to fix is where the key's span ends.
  const overIndented = errors.find(
    (error) =>
      error.code === "MULTILINE_IMPLICIT_KEY" &&
      error.linePos?.[1] !== undefined &&
      error.linePos[1].line > error.linePos[0].line,
  );
  if (overIndented?.linePos?.[1]) {
    const line = overIndented.linePos[1].line;
    return `not YAML at line ${line} (${quoted(lineOf(text, line))}): indented deeper than the key above it; align it with its sibling keys or nest it under a key that ends with ':'`;
  }
  const at = first.linePos?.[0];
  const what = first.message
    .split("\n")[0]!
    .replace(/ at line \d+, column \d+:?\s*$/, "")
    .replace(/:\s*$/, "");
  if (!at) return `not YAML: ${what}`;
  return `not YAML at line ${at.line}, column ${at.col} (${quoted(lineOf(text, at.line))}): ${lowerFirst(what)}`;
}

function lineOf(text: string, line: number): string {
  return text.split(/\r?\n/)[line - 1] ?? "";
}

function quoted(line: string): string {
  const trimmed = line.trim();
  return JSON.stringify(trimmed.length > 60 ? `${trimmed.slice(0, 57)}...` : trimmed);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
