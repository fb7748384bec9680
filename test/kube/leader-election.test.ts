// Leader election on a Lease in the emulator, with two electors: one leader at a time, handover
// when the leader releases the lease and when it stops renewing it, and stepping down when the
// API server is away for longer than the renew deadline.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import { LeaderElector } from "../../src/kube/leader-election.js";
import { TestCluster, testLogger, waitFor } from "./support/cluster.js";

interface Term {
  identity: string;
  start: number;
  end?: number;
  signal: AbortSignal;
}

describe("leader election", () => {
  let cluster: TestCluster;
  let leases: CoordinationV1Api;
  const terms: Term[] = [];
  const electors: LeaderElector[] = [];

  before(async () => {
    cluster = await TestCluster.start();
    leases = cluster.config.makeApiClient(CoordinationV1Api);
  });
  after(async () => {
    for (const elector of electors) await elector.stop({ release: false });
    await cluster.close();
  });

  function elector(identity: string, name: string): LeaderElector {
    const made = new LeaderElector({
      client: cluster.client,
      namespace: "kube-system",
      name,
      identity,
      logger: testLogger(),
      leaseDurationMs: 2000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 200,
      onStartedLeading: (signal) => {
        terms.push({ identity, start: performance.now(), signal });
      },
      onStoppedLeading: () => {
        const term = terms.findLast((t) => t.identity === identity);
        if (term) term.end = performance.now();
      },
    });
    electors.push(made);
    return made;
  }

  const lease = (name: string): Promise<V1Lease> =>
    leases.readNamespacedLease({ name, namespace: "kube-system" });

  /** Leadership terms never overlap: no two replicas ever ran leader duties at the same time. */
  function assertNoOverlap(): void {
    const sorted = [...terms].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      const previous = sorted[i - 1]!;
      assert.ok(
        previous.end !== undefined && previous.end <= sorted[i]!.start,
        `${previous.identity}'s term overlaps ${sorted[i]!.identity}'s`,
      );
    }
  }

  test("one of two candidates leads; the other takes over when the leader releases the lease", async () => {
    terms.length = 0;
    const a = elector("replica-a", "release");
    const b = elector("replica-b", "release");
    a.start();
    await waitFor(() => a.isLeader(), "a to lead");
    b.start();
    await waitFor(() => b.leader() === "replica-a", "b to see a as the leader");
    // Several of b's retry periods go by, counted by a's renewals: a keeps renewing, b keeps waiting.
    const renewTimes = new Set<string>();
    await waitFor(async () => {
      renewTimes.add(String((await lease("release")).spec?.renewTime));
      return renewTimes.size > 3;
    }, "three renewals by a");
    assert.ok(a.isLeader());
    assert.ok(!b.isLeader());
    const held = await lease("release");
    assert.equal(held.spec?.holderIdentity, "replica-a");
    assert.equal(held.spec?.leaseDurationSeconds, 2);
    assert.equal(held.spec?.leaseTransitions, 0);
    assert.ok(
      new Date(held.spec!.renewTime!).getTime() > new Date(held.spec!.acquireTime!).getTime(),
      "renewed",
    );

    await a.stop();
    const released = await lease("release");
    assert.ok(
      released.spec?.holderIdentity === "" || released.spec?.holderIdentity === "replica-b",
      "the lease is released on stop",
    );
    assert.ok(terms[0]?.signal.aborted, "a's duties were told to stop");
    await waitFor(() => b.isLeader(), "b to take over");
    const taken = await lease("release");
    assert.equal(taken.spec?.holderIdentity, "replica-b");
    assert.equal(taken.spec?.leaseTransitions, 1);
    await b.stop();
    assertNoOverlap();
  });

  test("a leader that stops renewing (a dead process) is replaced once its lease expires", async () => {
    terms.length = 0;
    const a = elector("replica-c", "expiry");
    const b = elector("replica-d", "expiry");
    a.start();
    await waitFor(() => a.isLeader(), "c to lead");
    b.start();
    await waitFor(() => b.leader() === "replica-c", "d to see c");
    await a.stop({ release: false });
    assert.equal((await lease("expiry")).spec?.holderIdentity, "replica-c", "not released");
    await waitFor(() => b.isLeader(), "d to take the expired lease", 10_000);
    const taken = await lease("expiry");
    assert.equal(taken.spec?.holderIdentity, "replica-d");
    assert.equal(taken.spec?.leaseTransitions, 1);
    await b.stop();
    assertNoOverlap();
  });

  test("the leader steps down when the API server is away past the renew deadline, and someone leads again after", async () => {
    terms.length = 0;
    const a = elector("replica-e", "outage");
    const b = elector("replica-f", "outage");
    a.start();
    b.start();
    await waitFor(() => a.isLeader() || b.isLeader(), "a leader");
    const first = terms[0]!;
    await cluster.kube.admin.makeUnavailable({ mode: "503" });
    await waitFor(() => !a.isLeader() && !b.isLeader(), "the leader to step down", 10_000);
    assert.ok(first.signal.aborted, "its duties were stopped");
    await cluster.kube.admin.makeAvailable();
    await waitFor(() => a.isLeader() || b.isLeader(), "a leader again", 10_000);
    assert.ok(!(a.isLeader() && b.isLeader()));
    await a.stop();
    await b.stop();
    assertNoOverlap();
  });
});
