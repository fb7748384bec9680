// checkStructuralSchema: expected reasons, messages and paths are those of
// apiextensions-apiserver pkg/apiserver/schema/validation.go (ValidateStructural),
// complete.go, and pkg/apis/apiextensions/validation/validation.go (the OpenAPI schema checks).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkStructuralSchema,
  type JsonSchemaProps,
  type SchemaCause,
} from "@azid/kube-emulator/internal/schema/index.js";

const prefix = "spec.versions[0].schema.openAPIV3Schema";
const at = (suffix: string) => `${prefix}${suffix}`;
const obj = (props: Record<string, JsonSchemaProps>, extra: JsonSchemaProps = {}): JsonSchemaProps => ({
  type: "object",
  properties: props,
  ...extra,
});

const cases: { name: string; schema: JsonSchemaProps; causes: SchemaCause[] }[] = [
  {
    name: "a complete structural schema passes",
    schema: obj({
      spec: obj({
        replicas: { type: "integer", default: 1, minimum: 0 },
        mode: { anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true },
        labels: { type: "object", additionalProperties: { type: "string" } },
        raw: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          "x-kubernetes-preserve-unknown-fields": true,
        },
      }),
    }),
    causes: [],
  },
  {
    // validation.go: field.Required(fldPath.Child("type"), "must not be empty for specified object fields")
    name: "a property without a type",
    schema: obj({ spec: { properties: { a: { type: "string" } } } }),
    causes: [
      {
        reason: "FieldValueRequired",
        message: "Required value: must not be empty for specified object fields",
        field: at(".properties[spec].type"),
      },
    ],
  },
  {
    // validation.go: field.Required(fldPath.Child("items"), "must be specified") and the item-level type message
    name: "an array without items, and items without a type",
    schema: obj({ a: { type: "array" }, b: { type: "array", items: {} } }),
    causes: [
      {
        reason: "FieldValueRequired",
        message: "Required value: must be specified",
        field: at(".properties[a].items"),
      },
      {
        reason: "FieldValueRequired",
        message: "Required value: must not be empty for specified array items",
        field: at(".properties[b].items.type"),
      },
    ],
  },
  {
    // validation.go: field.Invalid(fldPath.Child("type"), s.Type, "must be object at the root")
    name: "the root must be an object",
    schema: { type: "string" },
    causes: [
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: "string": must be object at the root',
        field: at(".type"),
      },
    ],
  },
  {
    // validation.go validateNestedValueValidation: "must be empty to be structural" / "must be undefined to be
    // structural"; ValidateStructuralWithOptions sorts the errors by their text.
    name: "types and defaults inside anyOf are not structural",
    schema: obj({ a: { type: "string", anyOf: [{ type: "string", default: "x" }] } }),
    causes: [
      {
        reason: "FieldValueForbidden",
        message: "Forbidden: must be undefined to be structural",
        field: at(".properties[a].anyOf[0].default"),
      },
      {
        reason: "FieldValueForbidden",
        message: "Forbidden: must be empty to be structural",
        field: at(".properties[a].anyOf[0].type"),
      },
    ],
  },
  {
    // complete.go: field.Required(sPath, fmt.Sprintf("because it is defined in %s", vPath))
    name: "a field only named in allOf is incomplete",
    schema: obj({ a: { type: "string" } }, { allOf: [{ properties: { b: { maxLength: 3 } } }] }),
    causes: [
      {
        reason: "FieldValueRequired",
        message: `Required value: because it is defined in ${at(".allOf[0].properties[b]")}`,
        field: at(".properties[b]"),
      },
    ],
  },
  {
    // validation.go validateStructuralMetadataInvariants
    name: "metadata at the root may only restrict name and generateName",
    schema: obj({ metadata: { type: "object", properties: { labels: { type: "object" } } } }),
    causes: [
      {
        reason: "FieldValueForbidden",
        message:
          "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
        field: at(".properties[metadata]"),
      },
    ],
  },
  {
    // validation.go validateExtensions
    name: "int-or-string excludes preserve-unknown-fields",
    schema: obj({ a: { "x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true } }),
    causes: [
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: true: must be false if x-kubernetes-int-or-string is true",
        field: at(".properties[a].x-kubernetes-preserve-unknown-fields"),
      },
    ],
  },
  {
    // validation.go: embedded resources must be objects with properties (or preserve unknown fields)
    name: "an embedded resource needs properties or preserve-unknown-fields",
    schema: obj({ t: { type: "object", "x-kubernetes-embedded-resource": true } }),
    causes: [
      {
        reason: "FieldValueRequired",
        message:
          "Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        field: at(".properties[t].properties"),
      },
    ],
  },
  {
    // apiextensions validation.go: list-type map needs keys that are item properties, scalar and required or defaulted
    name: "list-type map rules",
    schema: obj({
      l: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        items: obj({ name: { type: "string" } }),
      },
      m: { type: "array", "x-kubernetes-list-type": "map", items: { type: "string" } },
    }),
    causes: [
      {
        reason: "FieldValueRequired",
        message:
          "Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
        field: at(".properties[l].items.properties[name].default"),
      },
      {
        reason: "FieldValueRequired",
        message: "Required value: must not be empty if x-kubernetes-list-type is map",
        field: at(".properties[m].x-kubernetes-list-map-keys"),
      },
      {
        reason: "FieldValueInvalid",
        message: `Invalid value: "string": must be object if parent array's x-kubernetes-list-type is map`,
        field: at(".properties[m].items.type"),
      },
    ],
  },
  {
    // apiextensions validation.go: field.NotSupported(... []string{"atomic", "set", "map"})
    name: "unknown list and map types",
    schema: obj({
      l: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "bag" },
      m: { type: "object", "x-kubernetes-map-type": "loose" },
    }),
    causes: [
      {
        reason: "FieldValueNotSupported",
        message: 'Unsupported value: "bag": supported values: "atomic", "set", "map"',
        field: at(".properties[l].x-kubernetes-list-type"),
      },
      {
        reason: "FieldValueNotSupported",
        message: 'Unsupported value: "loose": supported values: "atomic", "granular"',
        field: at(".properties[m].x-kubernetes-map-type"),
      },
    ],
  },
  {
    // specStandardValidatorV3: $ref, patternProperties; defaults forbidden in top-level metadata
    name: "unsupported keywords and a default in metadata",
    schema: obj({
      a: { type: "string", $ref: "#/x" },
      metadata: { type: "object", default: {} },
    }),
    causes: [
      {
        reason: "FieldValueForbidden",
        message: "Forbidden: $ref is not supported",
        field: at(".properties[a].$ref"),
      },
      {
        reason: "FieldValueForbidden",
        message: "Forbidden: must not be set in top-level metadata",
        field: at(".properties[metadata].default"),
      },
    ],
  },
  {
    // validation.go: pattern must compile as a Go (RE2) regular expression
    name: "a pattern RE2 cannot compile",
    schema: obj({ a: { type: "string", pattern: "^(?!x)" } }),
    causes: [
      {
        reason: "FieldValueInvalid",
        message:
          'Invalid value: "^(?!x)": must be a valid regular expression, but isn\'t: error parsing regexp: invalid or unsupported Perl syntax: `(?!`',
        field: at(".properties[a].pattern"),
      },
    ],
  },
  {
    // defaulting/validation.go: a default must validate against its schema and carry no unknown fields
    name: "invalid and unpruned defaults",
    schema: obj({
      n: { type: "integer", maximum: 5, default: 7 },
      o: { type: "object", properties: { a: { type: "string" } }, default: { a: "x", b: 1 } },
    }),
    causes: [
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: 7:  in body should be less than or equal to 5",
        field: at(".properties[n].default"),
      },
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: map[string]interface {}{"a":"x", "b":1}: must not have unknown fields',
        field: at(".properties[o].default"),
      },
    ],
  },
  {
    // validation.go validateCustomResourceDefinitionValidation
    name: "nullable at the root",
    schema: { type: "object", nullable: true },
    causes: [
      {
        reason: "FieldValueForbidden",
        message: "Forbidden: nullable cannot be true at the root",
        field: at(".nullable"),
      },
    ],
  },
  {
    // apiextensions validation.go: rule entries are checked before any CEL compilation
    name: "x-kubernetes-validations entries",
    schema: obj({
      a: {
        type: "string",
        "x-kubernetes-validations": [
          { rule: " " },
          { rule: "self != ''", reason: "FieldValueBad" },
          { rule: "self != ''", fieldPath: ".nope" },
        ],
      },
    }),
    causes: [
      {
        reason: "FieldValueRequired",
        message: "Required value: rule is not specified",
        field: at(".properties[a].x-kubernetes-validations[0].rule"),
      },
      {
        reason: "FieldValueNotSupported",
        message:
          'Unsupported value: "FieldValueBad": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"',
        field: at(".properties[a].x-kubernetes-validations[1].reason"),
      },
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: ".nope": fieldPath must be a valid path',
        field: at(".properties[a].x-kubernetes-validations[2].fieldPath"),
      },
    ],
  },
];

for (const { name, schema, causes } of cases) {
  test(`structural schema: ${name}`, () => {
    assert.deepEqual(checkStructuralSchema(schema, prefix), causes);
  });
}

test("structural schema: malformed input yields causes, never a throw", () => {
  const weird = {
    type: "object",
    properties: { a: 5, b: { type: 7 }, c: { items: [1, 2] } },
  } as JsonSchemaProps;
  assert.doesNotThrow(() => checkStructuralSchema(weird, prefix));
  assert.ok(checkStructuralSchema(weird, prefix).length > 0);
});
