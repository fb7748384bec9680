// ValidFieldPath (apiextensions-apiserver pkg/apiserver/schema/cel/validation.go): a rule's
// fieldPath is a JSON path of field names and map keys ("spec.foo", ".x['a.b']") that must exist
// in the schema; it is reported relative to the rule's node.
import { FieldPath } from "../field-errors.js";
import { additionalProperties, properties, property } from "../schema-model.js";
import type { JsonSchemaProps } from "../types.js";

function tokenize(jsonPath: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < jsonPath.length) {
    const ch = jsonPath[i] as string;
    if (ch === "." || ch === "[" || ch === "]") {
      tokens.push(ch);
      i++;
      continue;
    }
    let end = i;
    if (ch === "'") {
      end = i + 1;
      while (end < jsonPath.length && !(jsonPath[end] === "'" && jsonPath[end - 1] !== "\\")) end++;
      tokens.push(jsonPath.slice(i, end + 1));
      i = end + 1;
      continue;
    }
    while (end < jsonPath.length && !".[]".includes(jsonPath[end] as string)) end++;
    tokens.push(jsonPath.slice(i, end));
    i = end;
  }
  return tokens;
}

function unescapeSingleQuote(text: string): string {
  const escapes: Record<string, string> = {
    a: "\x07",
    b: "\b",
    f: "\f",
    n: "\n",
    r: "\r",
    t: "\t",
    v: "\v",
    "'": "'",
    "\\": "\\",
  };
  return text.replace(/\\(.)/g, (_, ch: string) => {
    const replacement = escapes[ch];
    if (replacement === undefined) throw new Error(`invalid escape char \\${ch}`);
    return replacement;
  });
}

/** The normalized path ("foo.bar", "labels[key]"), or an error text. */
export function validFieldPath(
  jsonPath: string,
  root: JsonSchemaProps,
): { path: string } | { error: string } {
  let schema: JsonSchemaProps | undefined = root;
  let path = FieldPath.root;
  const tokens = tokenize(jsonPath);
  const append = (name: string): string | undefined => {
    if (!schema) return "does not refer to a valid field";
    if (properties(schema).length > 0) {
      path = path.child(name);
      schema = property(schema, name);
      return schema ? undefined : "does not refer to a valid field";
    }
    const additional = additionalProperties(schema);
    if (additional) {
      path = path.key(name);
      schema = additional.schema;
      return undefined;
    }
    return "does not refer to a valid field";
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token === "[") {
      const quoted = tokens[++i];
      if (quoted === undefined) return { error: "unexpected end of JSON path" };
      if (quoted.length < 2 || !quoted.startsWith("'") || !quoted.endsWith("'")) {
        return { error: `expected single quoted string but got ${quoted}` };
      }
      let name: string;
      try {
        name = unescapeSingleQuote(quoted.slice(1, -1));
      } catch (error) {
        return { error: `invalid string literal: ${(error as Error).message}` };
      }
      const error = append(name);
      if (error) return { error };
      const close = tokens[++i];
      if (close === undefined) return { error: "unexpected end of JSON path" };
      if (close !== "]") return { error: `expected ] but got ${close}` };
    } else if (token === ".") {
      const name = tokens[++i];
      if (name === undefined) return { error: "unexpected end of JSON path" };
      const error = append(name);
      if (error) return { error };
    } else {
      return { error: `expected [ or . but got: ${token}` };
    }
  }
  return { path: path.isRoot() ? "" : path.toString() };
}
