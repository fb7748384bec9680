// The CEL type of each schema node and the conversion of decoded JSON into CEL values
// (apiserver/pkg/cel/common/schemas.go SchemaDeclType, values.go UnstructuredToVal).
// Objects with properties become declared object types, so that `self.unknownField` fails to
// compile as it does on a real API server; property names are escaped (escaping.go).
import { Environment } from "@marcbachmann/cel-js";
import { isGoDuration } from "../formats.js";
import { isJsonObject } from "../json.js";
import {
  additionalProperties,
  isEmbeddedResource,
  isIntOrString,
  items,
  properties,
  schemaFormat,
  schemaType,
} from "../schema-model.js";
import type { JsonSchemaProps } from "../types.js";
import { celEqual } from "./values.js";

const reserved = new Set([
  "true",
  "false",
  "null",
  "in",
  "as",
  "break",
  "const",
  "continue",
  "else",
  "for",
  "function",
  "if",
  "import",
  "let",
  "loop",
  "package",
  "namespace",
  "return",
  "var",
  "void",
  "while",
]);

/** cel.Escape: the CEL identifier for a property name, or undefined when it cannot be expressed. */
export function escapeName(name: string): string | undefined {
  if (name === "" || /^[0-9]/.test(name)) return undefined;
  if (reserved.has(name)) return `__${name}__`;
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) return undefined;
  return name.replace(
    /__|[.\-/]/g,
    (m) => ({ __: "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__" })[m] ?? m,
  );
}

/** A node's CEL type and the conversion of its JSON value. */
export interface DeclType {
  /** The engine's type string: "int", "list<string>", "map<string, T>", a declared object type name... */
  readonly name: string;
  convert(value: unknown): unknown;
  /** For objects: the declared fields by escaped name. */
  readonly fields?: ReadonlyMap<string, { property: string; type: DeclType }>;
  /** For lists and maps: the element type. */
  readonly element?: DeclType;
}

interface ObjectTypeDeclaration {
  name: string;
  ctor: new () => object;
  fields: Record<string, string>;
}

let durationClass: (new (seconds: bigint, nanos: number) => unknown) | undefined;

/** Collects the object types of one schema; registers them on the environments that use them. */
export class TypeRegistry {
  private readonly declarations: ObjectTypeDeclaration[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly prefix: string) {}

  register(env: Environment): void {
    for (const declaration of this.declarations) {
      env.registerType(declaration.name, { ctor: declaration.ctor, fields: declaration.fields });
      env.registerOperator(`${declaration.name} == ${declaration.name}`, celEqual);
    }
  }

  /** SchemaDeclType: the type of a node, undefined when CEL cannot see it (no type, unknown fields). */
  declType(s: JsonSchemaProps, isResourceRoot: boolean, path: string): DeclType | undefined {
    if (isIntOrString(s)) return intOrString;
    const schema = isResourceRoot ? withTypeAndObjectMeta(s) : s;
    switch (schemaType(schema)) {
      case "array": {
        const itemSchema = items(schema);
        if (!itemSchema) return undefined;
        const element = this.declType(itemSchema, isEmbeddedResource(itemSchema), `${path}.items`);
        return element ? listType(element) : undefined;
      }
      case "object": {
        const additional = additionalProperties(schema)?.schema;
        if (additional) {
          const element = this.declType(additional, isEmbeddedResource(additional), `${path}.values`);
          return element ? mapType(element) : undefined;
        }
        return this.objectType(schema, path);
      }
      case "string":
        return stringType(schemaFormat(schema));
      case "boolean":
        return scalar("bool");
      case "number":
        return scalar("double", (v) => (typeof v === "number" ? v : v));
      case "integer":
        return scalar("int", (v) => (typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v));
      default:
        return undefined;
    }
  }

  private objectType(s: JsonSchemaProps, path: string): DeclType {
    const fields = new Map<string, { property: string; type: DeclType }>();
    for (const [property, prop] of properties(s)) {
      const escaped = escapeName(property);
      const type = this.declType(prop, isEmbeddedResource(prop), `${path}.${escaped ?? "unescapable"}`);
      if (escaped && type) fields.set(escaped, { property, type });
    }
    const name = this.uniqueName(`${this.prefix}${path}`);
    const ctor = { [name]: class {} }[name] as new () => object;
    const declaredFields: Record<string, string> = {};
    for (const [escaped, field] of fields) declaredFields[escaped] = field.type.name;
    this.declarations.push({ name, ctor, fields: declaredFields });
    return {
      name,
      fields,
      convert: (value) => {
        if (!isJsonObject(value)) return value;
        const instance = new ctor() as Record<string, unknown>;
        for (const [escaped, field] of fields) {
          const item = value[field.property];
          if (item !== undefined && item !== null) instance[escaped] = field.type.convert(item);
        }
        return instance;
      },
    };
  }

