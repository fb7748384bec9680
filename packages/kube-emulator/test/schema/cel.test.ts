// x-kubernetes-validations: CRD-time compilation (apiextensions validation.go, schema/cel/compilation.go)
// and evaluation (schema/cel/validation.go validateExpressions, fieldErrorForReason), skipped after
// blocking errors (registry/customresource/strategy.go hasBlockingErr), plus the Kubernetes CEL
// libraries (apiserver/pkg/cel/library) through the expression API.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CelCompileError,
  checkCelRules,
  compileCel,
  evaluateCel,
  type JsonSchemaProps,
  validateCustomResource,
  validateObject,
} from "@azid/kube-emulator/internal/schema/index.js";

const prefix = "spec.versions[0].schema.openAPIV3Schema";
const withSpec = (spec: JsonSchemaProps): JsonSchemaProps => ({ type: "object", properties: { spec } });
const resource = (spec: unknown) => ({
  apiVersion: "azid.io/v1",
  kind: "Thing",
  metadata: { name: "a" },
  spec,
});

const specSchema: JsonSchemaProps = {
  type: "object",
  properties: {
    replicas: { type: "integer" },
    scope: { type: "string" },
    mode: { type: "string" },
    labels: {
      type: "object",
      additionalProperties: { type: "string", "x-kubernetes-validations": [{ rule: "self.size() <= 3" }] },
    },
    items: {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      items: {
        type: "object",
        required: ["name"],
        properties: { name: { type: "string" }, weight: { type: "integer" } },
        "x-kubernetes-validations": [{ rule: "self.weight >= 0", message: "weight must not be negative" }],
      },
    },
  },
  "x-kubernetes-validations": [
    { rule: "self.replicas <= 5" },
    { rule: "self.replicas <= 8", message: "at most 8 replicas" },
    {
      rule: "!has(self.mode) || self.mode != 'x'",
      messageExpression: "'mode ' + self.mode + ' is not allowed'",
      reason: "FieldValueForbidden",
      fieldPath: ".mode",
    },
    { rule: "has(self.scope)", reason: "FieldValueRequired", message: "scope is required" },
    { rule: "self.scope == oldSelf.scope", message: "scope is immutable" },
    { rule: "!has(self.mode) || self.mode != 'dup'", reason: "FieldValueDuplicate" },
  ],
};
const schema = withSpec(specSchema);

test("cel: a valid schema compiles", () => {
  assert.deepEqual(checkCelRules(schema, prefix), []);
});

test("cel: compile errors make the CRD invalid, with cel-go's wording", () => {
  const rules = [
    { rule: "self.nope > 1" },
    { rule: "self.replicas" },
    { rule: "self.replicas > 1", messageExpression: "self.replicas" },
    { rule: "math.greatest(1, 2) > 0" },
    { rule: "self.replicas > 0", optionalOldSelf: true },
  ];
  const causes = checkCelRules(
    withSpec({
      type: "object",
      properties: { replicas: { type: "integer" } },
      "x-kubernetes-validations": rules,
    }),
    prefix,
  );
  const at = (i: number, key: string) => `${prefix}.properties[spec].x-kubernetes-validations[${i}].${key}`;
  const literal = (rule: string, extra = "") =>
    `apiextensions.ValidationRule{Rule:${JSON.stringify(rule)}, Message:"", MessageExpression:${JSON.stringify(extra)}, Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:`;
  assert.deepEqual(
    causes.map((c) => [c.reason, c.field]),
    [
      ["FieldValueInvalid", at(0, "rule")],
      ["FieldValueInvalid", at(1, "rule")],
      ["FieldValueInvalid", at(2, "messageExpression")],
      ["FieldValueInvalid", at(3, "rule")],
      ["FieldValueInvalid", at(4, "optionalOldSelf")],
    ],
  );
  // compilation.go: "compilation failed: " + issues.String(); the value is the rule struct (%#v)
  assert.equal(
    causes[0]?.message,
    `Invalid value: ${literal("self.nope > 1")}(*bool)(nil)}: compilation failed: ERROR: <input>:1:5: undefined field 'nope'\n | self.nope > 1\n | ....^`,
  );
  assert.match(causes[1]?.message ?? "", /: cel expression must evaluate to a bool$/);
  assert.equal(
    causes[2]?.message,
    `Invalid value: ${literal("self.replicas > 1", "self.replicas")}(*bool)(nil)}: messageExpression must evaluate to a string`,
  );
  assert.match(
    causes[3]?.message ?? "",
    /compilation failed: ERROR: <input>:1:1: undeclared reference to 'math'/,
  );
  assert.equal(causes[4]?.message, "Invalid value: true: may not be set if oldSelf is not used in rule");
});

