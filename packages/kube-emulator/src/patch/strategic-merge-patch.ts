// Strategic merge patch, for built-in kinds only: a merge patch in which lists whose schema
// says `x-kubernetes-patch-strategy: merge` are merged by their merge key, with the patch
// directives kubectl sends ($patch, $retainKeys, $setElementOrder/, $deleteFromPrimitiveList/).
import { badRequest } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { clone, deepEqual, isObject } from "../json.js";
import type { TypeNode } from "../typed.js";

const SET_ORDER = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList/";

export function applyStrategicMergePatch(original: JsonValue, patch: JsonValue, type: TypeNode): JsonValue {
  if (!isObject(patch)) throw badRequest("strategic merge patch must be a JSON object");
  const merged = mergeMap(isObject(original) ? original : {}, patch, type);
  return merged ?? {};
}

function mergeMap(original: JsonObject, patch: JsonObject, type: TypeNode): JsonObject | undefined {
  const directive = patch.$patch;
  if (directive === "delete") return undefined;
  if (directive === "replace") {
    const { $patch: _directive, ...rest } = patch;
    return clone(rest);
  }
  if (directive !== undefined && directive !== "merge") {
    throw badRequest(`Unknown patch type: ${String(directive)} in map: ${JSON.stringify(patch)}`);
  }
  const out: JsonObject = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys" || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        out[field] = current.filter((item) => !value.some((v) => deepEqual(v, item)));
      }
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const child = type.child(key);
    const merged = mergeValue(out[key], value, child);
    if (merged === undefined) delete out[key];
    else out[key] = merged;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (key.startsWith(SET_ORDER) && Array.isArray(order)) {
      const field = key.slice(SET_ORDER.length);
      const list = out[field];
      if (Array.isArray(list)) out[field] = reorder(list, order, type.child(field));
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}

function mergeValue(
  original: JsonValue | undefined,
  patch: JsonValue,
  type: TypeNode,
): JsonValue | undefined {
  if (isObject(patch)) {
    if (type.shape === "scalar") return clone(patch);
    return mergeMap(isObject(original) ? original : {}, patch, type);
  }
  if (Array.isArray(patch) && type.shape === "list" && type.patchStrategies.includes("merge")) {
    return mergeList(Array.isArray(original) ? original : [], patch, type);
  }
  return clone(patch);
}

function mergeList(original: JsonValue[], patch: JsonValue[], type: TypeNode): JsonValue[] {
  const mergeKey = type.patchMergeKey;
  if (patch.some((item) => isObject(item) && item.$patch === "replace")) {
    return clone(patch.filter((item) => !(isObject(item) && item.$patch === "replace")));
  }
  if (!mergeKey) {
    const out = [...original];
    for (const item of patch) if (!out.some((existing) => deepEqual(existing, item))) out.push(clone(item));
    return out;
  }
  const out = [...original];
  const element = type.element();
  for (const item of patch) {
    if (!isObject(item)) {
      out.push(clone(item));
      continue;
    }
    const index = out.findIndex(
      (existing) => isObject(existing) && deepEqual(existing[mergeKey], item[mergeKey]),
    );
    if (item.$patch === "delete") {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = mergeMap(out[index] as JsonObject, item, element);
      if (merged === undefined) out.splice(index, 1);
      else out[index] = merged;
    } else {
      const merged = mergeMap({}, item, element);
      if (merged !== undefined) out.push(merged);
    }
  }
  return out;
}

/** $setElementOrder: items named in the order come first, in that order; the rest keep theirs. */
function reorder(list: JsonValue[], order: JsonValue[], type: TypeNode): JsonValue[] {
  const mergeKey = type.patchMergeKey;
  const keyOf = (item: JsonValue): JsonValue =>
    mergeKey && isObject(item) ? (item[mergeKey] ?? null) : item;
  const position = (item: JsonValue): number => {
    const key = keyOf(item);
    const at = order.findIndex((o) => deepEqual(keyOf(o), key));
    return at < 0 ? Number.MAX_SAFE_INTEGER : at;
  };
  return list
    .map((item, index) => ({ item, index }))
    .sort((a, b) => position(a.item) - position(b.item) || a.index - b.index)
    .map(({ item }) => item);
}
