// The manager's default update predicate: which changes of a watched object reconcile it again.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ignoreStatusOnlyUpdates } from "../../src/controller/manager.js";
import type { KubeObject } from "../../src/kube/resources.js";

const object = (changes: { finalizers?: string[]; tags?: string[]; status?: unknown; rv?: string } = {}) =>
  ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: {
      name: "app",
      namespace: "team",
      resourceVersion: changes.rv ?? "1",
      generation: 1,
      ...(changes.finalizers ? { finalizers: changes.finalizers } : {}),
    },
    spec: { tags: changes.tags ?? [] },
    ...(changes.status ? { status: changes.status } : {}),
  }) as unknown as KubeObject;

describe("the default update predicate", () => {
  test("ignores status writes and the finalizer a first reconcile adds", () => {
    assert.equal(ignoreStatusOnlyUpdates(object(), object({ status: { ready: true }, rv: "2" })), false);
    assert.equal(
      ignoreStatusOnlyUpdates(object(), object({ finalizers: ["azid.dev/cleanup"], rv: "2" })),
      false,
    );
    assert.equal(
      ignoreStatusOnlyUpdates(
        object({ finalizers: ["other"] }),
        object({ finalizers: ["other", "azid.dev/cleanup"], rv: "2" }),
      ),
      false,
    );
  });

  test("reconciles a spec change, also one that comes with a finalizer, and a removed finalizer", () => {
    assert.equal(ignoreStatusOnlyUpdates(object(), object({ tags: ["x"], rv: "2" })), true);
    assert.equal(
      ignoreStatusOnlyUpdates(object(), object({ tags: ["x"], finalizers: ["azid.dev/cleanup"], rv: "2" })),
      true,
    );
    assert.equal(
      ignoreStatusOnlyUpdates(
        object({ finalizers: ["azid.dev/cleanup"] }),
        object({ finalizers: [], rv: "2" }),
      ),
      true,
    );
    assert.equal(
      ignoreStatusOnlyUpdates(
        object({ finalizers: ["azid.dev/cleanup", "other"] }),
        object({ finalizers: ["other"], rv: "2" }),
      ),
      true,
    );
  });
});