test("cel: oldSelf is refused below a list that is not a map list", () => {
  const s = withSpec({
    type: "object",
    properties: {
      list: {
        type: "array",
        items: { type: "string", "x-kubernetes-validations": [{ rule: "self == oldSelf" }] },
      },
    },
  });
  assert.deepEqual(checkCelRules(s, prefix), [
    {
      reason: "FieldValueInvalid",
      message: `Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within ${prefix}.properties[spec].properties[list]`,
      field: `${prefix}.properties[spec].properties[list].items.x-kubernetes-validations[0].rule`,
    },
  ]);
});

test("cel: rules are not compiled for a schema that is not structural", () => {
  const s = withSpec({
    properties: { a: { type: "string" } },
    "x-kubernetes-validations": [{ rule: "self.nope" }],
  });
  assert.deepEqual(checkCelRules(s, prefix), []);
});

test("cel: failing rules on create, with message, messageExpression, reason and fieldPath", () => {
  assert.deepEqual(validateObject(schema, resource({ replicas: 9, mode: "x" })), [
    {
      reason: "FieldValueInvalid",
      message: 'Invalid value: "object": failed rule: self.replicas <= 5',
      field: "spec",
    },
    { reason: "FieldValueInvalid", message: 'Invalid value: "object": at most 8 replicas', field: "spec" },
    { reason: "FieldValueForbidden", message: "Forbidden: mode x is not allowed", field: "spec.mode" },
    { reason: "FieldValueRequired", message: "Required value: scope is required", field: "spec" },
  ]);
  assert.deepEqual(validateObject(schema, resource({ replicas: 1, scope: "s", mode: "dup" })), [
    { reason: "FieldValueDuplicate", message: 'Duplicate value: "object"', field: "spec" },
  ]);
});

test("cel: transition rules run on update only, against the old value", () => {
  const created = resource({ replicas: 1, scope: "a" });
  assert.deepEqual(validateObject(schema, created), []);
  assert.deepEqual(validateObject(schema, resource({ replicas: 2, scope: "b" }), created), [
    { reason: "FieldValueInvalid", message: 'Invalid value: "object": scope is immutable', field: "spec" },
  ]);
  assert.deepEqual(validateObject(schema, resource({ replicas: 2, scope: "a" }), created), []);
});

test("cel: optionalOldSelf rules also run on create, with oldSelf as an empty optional", () => {
  const s = withSpec({
    type: "object",
    properties: { v: { type: "integer" } },
    "x-kubernetes-validations": [
      {
        rule: "!oldSelf.hasValue() || self.v >= oldSelf.value().v",
        optionalOldSelf: true,
        message: "v may only grow",
      },
    ],
  });
  assert.deepEqual(validateObject(s, resource({ v: 1 })), []);
  assert.deepEqual(validateObject(s, resource({ v: 0 }), resource({ v: 1 })), [
    { reason: "FieldValueInvalid", message: 'Invalid value: "object": v may only grow', field: "spec" },
  ]);
});

test("cel: rules on list items and map values report their element's path", () => {
  assert.deepEqual(
    validateObject(
      schema,
      resource({
        replicas: 1,
        scope: "s",
        items: [
          { name: "a", weight: 1 },
          { name: "b", weight: -1 },
        ],
        labels: { k: "toolong" },
      }),
    ),
    [
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: "object": weight must not be negative',
        field: "spec.items[1]",
      },
      {
        reason: "FieldValueInvalid",
        message: 'Invalid value: "string": failed rule: self.size() <= 3',
        field: "spec.labels[k]",
      },
    ],
  );
});

test("cel: runtime errors are causes", () => {
  // validation.go: fmt.Sprintf("%v evaluating rule: %v", err, ruleErrorString(rule))
  assert.deepEqual(validateObject(schema, resource({ scope: "s" })), [
    {
      reason: "FieldValueInvalid",
      message: 'Invalid value: "object": no such key: replicas evaluating rule: self.replicas <= 5',
      field: "spec",
    },
    {
      reason: "FieldValueInvalid",
      message: 'Invalid value: "object": no such key: replicas evaluating rule: at most 8 replicas',
      field: "spec",
    },
  ]);
});

test("cel: blocking schema errors skip every rule and say so", () => {
  const s = withSpec({
    ...specSchema,
    properties: { ...(specSchema.properties as object), replicas: { type: "integer", maximum: 100 } },
  });
  assert.deepEqual(validateObject(s, resource({ replicas: "many", scope: "s" })), [
    {
      reason: "FieldValueTypeInvalid",
      message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
      field: "spec.replicas",
    },
    {
      reason: "FieldValueInvalid",
      message:
        'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
      field: "<nil>",
    },
  ]);
  // A non-blocking error (maximum is FieldValueInvalid) lets the rules run.
  const causes = validateObject(s, resource({ replicas: 101, scope: "s" }));
  assert.ok(causes.some((c) => c.message.endsWith("at most 8 replicas")));
});

