// The CRD schema engine of the Kubernetes emulator: what the API server does with a
// CustomResourceDefinition's openAPIV3Schema. Pure functions, no I/O. README.md beside this file
// lists the sources followed and what differs from a real API server.
import { compileSchemaRules, validateRules } from "./cel/rules.js";
import { defaultInPlace } from "./defaulting.js";
import { validateDefaults } from "./defaults-check.js";
import { validateEmbeddedResources } from "./embedded.js";
import { blockingReasons, FieldPath, fieldError } from "./field-errors.js";
import { deepCopy } from "./json.js";
import { validateListSetsAndMaps } from "./list-type.js";
import { validateOpenAPISchema } from "./openapi-schema.js";
import { pruneInPlace, pruneNonNullableNulls } from "./pruning.js";
import { isNullable } from "./schema-model.js";
import { validateStructural } from "./structural.js";
import type { JsonSchemaProps, SchemaCause } from "./types.js";
import { validateValue } from "./value-validation.js";

export { TypeRegistry } from "./cel/decl-types.js";
export {
  CelCompileError,
  CelEvaluationError,
  type CompiledExpression,
  compileCel,
  compileExpression,
  createCelEnvironment,
  evaluateCel,
  namesUsed,
  toCelValue,
} from "./cel/expression.js";
export { CelRuntimeError } from "./cel/values.js";
export type { JsonSchemaProps, SchemaCause } from "./types.js";

/** Structural, defaults and OpenAPI errors; an empty list means CEL rules can be compiled. */
function schemaErrors(
  schema: JsonSchemaProps,
  path: FieldPath,
): { structural: SchemaCause[]; openapi: SchemaCause[] } {
  const structural = validateStructural(schema, path);
  return {
    structural: structural.length > 0 ? structural : validateDefaults(schema, path),
    openapi: validateOpenAPISchema(schema, path, false).schemaErrors,
  };
}

/**
 * Checks a CRD version's openAPIV3Schema as the API server does on CRD create/update (everything
 * but CEL compilation); `fieldPrefix` is where the schema sits, e.g.
 * "spec.versions[0].schema.openAPIV3Schema". Causes name the offending paths.
 */
export function checkStructuralSchema(schema: JsonSchemaProps, fieldPrefix: string): SchemaCause[] {
  const path = FieldPath.of(fieldPrefix);
  const errors: SchemaCause[] = [];
  if (isNullable(schema))
    errors.push(fieldError.forbidden(path.child("nullable"), "nullable cannot be true at the root"));
  const { structural, openapi } = schemaErrors(schema, path);
  return [...errors, ...structural, ...openapi];
}

/**
 * Compiles the schema's x-kubernetes-validations: a rule or messageExpression that does not compile
 * (or uses a function this engine lacks) is a cause, and the CRD is refused. Nothing is compiled for
 * a schema that checkStructuralSchema rejects, as on a real API server.
 */
export function checkCelRules(schema: JsonSchemaProps, fieldPrefix: string): SchemaCause[] {
  const path = FieldPath.of(fieldPrefix);
  if (schemaErrors(schema, path).structural.length > 0) return [];
  return validateOpenAPISchema(schema, path, true).celErrors;
}

export interface PruneResult<T> {
  object: T;
  /** Paths of the fields that were dropped, e.g. "spec.foo" or "spec.items[0].bar" (for fieldValidation Strict/Warn). */
  unknownFields: string[];
}

/**
 * Drops fields the schema does not know (apiVersion, kind and metadata survive at the root and in
 * embedded resources), and nulls a non-nullable field without a default. Returns a new object.
 */
export function pruneUnknownFields<T>(schema: JsonSchemaProps, object: T): PruneResult<T> {
  const copy = deepCopy(object);
  const unknownFields = pruneInPlace(copy, schema, true);
  pruneNonNullableNulls(copy, schema);
  return { object: copy, unknownFields };
}

/** Applies the schema's `default`s (on create, update and read, as the API server does). Returns a new object. */
export function applyDefaults<T>(schema: JsonSchemaProps, object: T): T {
  const copy = deepCopy(object);
  defaultInPlace(copy, schema);
  return copy;
}

export interface CustomResourceValidation {
  causes: SchemaCause[];
  /** Warning texts (ratcheted CEL failures of unchanged values), for the response's Warning headers. */
  warnings: string[];
}

export interface ValidateOptions {
  /** The stored object, on update: transition rules run, unchanged values are ratcheted. */
  oldObject?: unknown;
  /** Causes the server found already (e.g. metadata): blocking ones also stop CEL, as in strategy.go. */
  priorCauses?: SchemaCause[];
}

/** The custom resource validation of strategy.go: schema, embedded resources, list types, then CEL. */
export function validateCustomResource(
  schema: JsonSchemaProps,
  object: unknown,
  options: ValidateOptions = {},
): CustomResourceValidation {
  const old = Object.hasOwn(options, "oldObject") ? { value: options.oldObject } : undefined;
  const causes = validateValue(schema, object, FieldPath.root, old);
  causes.push(
    ...validateEmbeddedResources(FieldPath.root, object, schema).filter((cause) => !isRootMeta(cause)),
  );
  const oldListErrors = old ? validateListSetsAndMaps(FieldPath.root, schema, old.value) : [];
  if (oldListErrors.length === 0) causes.push(...validateListSetsAndMaps(FieldPath.root, schema, object));
  const blocked = [...(options.priorCauses ?? []), ...causes].some((cause) =>
    blockingReasons.has(cause.reason),
  );
  const cel = blocked ? { causes: [], warnings: [] } : validateRules(schema, object, old);
  if (blocked && hasRules(schema)) {
    causes.push(
      fieldError.invalid(
        FieldPath.root,
        null,
        "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
      ),
    );
  }
  return { causes: [...causes, ...cel.causes], warnings: cel.warnings };
}

/** The root's own TypeMeta/ObjectMeta are the server's to check. */
function isRootMeta(cause: SchemaCause): boolean {
  return cause.field === "apiVersion" || cause.field === "kind" || cause.field.startsWith("metadata");
}

function hasRules(schema: JsonSchemaProps): boolean {
  return compileSchemaRules(schema).root.hasRules;
}

/**
 * Validates an object against the schema: OpenAPI constraints first, then the
 * x-kubernetes-validations CEL rules (transition rules with oldSelf only when oldObject is
 * given), skipping CEL where blocking schema errors were found.
 */
export function validateObject(schema: JsonSchemaProps, object: unknown, oldObject?: unknown): SchemaCause[] {
  return validateCustomResource(schema, object, oldObject === undefined ? {} : { oldObject }).causes;
}
