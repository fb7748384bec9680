// Turning a request body into an object of the request's kind: parse, check apiVersion and
// kind, drop unknown fields (built-in decoding or CRD pruning), default, and report unknown
// and duplicate fields as fieldValidation asks (Strict: 400, Warn: Warning headers).
import { parse as parseYaml } from "yaml";
import { componentType } from "../api/builtin-schemas.js";
import { decodeTyped, findDuplicateFields } from "../api/decode.js";
import { badRequest } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { isObject } from "../json.js";
import { applyDefaults, pruneUnknownFields } from "../schema/index.js";
import { apiVersionOf, type RequestScope, type WriteOptions } from "./scope.js";

const OBJECT_META = componentType("V1ObjectMeta");

/** Parses JSON (or, for apply patches, YAML) text; anything else is a 400. */
export function parseBody(text: string, yaml = false): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    if (!yaml) throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
  try {
    return parseYaml(text, { uniqueKeys: true }) as JsonValue;
  } catch (error) {
    throw badRequest(`error decoding YAML: ${(error as Error).message}`);
  }
}

/** Duplicate keys in a JSON body, reported as fieldValidation asks. */
export function duplicateFields(text: string, options: WriteOptions): string[] {
  if (options.fieldValidation === "Ignore") return [];
  try {
    return findDuplicateFields(text);
  } catch {
    return [];
  }
}

/** Checks the object names the endpoint's kind and version, filling them in for built-in kinds. */
export function checkKind(scope: RequestScope, object: JsonObject): void {
  const expectedApiVersion = apiVersionOf(scope);
  const custom = scope.type.crdName !== undefined;
  if (object.kind === undefined || object.kind === "") {
    if (custom) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(object)}'`);
    object.kind = scope.type.kind;
  }
  if (object.apiVersion === undefined || object.apiVersion === "") {
    if (custom) throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(object)}'`);
    object.apiVersion = expectedApiVersion;
  }
  if (object.apiVersion !== expectedApiVersion) {
    throw badRequest(
      `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${expectedApiVersion})`,
    );
  }
  if (object.kind !== scope.type.kind) {
    throw badRequest(
      `the kind in the data (${String(object.kind)}) does not match the expected kind (${scope.type.kind})`,
    );
  }
}

/**
 * Decodes an object of the request's kind in place: unknown fields are dropped, custom
 * resources are pruned and defaulted by their schema. `duplicates` come from the body text.
 */
export function decodeObject(
  scope: RequestScope,
  value: JsonValue,
  options: WriteOptions,
  duplicates: string[] = [],
  { defaults = true }: { defaults?: boolean } = {},
): JsonObject {
  if (!isObject(value)) throw badRequest("the body of the request must be a JSON object");
  checkKind(scope, value);
  const unknown: string[] = [];
  let object = value;
  const schema = scope.version.schema;
  if (scope.type.crdName === undefined) {
    object = decodeTyped(object, scope.version.type, "", unknown) as JsonObject;
  } else {
    if (object.metadata !== undefined)
      object.metadata = decodeTyped(object.metadata, OBJECT_META, "metadata", unknown);
    if (schema) {
      const pruned = pruneUnknownFields(schema, object);
      object = pruned.object;
      for (const field of pruned.unknownFields) unknown.push(field.replace(/^\./, ""));
      if (defaults) object = applyDefaults(schema, object);
    }
  }
  reportFieldProblems(scope, options, unknown, duplicates);
  return object;
}

export function reportFieldProblems(
  scope: RequestScope,
  options: WriteOptions,
  unknown: string[],
  duplicates: string[],
): void {
  if (options.fieldValidation === "Ignore") return;
  const problems = [
    ...unknown.map((field) => `unknown field ${JSON.stringify(field)}`),
    ...duplicates.map((field) => `duplicate field ${JSON.stringify(field)}`),
  ];
  if (problems.length === 0) return;
  if (options.fieldValidation === "Warn") {
    options.warnings.push(...problems);
    return;
  }
  const kind = scope.type.kind;
  throw badRequest(
    `${kind} in version ${JSON.stringify(scope.version.name)} cannot be handled as a ${kind}: strict decoding error: ${problems.join(", ")}`,
  );
}
