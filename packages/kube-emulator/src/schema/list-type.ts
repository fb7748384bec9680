// x-kubernetes-list-type set and map invariants (pkg/apiserver/schema/listtype/validation.go):
// set items are unique, map items are objects with unique keys; one Duplicate per repeated entry.
import { type FieldPath, fieldError } from "./field-errors.js";
import { canonicalJson, isJsonObject, type JsonObject } from "./json.js";
import { additionalProperties, items, listMapKeys, listType, properties } from "./schema-model.js";
import type { JsonSchemaProps, SchemaCause } from "./types.js";

export function validateListSetsAndMaps(
  path: FieldPath,
  s: JsonSchemaProps | undefined,
  obj: unknown,
): SchemaCause[] {
  if (!s || !isJsonObject(obj)) return [];
  const errors: SchemaCause[] = [];
  const additional = additionalProperties(s)?.schema;
  if (additional) {
    for (const [key, value] of Object.entries(obj))
      errors.push(...validateValue(path.key(key), additional, value));
  }
  const declared = new Map(properties(s));
  for (const [key, value] of Object.entries(obj)) {
    const sub = declared.get(key);
    if (sub) errors.push(...validateValue(path.child(key), sub, value));
  }
  return errors;
}

function validateValue(path: FieldPath, s: JsonSchemaProps, value: unknown): SchemaCause[] {
  if (Array.isArray(value)) return validateArray(path, s, value);
  if (isJsonObject(value)) return validateListSetsAndMaps(path, s, value);
  return [];
}

function validateArray(path: FieldPath, s: JsonSchemaProps, list: unknown[]): SchemaCause[] {
  const errors: SchemaCause[] = [];
  const type = listType(s);
  if (type === "set") {
    for (const i of nonUniqueIndices(list)) errors.push(fieldError.duplicate(path.index(i), list[i]));
  } else if (type === "map") {
    errors.push(...validateListMap(path, listMapKeys(s), list));
  }
  const itemSchema = items(s);
  if (itemSchema) {
    list.forEach((item, i) => {
      errors.push(...validateValue(path.index(i), itemSchema, item));
    });
  }
  return errors;
}

/** The index of each value's second appearance (validateListSet). */
function nonUniqueIndices(list: unknown[]): number[] {
  const seen = new Map<string, number>();
  const indices: number[] = [];
  list.forEach((item, i) => {
    const key = canonicalJson(item);
    const times = seen.get(key) ?? 0;
    seen.set(key, times + 1);
    if (times === 1) indices.push(i);
  });
  return indices;
}

function validateListMap(path: FieldPath, keys: string[], list: unknown[]): SchemaCause[] {
  const bad = list.findIndex((item) => item !== null && !isJsonObject(item));
  if (bad >= 0)
    return [
      fieldError.invalid(path.index(bad), list[bad], "must be an object for an array of list-type map"),
    ];
  if (list.length <= 1) return [];
  const entryKeys = list.map((item) => {
    const key: JsonObject = {};
    if (isJsonObject(item)) for (const name of keys) if (Object.hasOwn(item, name)) key[name] = item[name];
    return key;
  });
  if (keys.length === 1) {
    // One key: the duplicate is reported with that key alone, or as {} when the key is unset.
    const [name] = keys as [string];
    const unset = Symbol("unset");
    const values = entryKeys.map((key) => (Object.hasOwn(key, name) ? key[name] : unset));
    const tagged = values.map((value) => (value === unset ? { unset: true } : { value }));
    return nonUniqueIndices(tagged).map((i) =>
      fieldError.duplicate(path.index(i), values[i] === unset ? {} : { [name]: values[i] }),
    );
  }
  return nonUniqueIndices(entryKeys).map((i) => fieldError.duplicate(path.index(i), entryKeys[i]));
}
