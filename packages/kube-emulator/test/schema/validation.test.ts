// validateObject without CEL: kube-openapi's messages (validation/errors/schema.go), their
// conversion into field errors (apiextensions-apiserver pkg/apiserver/validation/validation.go
// kubeOpenAPIResultToFieldErrors) and apimachinery's ErrorBody (util/validation/field/errors.go),
// list-type uniqueness (schema/listtype/validation.go) and ratcheting (validation/ratcheting.go).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type JsonSchemaProps,
  type SchemaCause,
  validateObject,
} from "@azid/kube-emulator/internal/schema/index.js";

const spec = (properties: Record<string, JsonSchemaProps>, extra: JsonSchemaProps = {}): JsonSchemaProps => ({
  type: "object",
  properties: { spec: { type: "object", properties, ...extra } },
});
const resource = (specValue: unknown) => ({
  apiVersion: "azid.io/v1",
  kind: "Thing",
  metadata: { name: "a" },
  spec: specValue,
});

const cases: { name: string; schema: JsonSchemaProps; spec: unknown; causes: SchemaCause[] }[] = [
  {
    // typeValidator: errors.InvalidType(path, "body", type, dataType) -> field.TypeInvalid
    name: "type",
    schema: spec({ x: { type: "integer" } }),
    spec: { x: "string" },
    causes: [
      {
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: "string": spec.x in body must be of type integer: "string"',
        field: "spec.x",
      },
    ],
  },
  {
    // objectValidator: errors.Required(path.k) -> field.Required(errPath, "")
    name: "required",
    schema: spec({ a: { type: "string" }, b: { type: "string" } }, { required: ["a", "b"] }),
    spec: { a: "x" },
    causes: [{ reason: "FieldValueRequired", message: "Required value", field: "spec.b" }],
  },
  {
    // EnumFailCode -> field.NotSupported(errPath, value, values)
    name: "enum",
    schema: spec({ mode: { type: "string", enum: ["a", "b"] }, n: { type: "integer", enum: [1, 2] } }),
    spec: { mode: "x", n: 3 },
    causes: [
      {
        reason: "FieldValueNotSupported",
        message: 'Unsupported value: "x": supported values: "a", "b"',
        field: "spec.mode",
      },
      {
        reason: "FieldValueNotSupported",
        message: 'Unsupported value: 3: supported values: "1", "2"',
        field: "spec.n",
      },
    ],
  },
  {
    // patternFail = "%s in %s should match '%s'"
    name: "pattern",
    schema: spec({ scope: { type: "string", pattern: "^/subscriptions/[0-9a-f-]+$" } }),
    spec: { scope: "/tenants/x" },
    causes: [
      {
        reason: "FieldValueInvalid",
        message: `Invalid value: "/tenants/x": spec.scope in body should match '^/subscriptions/[0-9a-f-]+$'`,
        field: "spec.scope",
      },
    ],
  },
  {
    // maxIncFail / minExcFail with the int64 value printed by %v
    name: "minimum and maximum",
    schema: spec({
      a: { type: "integer", maximum: 10 },
      b: { type: "integer", minimum: 0, exclusiveMinimum: true },
      c: { type: "number", maximum: 1.5 },
    }),
    spec: { a: 11, b: 0, c: 2.25 },
    causes: [
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: 11: spec.a in body should be less than or equal to 10",
        field: "spec.a",
      },
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: 0: spec.b in body should be greater than 0",
        field: "spec.b",
      },
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: 2.25: spec.c in body should be less than or equal to 1.5",
        field: "spec.c",
      },
    ],
  },
  {
    // TooLongFailCode -> field.TooLongMaxLength ("Too long" omits the value); tooShortMessage
    name: "maxLength and minLength",
    schema: spec({ name: { type: "string", maxLength: 3 }, code: { type: "string", minLength: 2 } }),
    spec: { name: "abcd", code: "x" },
    causes: [
      { reason: "FieldValueTooLong", message: "Too long: may not be longer than 3", field: "spec.name" },
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: "x": spec.code in body should be at least 2 chars long',
        field: "spec.code",
      },
    ],
  },
  {
    // MaxItemsFailCode -> field.TooMany; minItemsFail
    name: "maxItems and minItems",
    schema: spec({
      a: { type: "array", items: { type: "string" }, maxItems: 1 },
      b: { type: "array", items: { type: "string" }, minItems: 2 },
    }),
    spec: { a: ["x", "y"], b: ["x"] },
    causes: [
      { reason: "FieldValueTooMany", message: "Too many: 2: must have at most 1 items", field: "spec.a" },
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: 1: spec.b in body should have at least 2 items",
        field: "spec.b",
      },
    ],
  },
  {
    // TooManyPropertiesCode -> field.TooMany; tooFewProperties
    name: "maxProperties and minProperties",
    schema: spec({
      m: { type: "object", additionalProperties: { type: "string" }, maxProperties: 1 },
      n: { type: "object", additionalProperties: { type: "string" }, minProperties: 2 },
    }),
    spec: { m: { a: "1", b: "2" }, n: { a: "1" } },
    causes: [
      { reason: "FieldValueTooMany", message: "Too many: 2: must have at most 1 items", field: "spec.m" },
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: 1: spec.n in body should have at least 2 properties",
        field: "spec.n",
      },
    ],
  },
  {
    // formatValidator: errors.InvalidType(path, in, format, data)
    name: "formats",
    schema: spec({
      id: { type: "string", format: "uuid" },
      at: { type: "string", format: "date-time" },
      ok: { type: "string", format: "unknown-format" },
    }),
    spec: { id: "not-a-uuid", at: "yesterday", ok: "anything" },
    causes: [
      {
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: "not-a-uuid": spec.id in body must be of type uuid: "not-a-uuid"',
        field: "spec.id",
      },
      {
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday"',
        field: "spec.at",
      },
    ],
  },
  {
    // typeValidator with nullable: a null is only accepted where nullable is true
    name: "nullable",
    schema: spec({ a: { type: "string", nullable: true }, b: { type: "string" } }),
    spec: { a: null, b: null },
    causes: [
      {
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: "null": spec.b in body must be of type string: "null"',
        field: "spec.b",
      },
    ],
  },
  {
    // ConvertJSONSchemaProps gives int-or-string the types "integer,string"
    name: "int-or-string",
    schema: spec({ port: { "x-kubernetes-int-or-string": true } }),
    spec: { port: true },
    causes: [
      {
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
        field: "spec.port",
      },
    ],
  },
  {
    // additionalProperties schema and additionalProperties: false (unallowedProperty)
    name: "additionalProperties",
    schema: spec({
      labels: { type: "object", additionalProperties: { type: "string", maxLength: 2 } },
      none: { type: "object", additionalProperties: false },
    }),
    spec: { labels: { ok: "ab", long: "abc" }, none: { x: 1 } },
    causes: [
      {
        reason: "FieldValueTooLong",
        message: "Too long: may not be longer than 2",
        field: "spec.labels.long",
      },
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: "x": spec.none.x in body is a forbidden property',
        field: "spec.none",
      },
    ],
  },
  {
    // paths of list items as the API server renders them
    name: "list item paths",
    schema: spec({
      roleAssignments: {
        type: "array",
        items: {
          type: "object",
          required: ["scope"],
          properties: { scope: { type: "string", minLength: 5 } },
        },
      },
    }),
    spec: { roleAssignments: [{ scope: "/subscriptions/x" }, { scope: "/a" }, {}] },
    causes: [
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: "/a": spec.roleAssignments[1].scope in body should be at least 5 chars long',
        field: "spec.roleAssignments[1].scope",
      },
      { reason: "FieldValueRequired", message: "Required value", field: "spec.roleAssignments[2].scope" },
    ],
  },
  {
    // listtype/validation.go: field.Duplicate at the second appearance
    name: "list-type set and map uniqueness",
    schema: spec({
      tags: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" },
      ports: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "protocol"],
        items: {
          type: "object",
          required: ["name", "protocol"],
          properties: { name: { type: "string" }, protocol: { type: "string" } },
        },
      },
      single: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        items: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
      },
    }),
    spec: {
      tags: ["a", "b", "a", "a"],
      ports: [
        { name: "http", protocol: "TCP" },
        { name: "http", protocol: "UDP" },
        { name: "http", protocol: "TCP" },
      ],
      single: [{ name: "x" }, { name: "x" }],
    },
    causes: [
      { reason: "FieldValueDuplicate", message: 'Duplicate value: "a"', field: "spec.tags[2]" },
      {
        reason: "FieldValueDuplicate",
        message: 'Duplicate value: map[string]interface {}{"name":"http", "protocol":"TCP"}',
        field: "spec.ports[2]",
      },
      {
        reason: "FieldValueDuplicate",
        message: 'Duplicate value: map[string]interface {}{"name":"x"}',
        field: "spec.single[1]",
      },
    ],
  },
  {
    // schema_props.go: mustValidateAtLeastOneSchemaMsg is not a *Validation, so it lands on the base path
    name: "anyOf",
    schema: spec({ v: { type: "string", anyOf: [{ maxLength: 1 }, { pattern: "^x" }] } }),
    spec: { v: "abc" },
    causes: [
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: "": spec.v must validate at least one schema (anyOf)',
        field: "<nil>",
      },
      { reason: "FieldValueTooLong", message: "Too long: may not be longer than 1", field: "spec.v" },
    ],
  },
  {
    // objectmeta/validation.go: an embedded resource needs apiVersion and kind
    name: "embedded resource TypeMeta",
    schema: spec({
      template: {
        type: "object",
        "x-kubernetes-embedded-resource": true,
        "x-kubernetes-preserve-unknown-fields": true,
      },
    }),
    spec: { template: { kind: "Bad_Kind", metadata: { name: "a/b" } } },
    causes: [
      { reason: "FieldValueRequired", message: "Required value", field: "spec.template.apiVersion" },
      {
        reason: "FieldValueInvalid",
        message:
          "Invalid value: \"Bad_Kind\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        field: "spec.template.kind",
      },
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: \"a/b\": may not contain '/'",
        field: "spec.template.metadata.name",
      },
    ],
  },
];

