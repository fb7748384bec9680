// pruneUnknownFields and applyDefaults: pkg/apiserver/schema/pruning/algorithm.go (with the
// UnknownFieldPathOptions paths used for fieldValidation Strict/Warn), defaulting/prunenulls.go,
// defaulting/algorithm.go and objectmeta/coerce.go.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  applyDefaults,
  type JsonSchemaProps,
  pruneUnknownFields,
} from "@azid/kube-emulator/internal/schema/index.js";

const schema: JsonSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        replicas: { type: "integer", default: 1 },
        list: { type: "array", items: { type: "object", properties: { name: { type: "string" } } } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        raw: {
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: { known: { type: "object", properties: { a: { type: "string" } } } },
        },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          properties: { spec: { type: "object", properties: { x: { type: "string" } } } },
        },
        nullable: { type: "string", nullable: true },
        plain: { type: "string" },
        settings: {
          type: "object",
          default: {},
          properties: { mode: { type: "string", default: "fast" }, level: { type: "integer" } },
        },
      },
    },
  },
};

test("pruning: unknown fields are dropped and reported by path, sorted", () => {
  const input = {
    apiVersion: "azid.io/v1",
    kind: "Thing",
    metadata: { name: "a", extra: "kept: root metadata is the server's" },
    top: 1,
    spec: {
      foo: 1,
      list: [{ name: "a", bar: 2 }],
      labels: { any: "kept" },
      raw: { anything: { deep: true }, known: { a: "x", b: "pruned" } },
      template: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p", junk: 1 },
        spec: { x: "y", z: 1 },
        status: {},
      },
    },
  };
  const { object, unknownFields } = pruneUnknownFields(schema, input);
  assert.deepEqual(unknownFields, [
    "spec.foo",
    "spec.list[0].bar",
    "spec.raw.known.b",
    "spec.template.metadata.junk",
    "spec.template.spec.z",
    "spec.template.status",
    "top",
  ]);
  assert.deepEqual(object, {
    apiVersion: "azid.io/v1",
    kind: "Thing",
    metadata: { name: "a", extra: "kept: root metadata is the server's" },
    spec: {
      list: [{ name: "a" }],
      labels: { any: "kept" },
      raw: { anything: { deep: true }, known: { a: "x" } },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { x: "y" } },
    },
  });
  assert.equal((input.spec as Record<string, unknown>).foo, 1, "the input is not modified");
});

test("pruning: non-nullable nulls without a default are removed, others kept", () => {
  const { object } = pruneUnknownFields(schema, { spec: { nullable: null, plain: null, replicas: null } });
  assert.deepEqual(object, { spec: { nullable: null, replicas: null } });
});

test("defaulting: missing fields and non-nullable nulls take the default, nested objects too", () => {
  const defaulted = applyDefaults(schema, { spec: { replicas: null } });
  assert.deepEqual(defaulted, { spec: { replicas: 1, settings: { mode: "fast" } } });
  assert.deepEqual(applyDefaults(schema, { spec: { replicas: 3, settings: { level: 2 } } }), {
    spec: { replicas: 3, settings: { mode: "fast", level: 2 } },
  });
});

test("defaulting: list items and map values use their item schema's default", () => {
  const s: JsonSchemaProps = {
    type: "object",
    properties: {
      items: {
        type: "array",
        items: { type: "object", properties: { port: { type: "integer", default: 80 } } },
      },
      map: {
        type: "object",
        additionalProperties: { type: "object", properties: { on: { type: "boolean", default: true } } },
      },
    },
  };
  assert.deepEqual(applyDefaults(s, { items: [{}, { port: 8080 }], map: { a: {} } }), {
    items: [{ port: 80 }, { port: 8080 }],
    map: { a: { on: true } },
  });
});

test("defaulting: defaults are deep copies", () => {
  const once = applyDefaults(schema, { spec: {} }) as { spec: { settings: Record<string, unknown> } };
  once.spec.settings.mode = "changed";
  const twice = applyDefaults(schema, { spec: {} }) as { spec: { settings: Record<string, unknown> } };
  assert.equal(twice.spec.settings.mode, "fast");
});
