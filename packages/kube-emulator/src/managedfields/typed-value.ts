// Typed operations on object values, following structured-merge-diff: the field set an
// object (or an apply configuration) sets, the comparison of two objects, and the merge of
// an apply configuration into a live object.
import type { JsonObject, JsonValue } from "../json.js";
import { clone, deepEqual, isObject } from "../json.js";
import type { TypeNode } from "../typed.js";
import { childPath, type FieldPath, FieldSet, fieldElement, listItemElement } from "./fieldpath.js";

/** How a value is walked: granular maps and lists are descended, everything else is a leaf. */
function granularity(type: TypeNode, value: JsonValue | undefined): "map" | "list" | "leaf" {
  if (isObject(value)) {
    const shape = type.shape;
    if (shape === "struct" || shape === "map" || shape === "untyped")
      return type.mapIsAtomic ? "leaf" : "map";
    return "leaf";
  }
  if (Array.isArray(value)) {
    if (type.shape !== "list" || type.listType === "atomic") return "leaf";
    return "list";
  }
  return "leaf";
}

/** The fields an object sets: leaves, list items and empty maps, as TypedValue.ToFieldSet. */
export function toFieldSet(value: JsonValue, type: TypeNode): FieldSet {
  const set = new FieldSet();
  walkFields(value, type, "", set);
  return set;
}

function walkFields(value: JsonValue, type: TypeNode, path: FieldPath, set: FieldSet): void {
  switch (granularity(type, value)) {
    case "leaf":
      if (path !== "") set.add(path);
      return;
    case "list": {
      const element = type.element();
      (value as JsonValue[]).forEach((item, index) => {
        const itemPath = childPath(path, listItemElement(type, item, index));
        walkFields(item, element, itemPath, set);
        set.add(itemPath);
      });
      return;
    }
    case "map": {
      const obj = value as JsonObject;
      for (const key of Object.keys(obj)) {
        const child = obj[key]!;
        const fieldPath = childPath(path, fieldElement(key));
        walkFields(child, type.child(key), fieldPath, set);
        if (child === null || (isObject(child) && Object.keys(child).length === 0) || !type.hasField(key)) {
          set.add(fieldPath);
        }
      }
    }
  }
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

export function isSame(c: Comparison): boolean {
  return c.added.size === 0 && c.modified.size === 0 && c.removed.size === 0;
}

/** What changed from `before` to `after`, path by path, as TypedValue.Compare reports it. */
export function compare(before: JsonValue, after: JsonValue, type: TypeNode): Comparison {
  const out: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  compareAt(before, after, type, "", out);
  return out;
}

function compareAt(
  before: JsonValue | undefined,
  after: JsonValue | undefined,
  type: TypeNode,
  path: FieldPath,
  out: Comparison,
): void {
  const kindBefore = before === undefined ? undefined : granularity(type, before);
  const kindAfter = after === undefined ? undefined : granularity(type, after);
  const leaf =
    kindBefore === "leaf" || kindAfter === "leaf" || (kindBefore && kindAfter && kindBefore !== kindAfter);
  if (leaf) {
    if (path === "") return;
    if (before === undefined) out.added.add(path);
    else if (after === undefined) out.removed.add(path);
    else if (!deepEqual(before, after)) out.modified.add(path);
    return;
  }
  const kind = kindBefore ?? kindAfter;
  if (kind === "map") {
    const b = (before ?? {}) as JsonObject;
    const a = (after ?? {}) as JsonObject;
    const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
    for (const key of keys)
      compareAt(b[key], a[key], type.child(key), childPath(path, fieldElement(key)), out);
  } else if (kind === "list") {
    const element = type.element();
    const index = (list: JsonValue[] | undefined): Map<string, JsonValue> => {
      const items = new Map<string, JsonValue>();
      (list ?? []).forEach((item, i) => {
        items.set(listItemElement(type, item, i), item);
      });
      return items;
    };
    const b = index(before as JsonValue[] | undefined);
    const a = index(after as JsonValue[] | undefined);
    for (const key of new Set([...b.keys(), ...a.keys()])) {
      compareAt(b.get(key), a.get(key), element, childPath(path, key), out);
    }
  }
  if (path === "") return;
  if (before === undefined) out.added.add(path);
  else if (after === undefined) out.removed.add(path);
}

/**
 * Merges an apply configuration into the live object: granular maps merge by key,
 * associative lists by their keys, sets by value, and everything else is replaced.
 * A null in the configuration removes the field.
 */
export function mergeApplied(
  live: JsonValue | undefined,
  config: JsonValue,
  type: TypeNode,
): JsonValue | undefined {
  if (config === null) return undefined;
  if (live === undefined) return stripNulls(clone(config));
  const kind = granularity(type, config);
  if (kind === "leaf" || granularity(type, live) !== kind) return stripNulls(clone(config));
  if (kind === "map") {
    const out: JsonObject = { ...(live as JsonObject) };
    for (const [key, value] of Object.entries(config as JsonObject)) {
      const merged = mergeApplied(out[key], value, type.child(key));
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    }
    return out;
  }
  const element = type.element();
  const liveItems = live as JsonValue[];
  const configItems = config as JsonValue[];
  const configByKey = new Map<string, JsonValue>();
  configItems.forEach((item, i) => {
    configByKey.set(listItemElement(type, item, i), item);
  });
  const out: JsonValue[] = [];
  const seen = new Set<string>();
  liveItems.forEach((item, i) => {
    const key = listItemElement(type, item, i);
    seen.add(key);
    const applied = configByKey.get(key);
    const merged = applied === undefined ? item : mergeApplied(item, applied, element);
    if (merged !== undefined) out.push(merged);
  });
  configItems.forEach((item, i) => {
    const key = listItemElement(type, item, i);
    if (!seen.has(key)) out.push(stripNulls(clone(item)) as JsonValue);
  });
  return out;
}

function stripNulls<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) {
    for (const item of value) stripNulls(item);
  } else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      if (value[key] === null) delete value[key];
      else stripNulls(value[key]!);
    }
  }
  return value;
}
