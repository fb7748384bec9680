// Decoding a request body into a typed object the way the API server's Go decoder does:
// fields the type does not know are dropped (and reported for fieldValidation), a value of
// the wrong JSON type is a 400, null fields vanish, and metav1.Time / MicroTime are
// re-rendered in their canonical form.
import { badRequest } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { isObject } from "../json.js";
import { parseRfc3339, rfc3339, rfc3339Micro } from "../time.js";
import type { TypeNode } from "../typed.js";

/** Decodes `value` in place against `type`; returns the decoded value and adds unknown field paths to `unknown`. */
export function decodeTyped(value: JsonValue, type: TypeNode, path: string, unknown: string[]): JsonValue {
  switch (type.shape) {
    case "untyped":
      return value;
    case "struct":
      return decodeStruct(value, type, path, unknown);
    case "map": {
      const obj = expectObject(value, type, path);
      const valueType = type.child("");
      for (const key of Object.keys(obj)) {
        if (obj[key] === null && valueType.shape !== "untyped") continue;
        obj[key] = decodeTyped(obj[key]!, valueType, `${path}.${key}`, unknown);
      }
      return obj;
    }
    case "list": {
      if (!Array.isArray(value)) throw typeError(value, "array", path);
      const element = type.element();
      return value.map((item, index) => decodeTyped(item, element, `${path}[${index}]`, unknown));
    }
    case "scalar":
      return decodeScalar(value, type, path);
  }
}

function decodeStruct(value: JsonValue, type: TypeNode, path: string, unknown: string[]): JsonObject {
  const obj = expectObject(value, type, path);
  for (const key of Object.keys(obj)) {
    const fieldPath = path ? `${path}.${key}` : key;
    if (!type.hasField(key)) {
      if (type.preservesUnknownFields) continue;
      unknown.push(fieldPath);
      delete obj[key];
      continue;
    }
    if (obj[key] === null) {
      delete obj[key];
      continue;
    }
    obj[key] = decodeTyped(obj[key]!, type.child(key), fieldPath, unknown);
  }
  return obj;
}

function expectObject(value: JsonValue, _type: TypeNode, path: string): JsonObject {
  if (!isObject(value)) throw typeError(value, "object", path);
  return value;
}

function decodeScalar(value: JsonValue, type: TypeNode, path: string): JsonValue {
  const expected = type.scalarType;
  switch (expected) {
    case "int-or-string":
      if (typeof value === "string" || (typeof value === "number" && Number.isInteger(value))) return value;
      throw typeError(value, "IntOrString", path);
    case "integer":
      if (typeof value === "number" && Number.isInteger(value)) return value;
      throw typeError(value, type.format ?? "int64", path);
    case "number":
      if (typeof value === "number") return value;
      throw typeError(value, "float64", path);
    case "boolean":
      if (typeof value === "boolean") return value;
      throw typeError(value, "bool", path);
    case "string":
      if (typeof value !== "string") throw typeError(value, "string", path);
      return decodeString(value, type.format, path);
    default:
      return value;
  }
}

function decodeString(value: string, format: string | undefined, path: string): string {
  if (format !== "date-time" && format !== "date-time-micro") return value;
  const parsed = parseRfc3339(value);
  if (!parsed) {
    throw badRequest(
      `parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(value)} (field ${path})`,
    );
  }
  return format === "date-time" ? rfc3339(parsed.date) : rfc3339Micro(parsed.date, parsed.micros);
}

function jsonTypeName(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function typeError(value: JsonValue, goType: string, path: string) {
  return badRequest(
    `json: cannot unmarshal ${jsonTypeName(value)} into Go struct field .${path} of type ${goType}`,
  );
}

/** The paths of object keys that appear twice in a JSON text (a duplicate is a strict decoding error). */
export function findDuplicateFields(text: string): string[] {
  const duplicates: string[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t"))
      i++;
  };
  const readString = (): string => {
    const start = i;
    i++;
    let escaped = false;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 92) {
        escaped = true;
        i += 2;
        continue;
      }
      i++;
      if (ch === 34) break;
    }
    const raw = text.slice(start, i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  const readValue = (path: string): void => {
    skipSpace();
    const ch = text[i];
    if (ch === "{") {
      i++;
      const seen = new Set<string>();
      skipSpace();
      if (text[i] === "}") {
        i++;
        return;
      }
      while (i < text.length) {
        skipSpace();
        const key = readString();
        const keyPath = path ? `${path}.${key}` : key;
        if (seen.has(key)) duplicates.push(keyPath);
        seen.add(key);
        skipSpace();
        i++; // the colon
        readValue(keyPath);
        skipSpace();
        if (text[i++] === "}") return;
      }
    } else if (ch === "[") {
      i++;
      skipSpace();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (let index = 0; i < text.length; index++) {
        readValue(`${path}[${index}]`);
        skipSpace();
        if (text[i++] === "]") return;
      }
    } else if (ch === '"') {
      readString();
    } else {
      while (i < text.length && !",}] \n\r\t".includes(text[i]!)) i++;
    }
  };
  readValue("");
  return duplicates;
}
