// The CRD schema engine of the Kubernetes emulator: what the API server does with a
// CustomResourceDefinition's openAPIV3Schema. Pure functions, no I/O.
// The server (src/sandbox/kube) calls exactly these; their bodies are being built.

/** An OpenAPI v3 schema as a CRD carries it (JSONSchemaProps), with the x-kubernetes-* extensions. */
export type JsonSchemaProps = Record<string, unknown>;

/** One cause of a 422 Invalid, as in a Kubernetes Status's details.causes. */
export interface SchemaCause {
  /** FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueTooLong, FieldValueTooMany, FieldValueDuplicate, FieldValueForbidden, FieldValueTypeInvalid ... */
  reason: string;
  message: string;
  /** The field path, e.g. "spec.roleAssignments[0].scope". */
  field: string;
}

/** Checks that a CRD version's schema is structural; causes name the offending paths. */
export function checkStructuralSchema(_schema: JsonSchemaProps, _fieldPrefix: string): SchemaCause[] {
  return [];
}

/** Compiles the schema's CEL rules; a rule that cannot compile is a cause (the CRD is refused). */
export function checkCelRules(_schema: JsonSchemaProps, _fieldPrefix: string): SchemaCause[] {
  return [];
}

export interface PruneResult<T> {
  object: T;
  /** Paths of the fields that were dropped, e.g. ".spec.foo" (for fieldValidation Strict/Warn). */
  unknownFields: string[];
}

/** Drops fields the schema does not know (apiVersion, kind and metadata survive). */
export function pruneUnknownFields<T>(_schema: JsonSchemaProps, object: T): PruneResult<T> {
  return { object, unknownFields: [] };
}

/** Applies the schema's `default`s (on create, update and read, as the API server does). */
export function applyDefaults<T>(_schema: JsonSchemaProps, object: T): T {
  return object;
}

/**
 * Validates an object against the schema: OpenAPI constraints first, then the
 * x-kubernetes-validations CEL rules (transition rules with oldSelf only when oldObject is
 * given), skipping CEL where blocking schema errors were found.
 */
export function validateObject(
  _schema: JsonSchemaProps,
  _object: unknown,
  _oldObject?: unknown,
): SchemaCause[] {
  return [];
}