for (const { name, schema, spec: specValue, causes } of cases) {
  test(`validation: ${name}`, () => {
    assert.deepEqual(validateObject(schema, resource(specValue)), causes);
  });
}

test("validation: a valid object has no causes", () => {
  const schema = spec({ replicas: { type: "integer", minimum: 1 }, name: { type: "string", maxLength: 10 } });
  assert.deepEqual(validateObject(schema, resource({ replicas: 2, name: "ok" })), []);
});

test("validation ratcheting: errors under unchanged values are dropped on update", () => {
  // ratcheting.go: errors are ratcheted when the correlated old value DeepEquals the new one.
  const schema = spec({ name: { type: "string", maxLength: 3 }, other: { type: "string" } });
  const old = resource({ name: "toolong", other: "a" });
  assert.deepEqual(validateObject(schema, resource({ name: "toolong", other: "b" }), old), []);
  assert.deepEqual(validateObject(schema, resource({ name: "longer!", other: "a" }), old), [
    { reason: "FieldValueTooLong", message: "Too long: may not be longer than 3", field: "spec.name" },
  ]);
});

test("validation: a list-type set that already had duplicates is not checked on update", () => {
  const schema = spec({
    tags: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" },
  });
  const old = resource({ tags: ["a", "a"] });
  assert.deepEqual(validateObject(schema, resource({ tags: ["a", "a", "b"] }), old), []);
});
