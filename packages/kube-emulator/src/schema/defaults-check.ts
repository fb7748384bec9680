// Defaults must be pruned and valid (pkg/apiserver/schema/defaulting/validation.go ValidateDefaults).
import { validateEmbeddedResources } from "./embedded.js";
import type { FieldPath } from "./field-errors.js";
import { fieldError } from "./field-errors.js";
import { deepCopy, deepEqual } from "./json.js";
import { pruneInPlace } from "./pruning.js";
import { hasDefault, isEmbeddedResource, items, metaFields, properties } from "./schema-model.js";
import type { JsonSchemaProps, SchemaCause } from "./types.js";
import { validateValue } from "./value-validation.js";

export function validateDefaults(schema: JsonSchemaProps, path: FieldPath): SchemaCause[] {
  return validate({ ...schema, "x-kubernetes-embedded-resource": true }, path, false);
}

function validate(s: JsonSchemaProps, path: FieldPath, insideMeta: boolean): SchemaCause[] {
  const errors: SchemaCause[] = [];
  const inMeta = isEmbeddedResource(s) ? false : insideMeta;
  if (hasDefault(s) && s.default !== null) {
    const defaultPath = path.child("default");
    if (!inMeta) {
      const pruned = deepCopy(s.default);
      pruneInPlace(pruned, s, isEmbeddedResource(s));
      if (!deepEqual(pruned, s.default)) {
        errors.push(fieldError.invalid(defaultPath, s.default, "must not have unknown fields"));
      }
    }
    const embeddedErrors = inMeta ? [] : validateEmbeddedResources(defaultPath, s.default, s);
    errors.push(...(embeddedErrors.length > 0 ? embeddedErrors : validateValue(s, s.default, defaultPath)));
  }
  // additionalProperties are not followed: defaults are forbidden there.
  const itemSchema = items(s);
  if (itemSchema) errors.push(...validate(itemSchema, path.child("items"), inMeta));
  for (const [name, prop] of properties(s)) {
    const subInsideMeta = inMeta || (isEmbeddedResource(s) && metaFields.has(name));
    errors.push(...validate(prop, path.child("properties").key(name), subInsideMeta));
  }
  return errors;
}
