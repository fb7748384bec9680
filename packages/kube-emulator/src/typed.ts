// A walker over OpenAPI v3 schemas (built-in components with $ref, or a CRD's structural
// schema): what shape a value has at a path, which lists are associative and on which keys.
// Server-side apply, strategic merge patch and built-in decoding all read types through it.
import type { JsonObject, JsonValue } from "./json.js";
import { isObject } from "./json.js";

export type Schema = JsonObject;

export type Shape = "struct" | "map" | "list" | "scalar" | "untyped";

export type ListType = "atomic" | "set" | "map";

const REF_PREFIX = "#/components/schemas/";

export class TypeNode {
  private cachedSchema: Schema | undefined | null = null;

  constructor(
    private readonly components: Record<string, Schema>,
    private readonly raw: Schema | undefined,
  ) {}

  /** The schema with $ref (or a lone allOf $ref) followed. */
  get schema(): Schema | undefined {
    if (this.cachedSchema === null) this.cachedSchema = resolve(this.components, this.raw);
    return this.cachedSchema;
  }

  get shape(): Shape {
    const s = this.schema;
    if (!s) return "untyped";
    if (s["x-kubernetes-int-or-string"] === true) return "scalar";
    const type = s.type;
    if (type === "array") return "list";
    if (type === "object" || isObject(s.properties) || s.additionalProperties !== undefined) {
      if (isObject(s.properties) && Object.keys(s.properties).length > 0) return "struct";
      if (isObject(s.additionalProperties) || s.additionalProperties === true) return "map";
      if (s["x-kubernetes-preserve-unknown-fields"] === true) return "untyped";
      return "struct";
    }
    if (type === "string" || type === "integer" || type === "number" || type === "boolean") return "scalar";
    return "untyped";
  }

  /** Unknown fields of a struct are kept (and typed as untyped) rather than dropped. */
  get preservesUnknownFields(): boolean {
    return this.schema?.["x-kubernetes-preserve-unknown-fields"] === true;
  }

  hasField(name: string): boolean {
    const props = this.schema?.properties;
    return isObject(props) && Object.hasOwn(props, name);
  }

  /** The type of a struct field or a map value; untyped when the schema does not say. */
  child(name: string): TypeNode {
    const s = this.schema;
    if (!s) return this.untyped();
    const props = s.properties;
    if (isObject(props) && Object.hasOwn(props, name)) return this.node(props[name] as Schema);
    if (isObject(s.additionalProperties)) return this.node(s.additionalProperties);
    return this.untyped();
  }

  element(): TypeNode {
    const items = this.schema?.items;
    return isObject(items) ? this.node(items) : this.untyped();
  }

  get listType(): ListType {
    const s = this.schema;
    const declared = s?.["x-kubernetes-list-type"];
    if (declared === "set" || declared === "map" || declared === "atomic") return declared;
    if (this.patchStrategies.includes("merge")) return this.patchMergeKey ? "map" : "set";
    return "atomic";
  }

  get listMapKeys(): string[] {
    const keys = this.schema?.["x-kubernetes-list-map-keys"];
    if (Array.isArray(keys)) return keys.filter((k): k is string => typeof k === "string");
    const mergeKey = this.patchMergeKey;
    return mergeKey ? [mergeKey] : [];
  }

  /** x-kubernetes-map-type: atomic (or an untyped value, which apply treats as a whole). */
  get mapIsAtomic(): boolean {
    return this.schema?.["x-kubernetes-map-type"] === "atomic";
  }

  get patchMergeKey(): string | undefined {
    const key = this.schema?.["x-kubernetes-patch-merge-key"];
    return typeof key === "string" ? key : undefined;
  }

  get patchStrategies(): string[] {
    const strategy = this.schema?.["x-kubernetes-patch-strategy"];
    return typeof strategy === "string" ? strategy.split(",") : [];
  }

  get format(): string | undefined {
    const format = this.schema?.format;
    return typeof format === "string" ? format : undefined;
  }

  get scalarType(): string | undefined {
    const s = this.schema;
    if (!s) return undefined;
    if (s["x-kubernetes-int-or-string"] === true) return "int-or-string";
    return typeof s.type === "string" ? s.type : undefined;
  }

  private node(schema: Schema): TypeNode {
    return new TypeNode(this.components, schema);
  }

  private untyped(): TypeNode {
    return new TypeNode(this.components, undefined);
  }
}

function resolve(components: Record<string, Schema>, schema: Schema | undefined): Schema | undefined {
  let current = schema;
  for (let depth = 0; current && depth < 8; depth++) {
    const ref = refOf(current);
    if (!ref) return current;
    const target = components[ref];
    if (!target) return undefined;
    // Keep the extensions written beside the $ref (list types, patch keys) on top of the target.
    const { $ref: _ref, allOf: _allOf, ...beside } = current;
    current = Object.keys(beside).length > 0 ? { ...target, ...beside } : target;
  }
  return current;
}

function refOf(schema: Schema): string | undefined {
  const direct = schema.$ref;
  if (typeof direct === "string" && direct.startsWith(REF_PREFIX)) return direct.slice(REF_PREFIX.length);
  const allOf = schema.allOf;
  if (Array.isArray(allOf) && allOf.length === 1 && isObject(allOf[0])) {
    const inner = (allOf[0] as JsonObject).$ref;
    if (typeof inner === "string" && inner.startsWith(REF_PREFIX)) return inner.slice(REF_PREFIX.length);
  }
  return undefined;
}

/** The key fields of an associative list item, in the order the list declares them. */
export function listItemKey(item: JsonValue, keys: string[]): JsonObject | undefined {
  if (!isObject(item)) return undefined;
  const key: JsonObject = {};
  for (const k of keys) if (item[k] !== undefined) key[k] = item[k];
  return key;
}
