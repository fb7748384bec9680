// Merge, JSON and strategic merge patches as the API server applies them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { componentType } from "@azid/kube-emulator/internal/api/builtin-schemas.js";
import { ApiError } from "@azid/kube-emulator/internal/errors.js";
import type { JsonObject } from "@azid/kube-emulator/internal/json.js";
import { applyJsonPatch, decodeJsonPatch } from "@azid/kube-emulator/internal/patch/json-patch.js";
import { applyMergePatch } from "@azid/kube-emulator/internal/patch/merge-patch.js";
import { applyStrategicMergePatch } from "@azid/kube-emulator/internal/patch/strategic-merge-patch.js";

const deployment = componentType("V1Deployment");

function podSpec(containers: JsonObject[], extra: JsonObject = {}): JsonObject {
  return { spec: { template: { spec: { containers, ...extra } } } };
}

test("merge patch: objects merge, null deletes, lists are replaced", () => {
  const target = { a: { b: 1, c: 2 }, list: [1, 2] };
  assert.deepEqual(applyMergePatch(target, { a: { b: null, d: 3 }, list: [3] }), {
    a: { c: 2, d: 3 },
    list: [3],
  });
  assert.deepEqual(target, { a: { b: 1, c: 2 }, list: [1, 2] }, "the target is not changed");
});

test("JSON patch: add with -, move, copy, test; failures are 422 and bad documents 400", () => {
  const doc = { spec: { items: ["a"], name: "x" } };
  const patched = applyJsonPatch(
    doc,
    decodeJsonPatch([
      { op: "add", path: "/spec/items/-", value: "b" },
      { op: "copy", from: "/spec/name", path: "/spec/copy" },
      { op: "move", from: "/spec/name", path: "/spec/renamed" },
      { op: "test", path: "/spec/items/1", value: "b" },
      { op: "add", path: "/spec/a~1b", value: 1 },
    ]),
  );
  assert.deepEqual(patched, { spec: { items: ["a", "b"], copy: "x", renamed: "x", "a/b": 1 } });
  const code = (run: () => unknown): number => {
    try {
      run();
    } catch (error) {
      if (error instanceof ApiError) return error.code;
      throw error;
    }
    return 200;
  };
  assert.equal(
    code(() => applyJsonPatch(doc, decodeJsonPatch([{ op: "replace", path: "/spec/missing", value: 1 }]))),
    422,
  );
  assert.equal(
    code(() => applyJsonPatch(doc, decodeJsonPatch([{ op: "test", path: "/spec/name", value: "y" }]))),
    422,
  );
  assert.equal(
    code(() => applyJsonPatch(doc, decodeJsonPatch([{ op: "explode", path: "/spec" }]))),
    422,
  );
  assert.equal(
    code(() => decodeJsonPatch({ op: "add" })),
    400,
  );
});

test("strategic merge patch: containers merge by name, with $patch delete and $setElementOrder", () => {
  const original = podSpec([
    { name: "a", image: "a:1" },
    { name: "b", image: "b:1" },
  ]);
  const updated = applyStrategicMergePatch(
    original,
    {
      spec: {
        template: {
          spec: {
            containers: [
              { name: "c", image: "c:1" },
              { name: "a", $patch: "delete" },
              { name: "b", image: "b:2" },
            ],
            "$setElementOrder/containers": [{ name: "c" }, { name: "b" }],
          },
        },
      },
    },
    deployment,
  ) as JsonObject;
  const containers = (
    (((updated.spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonObject[]
  ).map((c) => `${c.name}=${c.image}`);
  assert.deepEqual(containers, ["c=c:1", "b=b:2"]);
});

test("strategic merge patch: $patch replace, $retainKeys and $deleteFromPrimitiveList", () => {
  const original = podSpec([{ name: "a", image: "a:1", args: ["--x", "--y"] }], {
    nodeSelector: { zone: "a", disk: "ssd" },
    volumes: [{ name: "v", emptyDir: {} }],
  });
  const updated = applyStrategicMergePatch(
    original,
    {
      spec: {
        template: {
          spec: {
            nodeSelector: { $patch: "replace", zone: "b" },
            volumes: [{ name: "v", configMap: { name: "cm" }, $retainKeys: ["name", "configMap"] }],
            containers: [{ name: "a", "$deleteFromPrimitiveList/args": ["--x"] }],
          },
        },
      },
    },
    deployment,
  ) as JsonObject;
  const spec = ((updated.spec as JsonObject).template as JsonObject).spec as JsonObject;
  assert.deepEqual(spec.nodeSelector, { zone: "b" });
  assert.deepEqual(spec.volumes, [{ name: "v", configMap: { name: "cm" } }]);
  assert.deepEqual((spec.containers as JsonObject[])[0]!.args, ["--y"]);
});
