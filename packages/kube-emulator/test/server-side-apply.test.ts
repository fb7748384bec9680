// Server-side apply semantics (structured-merge-diff) on a custom resource's type:
// associative lists merge by key, sets by value, atomic lists as a whole; ownership is
// shared when values agree, moves on force, and a field leaves with its last owner.
import assert from "node:assert/strict";
import { test } from "node:test";
import { customResourceType } from "@azid/kube-emulator/internal/api/builtin-schemas.js";
import { ApiError } from "@azid/kube-emulator/internal/errors.js";
import type { JsonObject } from "@azid/kube-emulator/internal/json.js";
import {
  type FieldManagerContext,
  recordApply,
  recordUpdate,
} from "@azid/kube-emulator/internal/managedfields/field-manager.js";
import { mergeApplied } from "@azid/kube-emulator/internal/managedfields/typed-value.js";

const type = customResourceType({
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        replicas: { type: "integer" },
        ports: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
          items: { type: "object", properties: { name: { type: "string" }, port: { type: "integer" } } },
        },
        tags: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
        args: { type: "array", items: { type: "string" } },
        settings: { type: "object", additionalProperties: { type: "string" } },
      },
    },
  },
});

const ctx: FieldManagerContext = {
  type,
  apiVersion: "example.com/v1",
  subresource: "",
  ignoredFields: ["status"],
  now: "2026-01-01T00:00:00Z",
};

function config(spec: JsonObject): JsonObject {
  return { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, spec };
}

function apply(live: JsonObject | undefined, spec: JsonObject, manager: string, force = false): JsonObject {
  const applied = config(spec);
  const merged = live
    ? (mergeApplied(structuredClone(live), applied, type) as JsonObject)
    : structuredClone(applied);
  return recordApply(live, merged, applied, manager, force, ctx);
}

function owners(object: JsonObject): Record<string, unknown> {
  const entries = (object.metadata as { managedFields: { manager: string; fieldsV1: JsonObject }[] })
    .managedFields;
  return Object.fromEntries(entries.map((e) => [e.manager, e.fieldsV1["f:spec"]]));
}

function conflictFields(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError && error.code === 409)
      return (error.details?.causes ?? []).map((c) => c.field ?? "");
    throw error;
  }
  assert.fail("expected a conflict");
}

test("associative list items belong to whoever applied them; dropping one removes only it", () => {
  let live = apply(undefined, { ports: [{ name: "http", port: 80 }] }, "a");
  live = apply(live, { ports: [{ name: "metrics", port: 9090 }] }, "b");
  assert.deepEqual((live.spec as JsonObject).ports, [
    { name: "http", port: 80 },
    { name: "metrics", port: 9090 },
  ]);
  assert.deepEqual(owners(live).a, {
    "f:ports": { 'k:{"name":"http"}': { ".": {}, "f:name": {}, "f:port": {} } },
  });
  live = apply(live, { ports: [] }, "a");
  assert.deepEqual((live.spec as JsonObject).ports, [{ name: "metrics", port: 9090 }]);
  assert.deepEqual(
    conflictFields(() => apply(live, { ports: [{ name: "metrics", port: 1 }] }, "a")),
    ['.spec.ports[name="metrics"].port'],
  );
});

test("agreeing appliers share a field, which stays until its last owner stops applying it", () => {
  let live = apply(undefined, { tags: ["x"], replicas: 2 }, "a");
  live = apply(live, { tags: ["x", "y"], replicas: 2 }, "b");
  assert.deepEqual((live.spec as JsonObject).tags, ["x", "y"]);
  live = apply(live, {}, "a");
  assert.deepEqual(live.spec, { tags: ["x", "y"], replicas: 2 }, "b still owns everything a dropped");
  live = apply(live, { tags: ["y"] }, "b");
  assert.deepEqual(live.spec, { tags: ["y"] });
});

test("atomic lists conflict as a whole; force moves ownership", () => {
  const live = apply(undefined, { args: ["--a", "--b"], settings: { level: "1" } }, "a");
  assert.deepEqual(
    conflictFields(() => apply(live, { args: ["--c"] }, "b")),
    [".spec.args"],
  );
  const forced = apply(live, { args: ["--c"] }, "b", true);
  assert.deepEqual((forced.spec as JsonObject).args, ["--c"]);
  assert.deepEqual(owners(forced).a, { "f:settings": { "f:level": {} } });
  assert.deepEqual(owners(forced).b, { "f:args": {} });
});

test("an Update takes the fields it changed, and the applier then conflicts with it", () => {
  const live = apply(undefined, { replicas: 1, settings: { level: "1" } }, "kubectl");
  const edited = structuredClone(live);
  (edited.spec as JsonObject).replicas = 5;
  recordUpdate(live, edited, "hpa", { ...ctx, now: "2026-01-02T00:00:00Z" });
  assert.deepEqual(owners(edited).hpa, { "f:replicas": {} });
  assert.deepEqual(owners(edited).kubectl, { "f:settings": { "f:level": {} } });
  assert.throws(
    () => apply(edited, { replicas: 1, settings: { level: "1" } }, "kubectl"),
    (error: unknown) =>
      error instanceof ApiError &&
      error.message ===
        'Apply failed with 1 conflict: conflict with "hpa" using example.com/v1 at 2026-01-02T00:00:00Z: .spec.replicas',
  );
});