  private uniqueName(base: string): string {
    let name = base.replace(/[^A-Za-z0-9_.]/g, "_");
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }
}

function isStringProperty(s: unknown, name: string): boolean {
  const props = isJsonObject(s) && isJsonObject(s.properties) ? s.properties : {};
  return isJsonObject(props[name]) && schemaType(props[name] as JsonSchemaProps) === "string";
}

/**
 * WithTypeAndObjectMeta: kind, apiVersion, metadata.name and metadata.generateName are always
 * visible; a schema that declares them already (a resolved built-in kind's) is kept as it is.
 */
function withTypeAndObjectMeta(s: JsonSchemaProps): JsonSchemaProps {
  const props = isJsonObject(s.properties) ? { ...s.properties } : {};
  const metadata = props.metadata;
  if (
    isStringProperty(s, "kind") &&
    isStringProperty(s, "apiVersion") &&
    isStringProperty(metadata, "name") &&
    isStringProperty(metadata, "generateName")
  ) {
    return s;
  }
  props.kind = { type: "string" };
  props.apiVersion = { type: "string" };
  props.metadata = {
    type: "object",
    properties: { name: { type: "string" }, generateName: { type: "string" } },
  };
  return { ...s, type: schemaType(s) === "" ? "object" : s.type, properties: props };
}

function scalar(name: string, convert: (value: unknown) => unknown = (v) => v): DeclType {
  return { name, convert };
}

const intOrString = scalar("dyn", (v) => (typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v));

function listType(element: DeclType): DeclType {
  return {
    name: `list<${element.name}>`,
    element,
    convert: (value) => (Array.isArray(value) ? value.map((item) => element.convert(item)) : value),
  };
}

function mapType(element: DeclType): DeclType {
  return {
    name: `map<string, ${element.name}>`,
    element,
    convert: (value) => {
      if (!isJsonObject(value)) return value;
      const map = new Map<string, unknown>();
      for (const [key, item] of Object.entries(value))
        map.set(key, item === null ? null : element.convert(item));
      return map;
    },
  };
}

const nanosPerUnit: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 6e10,
  h: 3.6e12,
};

/** time.ParseDuration into the engine's Duration. */
function toDuration(text: string): unknown {
  if (!isGoDuration(text)) return text;
  const negative = text.startsWith("-");
  let nanos = 0n;
  for (const match of text.replace(/^[-+]/, "").matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    const [whole = "0", fraction = ""] = (match[1] as string).split(".");
    const unit = BigInt(nanosPerUnit[match[2] as string] ?? 1);
    nanos +=
      BigInt(whole || "0") * unit +
      (BigInt((fraction || "0").padEnd(18, "0").slice(0, 18)) * unit) / 10n ** 18n;
  }
  if (negative) nanos = -nanos;
  durationClass ??= findDurationClass();
  return new durationClass(nanos / 1_000_000_000n, Number(nanos % 1_000_000_000n));
}

function findDurationClass(): new (seconds: bigint, nanos: number) => unknown {
  // The engine does not export its Duration class; take it from a value it makes.
  const value = new Environment().evaluate('duration("1s")') as {
    constructor: new (s: bigint, n: number) => unknown;
  };
  return value.constructor;
}

function stringType(format: string): DeclType {
  switch (format) {
    case "byte":
      return scalar("bytes", (v) => (typeof v === "string" ? new Uint8Array(Buffer.from(v, "base64")) : v));
    case "duration":
      return scalar("google.protobuf.Duration", (v) => (typeof v === "string" ? toDuration(v) : v));
    case "date":
    case "date-time":
      return scalar("google.protobuf.Timestamp", (v) => {
        if (typeof v !== "string") return v;
        const date = new Date(v);
        return Number.isNaN(date.getTime()) ? v : date;
      });
    default:
      return scalar("string");
  }
}
