// JSON patch (RFC 6902) with JSON pointers (RFC 6901). A body that is not a list of
// operations is a decoding error (400); an operation that cannot apply is a 422, as the API
// server answers through evanphx/json-patch.
import { badRequest, patchRejected } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { clone, deepEqual, isObject } from "../json.js";

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: JsonValue;
  hasValue: boolean;
}

/** Parses the body into operations; the shape is checked, the operations themselves are not. */
export function decodeJsonPatch(body: unknown): Operation[] {
  if (!Array.isArray(body)) {
    throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  }
  return body.map((raw) => {
    if (!isObject(raw)) throw badRequest("json: cannot unmarshal into Go value of type jsonpatch.Operation");
    const op: Operation = {
      op: typeof raw.op === "string" ? raw.op : "",
      path: typeof raw.path === "string" ? raw.path : "",
      hasValue: Object.hasOwn(raw, "value"),
    };
    if (typeof raw.from === "string") op.from = raw.from;
    if (op.hasValue) op.value = raw.value;
    return op;
  });
}

class PatchFailed extends Error {}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new PatchFailed(`invalid pointer ${pointer}`);
  return pointer
    .slice(1)
    .split("/")
    .map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
}

type Container = JsonObject | JsonValue[];

function parentOf(doc: JsonValue, tokens: string[]): { parent: Container; key: string } {
  if (tokens.length === 0) throw new PatchFailed("the root cannot be the target of this operation");
  let node: JsonValue = doc;
  for (const token of tokens.slice(0, -1)) {
    node = childOf(node, token);
  }
  if (!isObject(node) && !Array.isArray(node)) throw new PatchFailed("parent is not a container");
  return { parent: node, key: tokens[tokens.length - 1]! };
}

function arrayIndex(list: JsonValue[], token: string, forInsert: boolean): number {
  if (forInsert && token === "-") return list.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchFailed(`invalid index ${token}`);
  const index = Number(token);
  if (index > list.length || (!forInsert && index === list.length))
    throw new PatchFailed("index out of range");
  return index;
}

function childOf(node: JsonValue, token: string): JsonValue {
  if (Array.isArray(node)) return node[arrayIndex(node, token, false)]!;
  if (isObject(node) && Object.hasOwn(node, token)) return node[token]!;
  throw new PatchFailed(`missing ${token}`);
}

function getAt(doc: JsonValue, pointer: string): JsonValue {
  let node = doc;
  for (const token of parsePointer(pointer)) node = childOf(node, token);
  return node;
}

function add(doc: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: JsonValue, pointer: string): JsonValue {
  const { parent, key } = parentOf(doc, parsePointer(pointer));
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(parent, key, false), 1);
  } else {
    if (!Object.hasOwn(parent, key)) throw new PatchFailed(`Unable to remove nonexistent key: ${key}`);
    delete parent[key];
  }
  return doc;
}

function replace(doc: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    parent[arrayIndex(parent, key, false)] = value;
  } else {
    if (!Object.hasOwn(parent, key))
      throw new PatchFailed(`replace operation does not apply: doc is missing key: ${pointer}`);
    parent[key] = value;
  }
  return doc;
}

export function applyJsonPatch(target: JsonValue, operations: Operation[]): JsonValue {
  let doc = clone(target);
  try {
    for (const op of operations) {
      const needsValue = op.op === "add" || op.op === "replace" || op.op === "test";
      if (needsValue && !op.hasValue) throw new PatchFailed(`missing value for ${op.op}`);
      switch (op.op) {
        case "add":
          doc = add(doc, op.path, clone(op.value!));
          break;
        case "remove":
          doc = remove(doc, op.path);
          break;
        case "replace":
          doc = replace(doc, op.path, clone(op.value!));
          break;
        case "move": {
          if (op.from === undefined) throw new PatchFailed("missing from");
          const value = getAt(doc, op.from);
          doc = remove(doc, op.from);
          doc = add(doc, op.path, value);
          break;
        }
        case "copy": {
          if (op.from === undefined) throw new PatchFailed("missing from");
          doc = add(doc, op.path, clone(getAt(doc, op.from)));
          break;
        }
        case "test": {
          let actual: JsonValue | undefined;
          try {
            actual = getAt(doc, op.path);
          } catch {
            actual = undefined;
          }
          if (!deepEqual(actual ?? null, op.value) || (actual === undefined && op.value !== null)) {
            throw new PatchFailed(`testing value ${op.path} failed`);
          }
          break;
        }
        default:
          throw new PatchFailed(`Unexpected kind: ${op.op}`);
      }
    }
  } catch (error) {
    if (error instanceof PatchFailed) throw patchRejected();
    throw error;
  }
  return doc;
}