test("cel: failures of unchanged values are ratcheted into warnings", () => {
  const old = resource({ replicas: 9, scope: "s" });
  const result = validateCustomResource(schema, resource({ replicas: 9, scope: "s" }), { oldObject: old });
  assert.deepEqual(result.causes, []);
  assert.deepEqual(result.warnings, [
    'spec: Invalid value: "object": failed rule: self.replicas <= 5',
    'spec: Invalid value: "object": at most 8 replicas',
  ]);
});

test("cel: the root sees apiVersion, kind and metadata.name", () => {
  const s: JsonSchemaProps = {
    type: "object",
    properties: {},
    "x-kubernetes-validations": [{ rule: "self.metadata.name.startsWith('azid-')", message: "bad name" }],
  };
  assert.deepEqual(checkCelRules(s, prefix), []);
  assert.deepEqual(validateObject(s, { apiVersion: "v1", kind: "X", metadata: { name: "other" } }), [
    { reason: "FieldValueInvalid", message: 'Invalid value: "object": bad name', field: "<nil>" },
  ]);
});

const library: [string, unknown][] = [
  ["'Hello'.lowerAscii() + 'x'.upperAscii()", "helloX"],
  ["'a-b-c'.replace('-', '+', 1)", "a+b-c"],
  ["'a,b'.split(',').join('|')", "a|b"],
  ["'abc'.charAt(1)", "b"],
  ["'hello'.indexOf('l') + 'hello'.lastIndexOf('l')", 5n],
  ["'  x '.trim().size()", 1n],
  ["strings.quote('a\"b')", '"a\\"b"'],
  ["[1, 2, 3].isSorted() && ![2, 1].isSorted()", true],
  ["[1, 2, 3].sum() + [5, 1].min() + [5, 1].max()", 12n],
  ["['a', 'b', 'a'].indexOf('a') + ['a', 'b', 'a'].lastIndexOf('a')", 2n],
  ["'abc 123 def 45'.find('[0-9]+')", "123"],
  ["'abc 123 def 45'.findAll('[0-9]+')", ["123", "45"]],
  ["'ABC'.matches('^[A-Z]+$')", true],
  ["url('https://example.com:8443/a/b?x=1').getHost()", "example.com:8443"],
  ["url('https://example.com:8443/a').getPort() + url('https://[::1]/').getHostname()", "8443::1"],
  ["isURL('https://example.com') && !isURL('not a url')", true],
  [
    "quantity('1Gi').isGreaterThan(quantity('1000Mi')) && quantity('500m').compareTo(quantity('0.5')) == 0",
    true,
  ],
  ["quantity('1.5').isInteger() || quantity('2k').asInteger() == 2000", true],
  ["isQuantity('10Mi') && !isQuantity('ten')", true],
  [
    "sets.contains([1, 2, 3], [1, 3]) && sets.intersects([1], [1, 2]) && sets.equivalent([1, 2], [2, 1])",
    true,
  ],
  ["[1, 2, 3].all(x, x > 0) && [1, 2].exists(x, x == 2) && [1, 2].exists_one(x, x > 1)", true],
  ["[1, 2, 3].filter(x, x > 1).map(x, x * 10)", [20n, 30n]],
  ["optional.of(1).orValue(2) + optional.none().orValue(3)", 4n],
  ["has(object.spec.replicas) && object.spec.?missing.orValue('d') == 'd'", true],
  [
    "duration('1h') > duration('30m') && timestamp('2024-01-01T00:00:00Z') < timestamp('2025-01-01T00:00:00Z')",
    true,
  ],
];

for (const [expression, expected] of library) {
  test(`cel library: ${expression}`, () => {
    assert.deepEqual(evaluateCel(expression, { object: { spec: { replicas: 1 } } }), expected);
  });
}

test("cel expression API: compile once, evaluate against named variables (as a policy would)", () => {
  const compiled = compileCel("object.spec.replicas <= params.max && request.operation == 'CREATE'", [
    "object",
    "params",
    "request",
  ]);
  assert.equal(compiled.outputType, "bool");
  assert.deepEqual([...compiled.references].sort(), ["object", "params", "request"]);
  assert.throws(() => compileCel("object.spec.replicas <=", ["object"]), CelCompileError);
  assert.throws(
    () => compileCel("unknownVariable > 1", ["object"]),
    /undeclared reference to 'unknownVariable'/,
  );
});
