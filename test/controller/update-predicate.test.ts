// The manager's update predicates: which changes of a watched object reconcile it again.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  allOf,
  anyOf,
  changedBesidesStatus,
  DEFAULT_PREDICATE,
  finalizersOrDeletionChanged,
  generationChanged,
  labelsOrAnnotationsChanged,
  type UpdatePredicate,
} from "../../src/controller/predicates.js";
import type { KubeObject } from "../../src/kube/resources.js";

interface Changes {
  finalizers?: string[];
  tags?: string[];
  status?: unknown;
  rv?: string;
  generation?: number;
  labels?: Record<string, string>;
  deleting?: boolean;
}

const object = (changes: Changes = {}) =>
  ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: {
      name: "app",
      namespace: "team",
      resourceVersion: changes.rv ?? "1",
      generation: changes.generation ?? 1,
      ...(changes.labels ? { labels: changes.labels } : {}),
      ...(changes.finalizers ? { finalizers: changes.finalizers } : {}),
      ...(changes.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: { tags: changes.tags ?? [] },
    ...(changes.status ? { status: changes.status } : {}),
  }) as unknown as KubeObject;

const cases: Array<[string, UpdatePredicate, Changes, Changes, boolean]> = [
  ["a status write is not a change", changedBesidesStatus, {}, { status: { ready: true }, rv: "2" }, false],
  ["a spec change is", changedBesidesStatus, {}, { tags: ["x"], rv: "2" }, true],
  [
    "an added finalizer is (its echo is the reconcile that acts)",
    changedBesidesStatus,
    {},
    { finalizers: ["azid.dev/cleanup"], rv: "2" },
    true,
  ],
  [
    "a removed finalizer is",
    changedBesidesStatus,
    { finalizers: ["azid.dev/cleanup", "other"] },
    { finalizers: ["other"], rv: "2" },
    true,
  ],
  ["a new generation", generationChanged, {}, { generation: 2, rv: "2" }, true],
  ["the same generation", generationChanged, {}, { status: { x: 1 }, rv: "2" }, false],
  ["a label", labelsOrAnnotationsChanged, {}, { labels: { a: "b" }, rv: "2" }, true],
  ["no label change", labelsOrAnnotationsChanged, {}, { tags: ["x"], rv: "2" }, false],
  ["deletion started", finalizersOrDeletionChanged, {}, { deleting: true, rv: "2" }, true],
  ["nothing of the kind", finalizersOrDeletionChanged, {}, { tags: ["x"], rv: "2" }, false],
  [
    "anyOf: one is enough",
    anyOf(generationChanged, labelsOrAnnotationsChanged),
    {},
    { labels: { a: "b" }, rv: "2" },
    true,
  ],
  [
    "allOf: one is not enough",
    allOf(generationChanged, labelsOrAnnotationsChanged),
    {},
    { labels: { a: "b" }, rv: "2" },
    false,
  ],
  ["the default ignores status writes", DEFAULT_PREDICATE, {}, { status: { ready: true }, rv: "2" }, false],
];

describe("update predicates", () => {
  for (const [name, predicate, before, after, expected] of cases) {
    test(name, () => assert.equal(predicate(object(before), object(after)), expected));
  }
});
