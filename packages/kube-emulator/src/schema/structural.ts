// The structural schema invariants (apiextensions-apiserver pkg/apiserver/schema/validation.go
// and complete.go): types everywhere, nothing but value validation inside allOf/anyOf/oneOf/not,
// the x-kubernetes-* rules, and metadata restricted to name and generateName at the root.

import { causeText, type FieldPath, fieldError } from "./field-errors.js";
import { compileRe2, RegexSyntaxError } from "./regex.js";
import {
  additionalProperties,
  has,
  isEmbeddedResource,
  isIntOrString,
  isNullable,
  isObject,
  items,
  listMapKeys,
  notSchema,
  preservesUnknownFields,
  properties,
  property,
  schemaList,
  schemaPattern,
  schemaType,
  validationRules,
} from "./schema-model.js";
import type { JsonSchemaProps, SchemaCause } from "./types.js";

type Level = "root" | "item" | "field";

/** Structural errors sorted by their text, as ValidateStructural returns them. */
export function validateStructural(schema: JsonSchemaProps, path: FieldPath): SchemaCause[] {
  const errors = [...invariants(schema, "root", path), ...completeness(schema, path)];
  return errors.sort((a, b) => {
    const left = causeText(a);
    const right = causeText(b);
    return left < right ? -1 : left > right ? 1 : 0;
  });
}

/** Go's regexp.Compile check of a pattern; the error text, or undefined when it compiles. */
export function patternError(pattern: string): string | undefined {
  try {
    compileRe2(pattern);
    return undefined;
  } catch (error) {
    if (error instanceof RegexSyntaxError) return error.message;
    throw error;
  }
}

function isIntOrStringPair(list: JsonSchemaProps[]): boolean {
  return (
    list.length === 2 &&
    list.every((entry) => Object.keys(entry).length === 1) &&
    list[0]?.type === "integer" &&
    list[1]?.type === "string"
  );
}

function invariants(s: JsonSchemaProps, level: Level, path: FieldPath): SchemaCause[] {
  const errors: SchemaCause[] = [];
  const type = schemaType(s);
  const itemSchema = items(s);
  if (type === "array" && !itemSchema)
    errors.push(fieldError.required(path.child("items"), "must be specified"));
  if (itemSchema) errors.push(...invariants(itemSchema, "item", path.child("items")));
  for (const [name, prop] of properties(s)) {
    errors.push(...invariants(prop, "field", path.child("properties").key(name)));
  }
  const additional = additionalProperties(s);
  if (additional) {
    if (level === "root") {
      errors.push(fieldError.forbidden(path.child("additionalProperties"), "must not be used at the root"));
    }
    if (additional.schema)
      errors.push(...invariants(additional.schema, "field", path.child("additionalProperties")));
  }

  if (isIntOrString(s) && preservesUnknownFields(s)) {
    errors.push(
      fieldError.invalid(
        path.child("x-kubernetes-preserve-unknown-fields"),
        true,
        "must be false if x-kubernetes-int-or-string is true",
      ),
    );
  }
  if (isIntOrString(s) && isEmbeddedResource(s)) {
    errors.push(
      fieldError.invalid(
        path.child("x-kubernetes-embedded-resource"),
        true,
        "must be false if x-kubernetes-int-or-string is true",
      ),
    );
  }

  const anyOf = schemaList(s, "anyOf");
  const allOf = schemaList(s, "allOf");
  const skipAnyOf = isIntOrStringPair(anyOf);
  const skipFirstAllOfAnyOf =
    allOf.length >= 1 && isIntOrStringPair(schemaList(allOf[0] as JsonSchemaProps, "anyOf"));
  errors.push(...valueValidation(s, skipAnyOf, skipFirstAllOfAnyOf, level, path));

  const checkMetadata = level === "root" || isEmbeddedResource(s);
  if (isEmbeddedResource(s) && type !== "object") {
    const detail = "must be object if x-kubernetes-embedded-resource is true";
    errors.push(
      type === ""
        ? fieldError.required(path.child("type"), detail)
        : fieldError.invalid(path.child("type"), type, detail),
    );
  } else if (type === "" && !isIntOrString(s) && !preservesUnknownFields(s)) {
    const detail = {
      root: "must not be empty at the root",
      item: "must not be empty for specified array items",
      field: "must not be empty for specified object fields",
    }[level];
    errors.push(fieldError.required(path.child("type"), detail));
  }
  if (isEmbeddedResource(s) && additional) {
    errors.push(
      fieldError.forbidden(
        path.child("additionalProperties"),
        "must not be used if x-kubernetes-embedded-resource is set",
      ),
    );
  }
  if (level === "root" && type !== "" && type !== "object") {
    errors.push(fieldError.invalid(path.child("type"), type, "must be object at the root"));
  }
  for (const name of ["kind", "apiVersion"]) {
    const prop = property(s, name);
    if (prop && checkMetadata && schemaType(prop) !== "string") {
      errors.push(
        fieldError.invalid(
          path.child("properties").key(name).child("type"),
          schemaType(prop),
          "must be string",
        ),
      );
    }
  }
  const metadata = property(s, "metadata");
  if (metadata) {
    errors.push(
      ...metadataInvariants(metadata, checkMetadata, level, path.child("properties").key("metadata")),
    );
  }
  if (isEmbeddedResource(s) && !preservesUnknownFields(s) && properties(s).length === 0) {
    errors.push(
      fieldError.required(
        path.child("properties"),
        "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
      ),
    );
  }
  return errors;
}

