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
