// The status writer against the emulator and the real UserAssignedIdentity CRD: the /status
// subresource, observedGeneration, lastTransitionTime only on a status change, no write when
// nothing changed, and a conflict answered by a re-read.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../../src/kube/client.js";
import type { KubeObject, ResourceType } from "../../src/kube/resources.js";
import { type Condition, kubeTime, StatusWriter, setCondition } from "../../src/kube/status.js";
import { IDENTITIES, type Identity, TestCluster } from "./support/cluster.js";

/** Counts the status writes that reach the wire. */
class CountingClient extends KubeClient {
  statusWrites = 0;
  override replaceStatus<T extends KubeObject>(resource: ResourceType, object: T): Promise<T> {
    this.statusWrites++;
    return super.replaceStatus(resource, object);
  }
}

const ready = (status: Condition["status"], reason = "Reconciled", message = "as declared") => ({
  type: "Ready",
  status,
  reason,
  message,
});

describe("status writer", () => {
  let cluster: TestCluster;
  let client: CountingClient;
  let clock: Date;
  let writer: StatusWriter;

  before(async () => {
    cluster = await TestCluster.start();
    await cluster.createNamespace("status");
    client = new CountingClient(cluster.config);
    clock = new Date("2030-01-01T00:00:00Z");
    writer = new StatusWriter({ client, now: () => clock });
  });
  after(() => cluster.close());

  test("setCondition keeps lastTransitionTime while the status stays, and order", () => {
    const t0 = new Date("2030-01-01T00:00:00.250Z");
    const t1 = new Date("2030-01-01T00:05:00Z");
    let conditions = setCondition(undefined, ready("False", "Progressing", "creating"), {
      now: t0,
      generation: 1,
    });
    conditions = setCondition(
      conditions,
      { type: "RolesGranted", status: "True", reason: "Reconciled", message: "" },
      { now: t0 },
    );
    conditions = setCondition(conditions, ready("False", "Progressing", "still creating"), {
      now: t1,
      generation: 2,
    });
    assert.deepEqual(conditions[0], {
      ...ready("False", "Progressing", "still creating"),
      lastTransitionTime: "2030-01-01T00:00:00Z",
      observedGeneration: 2,
    });
    conditions = setCondition(conditions, ready("True"), { now: t1 });
    assert.equal(conditions[0]!.lastTransitionTime, "2030-01-01T00:05:00Z");
    assert.deepEqual(
      conditions.map((c) => c.type),
      ["Ready", "RolesGranted"],
    );
  });

  test("writes through /status with observedGeneration, then sends nothing when unchanged", async () => {
    const created = await cluster.createIdentity("status", "first", { v: "1" });
    const first = await writer.write(IDENTITIES, created, {
      principalId: "p-1",
      conditions: [ready("True")],
    });
    assert.equal(first.written, true);
    assert.equal(client.statusWrites, 1);
    const stored = await cluster.getIdentity("status", "first");
    assert.deepEqual(stored.spec, created.spec, "the status subresource leaves the spec alone");
    assert.equal(stored.status?.observedGeneration, 1);
    assert.deepEqual(stored.status?.conditions, [
      { ...ready("True"), lastTransitionTime: kubeTime(clock), observedGeneration: 1 },
    ]);

    clock = new Date("2030-01-01T01:00:00Z");
    const again = await writer.write(IDENTITIES, stored, { principalId: "p-1", conditions: [ready("True")] });
    assert.equal(again.written, false);
    assert.equal(client.statusWrites, 1, "an unchanged status is not sent at all");
    assert.equal(again.object.metadata?.resourceVersion, stored.metadata?.resourceVersion);
  });

  test("lastTransitionTime moves only when a condition's status changes; observedGeneration follows the spec", async () => {
    clock = new Date("2030-01-02T00:00:00Z");
    let object: Identity = await cluster.createIdentity("status", "transitions", { v: "1" });
    object = (
      await writer.write(IDENTITIES, object, { conditions: [ready("False", "Progressing", "creating")] })
    ).object;
    const createdAt = kubeTime(clock);

    object = await cluster.setTags("status", "transitions", { v: "2" });
    assert.equal(object.metadata?.generation, 2);
    clock = new Date("2030-01-02T00:01:00Z");
    object = (
      await writer.write(IDENTITIES, object, { conditions: [ready("False", "Progressing", "attaching")] })
    ).object;
    assert.equal(object.status?.observedGeneration, 2);
    assert.equal(object.status?.conditions?.[0]?.lastTransitionTime, createdAt, "same status: time kept");
    assert.equal(object.status?.conditions?.[0]?.message, "attaching", "the message still changes");

    clock = new Date("2030-01-02T00:02:00Z");
    object = (await writer.write(IDENTITIES, object, { conditions: [ready("True")] })).object;
    assert.equal(object.status?.conditions?.[0]?.lastTransitionTime, kubeTime(clock), "new status: new time");
  });

  test("a conflict re-reads and writes again, keeping the generation the reconcile saw", async () => {
    clock = new Date("2030-01-03T00:00:00Z");
    const seen = await cluster.createIdentity("status", "conflict", { v: "1" });
    // The spec changes after the reconcile read the object: its resourceVersion is stale.
    await cluster.setTags("status", "conflict", { v: "2" });
    const writes = client.statusWrites;
    const result = await writer.write(IDENTITIES, seen, { conditions: [ready("True")] });
    assert.equal(result.written, true);
    assert.equal(client.statusWrites, writes + 2, "one 409, then the write on the re-read object");
    const stored = await cluster.getIdentity("status", "conflict");
    assert.equal(stored.metadata?.generation, 2);
    assert.equal(
      stored.status?.observedGeneration,
      1,
      "the status describes generation 1, which the reconcile read, not the newer spec",
    );
    assert.deepEqual(stored.spec.tags, { v: "2" });
  });

  test("after a conflict, a status that is already in place is not written again", async () => {
    const seen = await cluster.createIdentity("status", "settled", { v: "1" });
    const current = await writer.write(IDENTITIES, seen, { conditions: [ready("True")] });
    const writes = client.statusWrites;
    // A stale copy (another replica already wrote the same status) costs one 409 and nothing more.
    const stale = {
      ...seen,
      metadata: { ...seen.metadata, resourceVersion: seen.metadata!.resourceVersion },
    };
    const result = await writer.write(IDENTITIES, stale, { conditions: [ready("True")] });
    assert.equal(result.written, false);
    assert.equal(client.statusWrites, writes + 1);
    assert.equal(result.object.metadata?.resourceVersion, current.object.metadata?.resourceVersion);
  });

  test("a conflict over a status someone else changed is thrown: the reconcile read a stale status", async () => {
    const seen = await cluster.createIdentity("status", "stale", { v: "1" });
    // Another reconcile (or a lagging cache's reader) wrote a status this reconcile never saw;
    // overwriting it would lose what that status remembered.
    await writer.write(IDENTITIES, seen, { conditions: [ready("True")], principalId: "p-1" });
    const writes = client.statusWrites;
    await assert.rejects(
      writer.write(IDENTITIES, seen, { conditions: [ready("False", "Progressing", "stale")] }),
      (error: { code?: number }) => error.code === 409,
    );
    assert.equal(client.statusWrites, writes + 1, "no second write");
    const stored = await cluster.getIdentity("status", "stale");
    assert.equal((stored.status as { principalId?: string }).principalId, "p-1");
  });

  test("a status the schema refuses is an error, not a retry loop", async () => {
    const seen = await cluster.createIdentity("status", "invalid", { v: "1" });
    await assert.rejects(
      writer.write(IDENTITIES, seen, { conditions: [{ ...ready("True"), reason: "not a reason!" }] }),
      (error: { code?: number }) => error.code === 422,
    );
  });
});
