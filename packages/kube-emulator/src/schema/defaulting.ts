// Defaulting (pkg/apiserver/schema/defaulting/algorithm.go): a missing field, or a null the schema
// does not allow, takes a deep copy of the schema's default; applied after pruning.
import { deepCopy, isJsonObject } from "./json.js";
import { additionalProperties, hasDefault, isNullable, items, properties, property } from "./schema-model.js";
import type { JsonSchemaProps } from "./types.js";

function isNonNullableNull(x: unknown, s: JsonSchemaProps | undefined): boolean {
  return x === null && s !== undefined && !isNullable(s);
}

export function defaultInPlace(x: unknown, s: JsonSchemaProps | undefined): void {
  if (!s) return;
  if (isJsonObject(x)) {
    for (const [name, prop] of properties(s)) {
      if (!hasDefault(prop)) continue;
      if (!Object.hasOwn(x, name) || isNonNullableNull(x[name], prop)) x[name] = deepCopy(prop.default);
    }
    const additional = additionalProperties(s)?.schema;
    for (const key of Object.keys(x)) {
      const prop = property(s, key);
      if (prop) defaultInPlace(x[key], prop);
      else if (additional) {
        if (isNonNullableNull(x[key], additional)) x[key] = deepCopy(additional.default ?? null);
        defaultInPlace(x[key], additional);
      }
    }
  } else if (Array.isArray(x)) {
    const itemSchema = items(s);
    for (let i = 0; i < x.length; i++) {
      if (isNonNullableNull(x[i], itemSchema)) x[i] = deepCopy(itemSchema?.default ?? null);
      defaultInPlace(x[i], itemSchema);
    }
  }
}
