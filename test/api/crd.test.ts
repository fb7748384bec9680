import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Type } from "typebox";
import { CrdSchemaError, crdFiles, type JsonSchemaProps, structuralSchema } from "../../src/api/crd.js";
import { list, obj, oneOf, str } from "../../src/api/schemas/helpers.js";

type Node = JsonSchemaProps & {
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node;
  required?: string[];
};

function* nodes(node: Node, path: string): Generator<[string, Node]> {
  yield [path, node];
  for (const [name, child] of Object.entries(node.properties ?? {})) yield* nodes(child, `${path}.${name}`);
  if (node.items) yield* nodes(node.items, `${path}[]`);
  if (node.additionalProperties) yield* nodes(node.additionalProperties, `${path}{}`);
}

const files = crdFiles();
const schemaOf = (crd: JsonSchemaProps) =>
  (
    (crd.spec as { versions: Array<{ schema: { openAPIV3Schema: Node } }> }).versions[0] as {
      schema: { openAPIV3Schema: Node };
    }
  ).schema.openAPIV3Schema;

describe("generated CRDs", () => {
  test("one per kind, in group azid.dev, category azid, with short names", () => {
    assert.deepEqual(
      files.map((f) => f.file),
      [
        "azid.dev_userassignedidentities.yaml",
        "azid.dev_systemassignedidentities.yaml",
        "azid.dev_customroles.yaml",
        "azid.dev_identitypolicies.yaml",
        "azid.dev_tenantmigrations.yaml",
      ],
    );
    for (const { crd } of files) {
      const spec = crd.spec as { group: string; names: { categories: string[]; shortNames: string[] } };
      assert.equal(spec.group, "azid.dev");
      assert.deepEqual(spec.names.categories, ["azid"]);
      assert.equal(spec.names.shortNames.length, 1);
    }
  });

  test("every node is typed and described, and none uses anyOf/oneOf/allOf/not", () => {
    for (const { file, crd } of files) {
      for (const [path, node] of nodes(schemaOf(crd), file)) {
        assert.equal(typeof node.type, "string", `${path} has no type`);
        // The root's metadata may carry nothing but its type (the API server refuses more).
        if (path === `${file}.metadata`) assert.deepEqual(node as unknown, { type: "object" });
        else assert.equal(typeof node.description, "string", `${path} has no description`);
        for (const keyword of ["anyOf", "oneOf", "allOf", "not", "const", "patternProperties"]) {
          assert.ok(!(keyword in node), `${path} uses ${keyword}`);
        }
        assert.notEqual(
          node.additionalProperties as unknown,
          false,
          `${path} sets additionalProperties: false`,
        );
      }
    }
  });

  test("list-map keys are required or defaulted, as Kubernetes demands", () => {
    for (const { file, crd } of files) {
      for (const [path, node] of nodes(schemaOf(crd), file)) {
        const keys = node["x-kubernetes-list-map-keys"] as string[] | undefined;
        if (!keys) continue;
        const item = node.items as Node;
        for (const key of keys) {
          const property = item.properties?.[key] as Node;
          assert.ok(item.required?.includes(key) || property.default !== undefined, `${path} key ${key}`);
        }
      }
    }
  });

  test("the identity kinds have the status subresource and the expected columns", () => {
    const uai = files[0]?.crd.spec as {
      versions: Array<{ subresources?: unknown; additionalPrinterColumns: Array<{ name: string }> }>;
    };
    assert.deepEqual(uai.versions[0]?.subresources, { status: {} });
    assert.deepEqual(
      uai.versions[0]?.additionalPrinterColumns.map((c) => c.name),
      ["Ready", "Reason", "Client ID", "Principal", "Age"],
    );
    const policy = files[3]?.crd.spec as { scope: string; versions: Array<{ subresources?: unknown }> };
    assert.equal(policy.scope, "Cluster");
    assert.equal(policy.versions[0]?.subresources, undefined);
  });

  test("a deny rule's app roles are described as denied, an allow rule's as allowed", () => {
    const policy = files.find((f) => f.file.includes("identitypolicies"))?.crd;
    // Walks the CRD's JSON by property names.
    const at = (node: unknown, ...path: string[]): unknown =>
      path.reduce((value, key) => (value as Record<string, unknown> | undefined)?.[key], node);
    const spec = at(
      policy,
      "spec",
      "versions",
      "0",
      "schema",
      "openAPIV3Schema",
      "properties",
      "spec",
      "properties",
    );
    const appRoles = (rule: unknown) => String(at(rule, "items", "properties", "appRoles", "description"));
    assert.match(appRoles(at(spec, "deny", "items", "properties", "graphAppRoles")), /^App roles denied/);
    assert.match(appRoles(at(spec, "graphAppRoles")), /^App roles allowed/);
  });

  test("CEL rules travel without their TypeScript mirrors", () => {
    const text = JSON.stringify(files.map((f) => f.crd));
    assert.ok(text.includes("self == oldSelf"));
    assert.ok(!text.includes('"check"'));
  });
});

describe("structuralSchema", () => {
  test("turns enums and string maps into structural forms", () => {
    const schema = structuralSchema(
      obj(
        { mode: oneOf(["A", "B"], "mode"), tags: Type.Record(Type.String(), str("v"), { description: "t" }) },
        "x",
      ),
    );
    assert.deepEqual((schema.properties as Record<string, Node>).mode, {
      enum: ["A", "B"],
      type: "string",
      description: "mode",
    });
    assert.deepEqual((schema.properties as Record<string, Node>).tags, {
      type: "object",
      additionalProperties: { type: "string", description: "v" },
      description: "t",
    });
  });

  test("refuses what Kubernetes would refuse", () => {
    assert.throws(() => structuralSchema(Type.Union([str("a"), Type.Number()])), CrdSchemaError);
    assert.throws(() => structuralSchema(list(Type.Unknown(), "anything")), CrdSchemaError);
  });
});
