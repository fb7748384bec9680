// Field paths and sets as sigs.k8s.io/structured-merge-diff writes them in managedFields
// (fieldsV1): "f:name" for a field, "k:{...}" for an associative list item by its keys,
// "v:<json>" for a set member, "i:<n>" for a positional item.
import type { JsonObject, JsonValue } from "../json.js";
import { canonicalJson, deepEqual, isObject } from "../json.js";
import type { TypeNode } from "../typed.js";
import { listItemKey } from "../typed.js";

/** A path is its elements joined by a newline (no element can hold a raw newline). */
export type FieldPath = string;

const SEP = "\n";

export function childPath(parent: FieldPath, element: string): FieldPath {
  return parent === "" ? element : `${parent}${SEP}${element}`;
}

export function pathElements(path: FieldPath): string[] {
  return path === "" ? [] : path.split(SEP);
}

export function fieldElement(name: string): string {
  return `f:${name}`;
}

/** The element naming a list item: by key, by value or by position, as the list type says. */
export function listItemElement(type: TypeNode, item: JsonValue, index: number): string {
  const listType = type.listType;
  if (listType === "map") {
    const key = listItemKey(item, type.listMapKeys);
    if (key) return `k:${sortedJson(key)}`;
  } else if (listType === "set") {
    return `v:${canonicalJson(item)}`;
  }
  return `i:${index}`;
}

function sortedJson(obj: JsonObject): string {
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** Flat set of paths; each path is a member (a field someone manages). */
export class FieldSet {
  readonly paths: Set<FieldPath>;

  constructor(paths?: Iterable<FieldPath>) {
    this.paths = new Set(paths);
  }

  get size(): number {
    return this.paths.size;
  }

  has(path: FieldPath): boolean {
    return this.paths.has(path);
  }

  add(path: FieldPath): void {
    this.paths.add(path);
  }

  union(...others: FieldSet[]): FieldSet {
    const out = new FieldSet(this.paths);
    for (const other of others) for (const p of other.paths) out.paths.add(p);
    return out;
  }

  difference(other: FieldSet): FieldSet {
    return new FieldSet([...this.paths].filter((p) => !other.paths.has(p)));
  }

  intersection(other: FieldSet): FieldSet {
    return new FieldSet([...this.paths].filter((p) => other.paths.has(p)));
  }

  /** Removes every path under (or equal to) one of the given prefixes. */
  withoutPrefixes(prefixes: FieldPath[]): FieldSet {
    if (prefixes.length === 0) return this;
    return new FieldSet(
      [...this.paths].filter((p) => !prefixes.some((prefix) => p === prefix || p.startsWith(prefix + SEP))),
    );
  }

  /** Every strict ancestor of a member. */
  ancestors(): Set<FieldPath> {
    const out = new Set<FieldPath>();
    for (const p of this.paths) {
      let at = p.lastIndexOf(SEP);
      while (at > 0) {
        const parent = p.slice(0, at);
        if (out.has(parent)) break;
        out.add(parent);
        at = parent.lastIndexOf(SEP);
      }
    }
    return out;
  }

  /** The fieldsV1 form: a trie of path elements, "." marking a member that also has children. */
  toFieldsV1(): JsonObject {
    interface Node {
      member: boolean;
      children: Map<string, Node>;
    }
    const root: Node = { member: false, children: new Map() };
    for (const path of this.paths) {
      let node = root;
      for (const element of pathElements(path)) {
        let next = node.children.get(element);
        if (!next) {
          next = { member: false, children: new Map() };
          node.children.set(element, next);
        }
        node = next;
      }
      node.member = true;
    }
    const render = (node: Node): JsonObject => {
      const out: JsonObject = {};
      if (node.member && node.children.size > 0) out["."] = {};
      for (const key of [...node.children.keys()].sort()) out[key] = render(node.children.get(key)!);
      return out;
    };
    return render(root);
  }

  static fromFieldsV1(fields: unknown): FieldSet {
    const set = new FieldSet();
    const walk = (node: JsonObject, path: FieldPath): void => {
      const keys = Object.keys(node);
      if (path !== "" && (keys.length === 0 || keys.includes("."))) set.add(path);
      for (const key of keys) {
        if (key === ".") continue;
        const child = node[key];
        walk(isObject(child) ? child : {}, childPath(path, key));
      }
    };
    if (isObject(fields)) walk(fields, "");
    return set;
  }
}

/** Renders a path as structured-merge-diff prints it in conflict messages: `.spec.ports[port=80]`. */
export function renderPath(path: FieldPath): string {
  let out = "";
  for (const element of pathElements(path)) {
    const value = element.slice(2);
    switch (element.slice(0, 2)) {
      case "f:":
        out += `.${value}`;
        break;
      case "k:": {
        const key = JSON.parse(value) as JsonObject;
        out += `[${Object.keys(key)
          .map((k) => `${k}=${JSON.stringify(key[k])}`)
          .join(",")}]`;
        break;
      }
      case "v:":
        out += `[=${value}]`;
        break;
      default:
        out += `[${value}]`;
    }
  }
  return out;
}

/** Finds the index of the list item an element names. */
export function findListItem(list: JsonValue[], element: string): number {
  const kind = element.slice(0, 2);
  const value = element.slice(2);
  if (kind === "i:") {
    const index = Number(value);
    return index < list.length ? index : -1;
  }
  const wanted = JSON.parse(value) as JsonValue;
  if (kind === "v:") return list.findIndex((item) => deepEqual(item, wanted));
  if (!isObject(wanted)) return -1;
  return list.findIndex(
    (item) => isObject(item) && Object.keys(wanted).every((k) => deepEqual(item[k], wanted[k])),
  );
}

/** Deletes the value at a path in place; missing paths are ignored. */
export function removePath(root: JsonObject, path: FieldPath): void {
  const elements = pathElements(path);
  let node: JsonValue = root;
  for (let i = 0; i < elements.length; i++) {
    const element = elements[i]!;
    const last = i === elements.length - 1;
    if (element.startsWith("f:")) {
      if (!isObject(node)) return;
      const name = element.slice(2);
      if (last) {
        delete node[name];
        return;
      }
      node = node[name] as JsonValue;
    } else {
      if (!Array.isArray(node)) return;
      const index = findListItem(node, element);
      if (index < 0) return;
      if (last) {
        node.splice(index, 1);
        return;
      }
      node = node[index] as JsonValue;
    }
    if (node === undefined) return;
  }
}
