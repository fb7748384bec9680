// TypeMeta and ObjectMeta checks of x-kubernetes-embedded-resource objects
// (pkg/apiserver/schema/objectmeta/validation.go); the root's metadata is the server's concern.
import { type FieldPath, fieldError } from "./field-errors.js";
import { isJsonObject } from "./json.js";
import { additionalProperties, isEmbeddedResource, items, properties } from "./schema-model.js";
import type { JsonSchemaProps, SchemaCause } from "./types.js";

const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** validation.IsDNS1035Label's messages. */
export function dns1035LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push("must be no more than 63 characters");
  if (!dns1035Label.test(value)) {
    errors.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return errors;
}

/** schema.ParseGroupVersion's error, or undefined. */
function groupVersionError(apiVersion: string): string | undefined {
  const parts = apiVersion.split("/");
  if (parts.length <= 2 && !(parts.length === 2 && (parts[0] === "" || parts[1] === ""))) return undefined;
  return `unexpected GroupVersion string: ${apiVersion}`;
}

export function validateEmbeddedResources(
  path: FieldPath,
  x: unknown,
  s: JsonSchemaProps | undefined,
): SchemaCause[] {
  if (!s) return [];
  const errors: SchemaCause[] = [];
  if (isJsonObject(x)) {
    if (isEmbeddedResource(s)) errors.push(...validateEmbeddedResource(path, x));
    const declared = new Map(properties(s));
    const additional = additionalProperties(s)?.schema;
    for (const [key, value] of Object.entries(x)) {
      const prop = declared.get(key);
      if (prop) errors.push(...validateEmbeddedResources(path.child(key), value, prop));
      else if (additional) errors.push(...validateEmbeddedResources(path.key(key), value, additional));
    }
  } else if (Array.isArray(x)) {
    const itemSchema = items(s);
    x.forEach((item, i) => {
      errors.push(...validateEmbeddedResources(path.index(i), item, itemSchema));
    });
  }
  return errors;
}

function validateEmbeddedResource(path: FieldPath, x: Record<string, unknown>): SchemaCause[] {
  const errors: SchemaCause[] = [];
  if (!Object.hasOwn(x, "apiVersion")) errors.push(fieldError.required(path.child("apiVersion"), ""));
  if (!Object.hasOwn(x, "kind")) errors.push(fieldError.required(path.child("kind"), ""));
  for (const [key, value] of Object.entries(x)) {
    if (key === "apiVersion") {
      if (typeof value !== "string")
        errors.push(fieldError.invalid(path.child(key), value, "must be a string"));
      else if (value === "") errors.push(fieldError.required(path.child(key), ""));
      else {
        const error = groupVersionError(value);
        if (error) errors.push(fieldError.invalid(path.child(key), value, error));
      }
    } else if (key === "kind") {
      if (typeof value !== "string")
        errors.push(fieldError.invalid(path.child(key), value, "must be a string"));
      else if (value === "") errors.push(fieldError.required(path.child(key), ""));
      else {
        const labelErrors = dns1035LabelErrors(value.toLowerCase());
        if (labelErrors.length > 0) {
          errors.push(
            fieldError.invalid(
              path.child(key),
              value,
              `may have mixed case, but should otherwise match: ${labelErrors.join(",")}`,
            ),
          );
        }
      }
    } else if (key === "metadata") {
      errors.push(...validateMetadata(path.child("metadata"), value));
    }
  }
  return errors;
}

/** The parts of ValidateObjectMeta that matter for an embedded object: names and label keys/values. */
function validateMetadata(path: FieldPath, value: unknown): SchemaCause[] {
  if (value === null || value === undefined) return [];
  if (!isJsonObject(value)) return [fieldError.invalid(path, value, "must be an object")];
  const errors: SchemaCause[] = [];
  for (const key of ["name", "generateName", "namespace"]) {
    const field = value[key];
    if (field === undefined) continue;
    if (typeof field !== "string") {
      errors.push(fieldError.invalid(path.child(key), field, "must be a string"));
      continue;
    }
    if (key === "namespace" && field !== "" && !(field.length <= 63 && dns1123Label.test(field))) {
      errors.push(
        fieldError.invalid(
          path.child(key),
          field,
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ),
      );
    }
    if (key === "name") {
      for (const problem of pathSegmentNameErrors(field))
        errors.push(fieldError.invalid(path.child(key), field, problem));
    }
  }
  return errors;
}

/** path.ValidatePathSegmentName */
function pathSegmentNameErrors(name: string): string[] {
  if (name === "." || name === "..") return [`may not be '${name}'`];
  const errors: string[] = [];
  for (const illegal of ["/", "%"]) if (name.includes(illegal)) errors.push(`may not contain '${illegal}'`);
  return errors;
}