/** Keys of a metadata schema that the root allows besides `type` and `default` (checked elsewhere). */
function metadataInvariants(
  s: JsonSchemaProps,
  checkMetadata: boolean,
  level: Level,
  path: FieldPath,
): SchemaCause[] {
  const errors: SchemaCause[] = [];
  if (checkMetadata && schemaType(s) !== "object") {
    errors.push(fieldError.invalid(path.child("type"), schemaType(s), "must be object"));
  }
  if (level === "root") {
    const names = properties(s).map(([name]) => name);
    const onlyNames = names.every((name) => name === "name" || name === "generateName");
    const rest = Object.keys(s).filter(
      (key) =>
        key !== "type" &&
        key !== "default" &&
        !(key === "properties" && onlyNames) &&
        !(key === "properties" && names.length === 0) &&
        s[key] !== undefined &&
        !isZero(s[key]),
    );
    if (rest.length > 0) {
      errors.push(
        fieldError.forbidden(
          path,
          "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ),
      );
    }
  }
  return errors;
}

function isZero(value: unknown): boolean {
  return value === false || value === "" || (Array.isArray(value) && value.length === 0);
}

function valueValidation(
  s: JsonSchemaProps,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  level: Level,
  path: FieldPath,
): SchemaCause[] {
  const errors: SchemaCause[] = [];
  if (!skipAnyOf) {
    schemaList(s, "anyOf").forEach((entry, i) => {
      errors.push(...nestedValueValidation(entry, false, level, path.child("anyOf").index(i)));
    });
  }
  schemaList(s, "allOf").forEach((entry, i) => {
    errors.push(
      ...nestedValueValidation(entry, skipFirstAllOfAnyOf && i === 0, level, path.child("allOf").index(i)),
    );
  });
  schemaList(s, "oneOf").forEach((entry, i) => {
    errors.push(...nestedValueValidation(entry, false, level, path.child("oneOf").index(i)));
  });
  const not = notSchema(s);
  if (not) errors.push(...nestedValueValidation(not, false, level, path.child("not")));
  const pattern = schemaPattern(s);
  if (pattern !== "") {
    const error = patternError(pattern);
    if (error) {
      errors.push(
        fieldError.invalid(
          path.child("pattern"),
          pattern,
          `must be a valid regular expression, but isn't: ${error}`,
        ),
      );
    }
  }
  return errors;
}

const forbiddenInNested: [string, (s: JsonSchemaProps) => boolean, string][] = [
  ["type", (s) => schemaType(s) !== "", "must be empty to be structural"],
  ["additionalProperties", (s) => has(s, "additionalProperties"), "must be undefined to be structural"],
  ["default", (s) => has(s, "default") && s.default !== null, "must be undefined to be structural"],
  ["title", (s) => typeof s.title === "string" && s.title !== "", "must be empty to be structural"],
  [
    "description",
    (s) => typeof s.description === "string" && s.description !== "",
    "must be empty to be structural",
  ],
  ["nullable", isNullable, "must be false to be structural"],
  ["externalDocs", (s) => isObject(s.externalDocs), "must be undefined to be structural"],
  ["x-kubernetes-preserve-unknown-fields", preservesUnknownFields, "must be false to be structural"],
  ["x-kubernetes-embedded-resource", isEmbeddedResource, "must be false to be structural"],
  ["x-kubernetes-int-or-string", isIntOrString, "must be false to be structural"],
  ["x-kubernetes-list-map-keys", (s) => listMapKeys(s).length > 0, "must be empty to be structural"],
  ["x-kubernetes-list-type", (s) => has(s, "x-kubernetes-list-type"), "must be undefined to be structural"],
  ["x-kubernetes-map-type", (s) => has(s, "x-kubernetes-map-type"), "must be undefined to be structural"],
  ["x-kubernetes-validations", (s) => validationRules(s).length > 0, "must be empty to be structural"],
];

function nestedValueValidation(
  s: JsonSchemaProps,
  skipAnyOf: boolean,
  level: Level,
  path: FieldPath,
): SchemaCause[] {
  const errors = valueValidation(s, skipAnyOf, false, level, path);
  const itemSchema = items(s);
  if (itemSchema) errors.push(...nestedValueValidation(itemSchema, false, level, path.child("items")));
  for (const [name, prop] of properties(s)) {
    errors.push(...nestedValueValidation(prop, false, "field", path.child("properties").key(name)));
  }
  for (const [key, present, detail] of forbiddenInNested) {
    if (present(s)) errors.push(fieldError.forbidden(path.child(key), detail));
  }
  if (property(s, "metadata")) {
    errors.push(
      fieldError.forbidden(
        path.child("properties").key("metadata"),
        "must not be specified in a nested context",
      ),
    );
  }
  return errors;
}

/** Every field or array named in a value validation must also be specified outside of it. */
function completeness(s: JsonSchemaProps, path: FieldPath): SchemaCause[] {
  return junctorCompleteness(s, s, path, path);
}

function junctorCompleteness(
  v: JsonSchemaProps,
  s: JsonSchemaProps,
  sPath: FieldPath,
  vPath: FieldPath,
): SchemaCause[] {
  const errors: SchemaCause[] = [];
  const not = notSchema(v);
  if (not) errors.push(...nestedCompleteness(not, s, sPath, vPath.child("not")));
  for (const key of ["allOf", "anyOf", "oneOf"] as const) {
    schemaList(v, key).forEach((entry, i) => {
      errors.push(...nestedCompleteness(entry, s, sPath, vPath.child(key).index(i)));
    });
  }
  return errors;
}

function nestedCompleteness(
  v: JsonSchemaProps,
  s: JsonSchemaProps | undefined,
  sPath: FieldPath,
  vPath: FieldPath,
): SchemaCause[] {
  if (!s) return [fieldError.required(sPath, `because it is defined in ${vPath}`)];
  const errors = junctorCompleteness(v, s, sPath, vPath);
  const vItems = items(v);
  if (vItems)
    errors.push(...nestedCompleteness(vItems, items(s), sPath.child("items"), vPath.child("items")));
  for (const [name, vProp] of properties(v)) {
    const sProp = property(s, name);
    if (!sProp) {
      errors.push(
        fieldError.required(
          sPath.child("properties").key(name),
          `because it is defined in ${vPath.child("properties").key(name)}`,
        ),
      );
    } else {
      errors.push(
        ...nestedCompleteness(
          vProp,
          sProp,
          sPath.child("properties").key(name),
          vPath.child("properties").key(name),
        ),
      );
    }
  }
  return errors;
}
