import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { StringPool, withoutBookkeeping } from "../../src/kube/cache-transform.js";
import type { KubeObject } from "../../src/kube/resources.js";

setFlagsFromString("--allow-natives-syntax");
const hasFastProperties = new Function("object", "return %HasFastProperties(object)") as (
  o: object,
) => boolean;

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

function decoded(): KubeObject {
  return JSON.parse(
    JSON.stringify({
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: {
        name: "api",
        namespace: "team-a",
        managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }],
        annotations: { [LAST_APPLIED]: '{"kind":"UserAssignedIdentity"}', team: "a" },
        labels: { app: "api" },
      },
      spec: { resourceGroup: "rg" },
    }),
  );
}

describe("cache transform", () => {
  test("drops managedFields and kubectl's last-applied copy, keeps the rest, and leaves the metadata a fast object", () => {
    const object = decoded();
    withoutBookkeeping(object);
    assert.deepEqual(object.metadata, {
      name: "api",
      namespace: "team-a",
      annotations: { team: "a" },
      labels: { app: "api" },
    });
    // `delete` would have turned them into hash tables, about three times as large.
    assert.ok(hasFastProperties(object.metadata as object), "metadata");
    assert.ok(hasFastProperties(object.metadata?.annotations as object), "annotations");
  });

  test("an object without bookkeeping is left as it is", () => {
    const object = decoded();
    withoutBookkeeping(object);
    const metadata = object.metadata;
    withoutBookkeeping(object);
    assert.equal(object.metadata, metadata);
  });

  test("pooling strings changes no value, and the pool stays within its bound whatever it sees", () => {
    const pool = new StringPool(100);
    for (let i = 0; i < 1000; i++) {
      const object = decoded();
      (object.metadata as Record<string, unknown>).uid = `uid-${i}`;
      const before = structuredClone(object);
      pool.internValues(object);
      assert.deepEqual(object, before);
      assert.ok(pool.size <= 100, `pool size ${pool.size}`);
    }
  });

  test("long strings are not pooled", () => {
    const pool = new StringPool();
    pool.internValues({ script: "x".repeat(10_000), list: ["y".repeat(300)] });
    assert.equal(pool.size, 0);
    pool.internValues({ reason: "NothingDeclared", items: ["a", { nested: "b" }] });
    assert.equal(pool.size, 3);
  });
});
