// Finalizers against the emulator: added once, before anything else, removed with a test+remove
// JSON patch, and never overwriting what others changed at the same time.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AZID_FINALIZER,
  ensureFinalizer,
  FinalizerError,
  hasFinalizer,
  isBeingDeleted,
  removeFinalizer,
} from "../../src/kube/finalizers.js";
import { type HttpError, IDENTITIES, TestCluster } from "./support/cluster.js";

const OTHER = "example.com/other";

describe("finalizers", () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start();
    await cluster.createNamespace("fin");
  });
  after(() => cluster.close());

  test("ensureFinalizer adds once; a second call sends nothing", async () => {
    const created = await cluster.createIdentity("fin", "once");
    const added = await ensureFinalizer(cluster.client, IDENTITIES, created, AZID_FINALIZER);
    assert.deepEqual(added.metadata?.finalizers, [AZID_FINALIZER]);
    const again = await ensureFinalizer(cluster.client, IDENTITIES, added, AZID_FINALIZER);
    assert.equal(again.metadata?.resourceVersion, added.metadata?.resourceVersion);
    assert.deepEqual((await cluster.getIdentity("fin", "once")).metadata?.finalizers, [AZID_FINALIZER]);
  });

  test("adding from a stale copy keeps a concurrent spec change and another finalizer", async () => {
    const stale = await cluster.createIdentity("fin", "racy");
    // Meanwhile a user edits the spec, then another controller adds its finalizer.
    await cluster.setTags("fin", "racy", { v: "2" });
    await cluster.mergePatch("fin", "racy", { metadata: { finalizers: [OTHER] } });
    const result = await ensureFinalizer(cluster.client, IDENTITIES, stale, AZID_FINALIZER);
    assert.deepEqual(result.metadata?.finalizers, [OTHER, AZID_FINALIZER]);
    assert.deepEqual(result.spec, { ...stale.spec, tags: { v: "2" } });

    // With a list already there, the patch tests the list itself: a spec change does not conflict.
    await cluster.createIdentity("fin", "listed");
    const withOther = await cluster.mergePatch("fin", "listed", { metadata: { finalizers: [OTHER] } });
    await cluster.setTags("fin", "listed", { v: "3" });
    const added = await ensureFinalizer(cluster.client, IDENTITIES, withOther, AZID_FINALIZER);
    assert.deepEqual(added.metadata?.finalizers, [OTHER, AZID_FINALIZER]);
    assert.deepEqual(added.spec.tags, { v: "3" });
  });

  test("removal tests the entry it removes: a shifted list is re-read, the other finalizer stays", async () => {
    await cluster.createIdentity("fin", "shift");
    await cluster.mergePatch("fin", "shift", { metadata: { finalizers: ["a.example.com/x", OTHER] } });
    const object = await ensureFinalizer(
      cluster.client,
      IDENTITIES,
      await cluster.getIdentity("fin", "shift"),
      AZID_FINALIZER,
    );
    assert.deepEqual(object.metadata?.finalizers, ["a.example.com/x", OTHER, AZID_FINALIZER]);
    // Another controller removes its finalizer: ours moves from index 2 to 1 behind our back.
    await cluster.call(
      "PATCH",
      cluster.identityPath("fin", "shift"),
      [{ op: "remove", path: "/metadata/finalizers/0" }],
      "application/json-patch+json",
    );
    const removed = await removeFinalizer(cluster.client, IDENTITIES, object, AZID_FINALIZER);
    assert.deepEqual(removed?.metadata?.finalizers, [OTHER]);
    const again = await removeFinalizer(cluster.client, IDENTITIES, removed!, AZID_FINALIZER);
    assert.equal(again?.metadata?.resourceVersion, removed?.metadata?.resourceVersion, "idempotent");
  });

  test("a deleted object waits for the finalizer, and goes once it is removed", async () => {
    const created = await cluster.createIdentity("fin", "deleted");
    await ensureFinalizer(cluster.client, IDENTITIES, created, AZID_FINALIZER);
    await cluster.deleteIdentity("fin", "deleted");
    const deleting = await cluster.getIdentity("fin", "deleted");
    assert.ok(isBeingDeleted(deleting));
    assert.ok(hasFinalizer(deleting, AZID_FINALIZER));
    await assert.rejects(
      ensureFinalizer(
        cluster.client,
        IDENTITIES,
        { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } },
        "x.example.com/new",
      ),
      FinalizerError,
    );
    const result = await removeFinalizer(cluster.client, IDENTITIES, deleting, AZID_FINALIZER);
    assert.ok(result === undefined || !hasFinalizer(result, AZID_FINALIZER));
    await assert.rejects(cluster.getIdentity("fin", "deleted"), (error: HttpError) => error.status === 404);
    assert.equal(await removeFinalizer(cluster.client, IDENTITIES, deleting, AZID_FINALIZER), undefined);
  });
});
