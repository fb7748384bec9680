// The events recorder against the emulator: events.k8s.io/v1 Events with azid's reporting
// fields, repeats folded into a series, and a spam filter per object.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EventsV1Api, type EventsV1Event } from "@kubernetes/client-node";
import { EventRecorder, REPORTING_CONTROLLER } from "../../src/kube/events.js";
import { Kubectl } from "../support/kube.js";
import { type Identity, TestCluster, testLogger } from "./support/cluster.js";

describe("events recorder", () => {
  let cluster: TestCluster;
  let eventsApi: EventsV1Api;
  let clock: number;
  const recorders: EventRecorder[] = [];

  before(async () => {
    cluster = await TestCluster.start();
    await cluster.createNamespace("ev");
    eventsApi = cluster.config.makeApiClient(EventsV1Api);
    clock = Date.parse("2030-01-01T00:00:00Z");
  });
  after(async () => {
    for (const recorder of recorders) await recorder.close();
    await cluster.close();
  });

  function recorder(options: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {}): EventRecorder {
    const made = new EventRecorder({
      client: cluster.client,
      reportingInstance: "azid-controller-7d9f-abcde",
      logger: testLogger(),
      now: () => new Date(clock),
      ...options,
    });
    recorders.push(made);
    return made;
  }

  async function eventsAbout(object: Identity): Promise<EventsV1Event[]> {
    const list = await eventsApi.listNamespacedEvent({
      namespace: "ev",
      fieldSelector: `regarding.name=${object.metadata!.name}`,
    });
    return list.items.sort((a, b) => (a.note ?? "").localeCompare(b.note ?? ""));
  }

  test("an event carries azid's reporting controller, the pod, the action and what it is about", async () => {
    const object = await cluster.createIdentity("ev", "fields");
    const events = recorder();
    events.record({
      regarding: object,
      type: "Normal",
      reason: "RolesGranted",
      action: "Reconcile",
      note: "granted 2 roles",
    });
    await events.flush();
    const [event, ...rest] = await eventsAbout(object);
    assert.equal(rest.length, 0);
    assert.equal(event?.reportingController, REPORTING_CONTROLLER);
    assert.equal(event?.reportingInstance, "azid-controller-7d9f-abcde");
    assert.equal(event?.action, "Reconcile");
    assert.equal(event?.reason, "RolesGranted");
    assert.equal(event?.type, "Normal");
    assert.equal(event?.note, "granted 2 roles");
    assert.equal(event?.regarding?.uid, object.metadata?.uid);
    assert.equal(event?.regarding?.kind, "UserAssignedIdentity");
    assert.equal(event?.regarding?.apiVersion, "azid.dev/v1alpha1");
    assert.equal(event?.series, undefined);
  });

  test("kubectl's core view shows the event: first and last seen, count and source, sortable by time", async () => {
    const object = await cluster.createIdentity("ev", "core-view");
    const events = recorder({ seriesFlushMs: 60_000 });
    const note = "granted 1 role";
    const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
    const first = clock;
    const record = () =>
      events.record({ regarding: object, type: "Normal", reason: "RolesGranted", action: "Reconcile", note });
    record();
    await events.flush();
    clock += 5_000;
    record();
    await events.flush();
    const kubectl = new Kubectl(cluster.kubeconfigPath);
    try {
      const listed = await kubectl.run(["get", "events", "-n", "ev", "--sort-by=.lastTimestamp"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /RolesGranted/);
      assert.match(listed.stdout, new RegExp(`useridentity/core-view|${object.metadata!.name}`, "i"));
      const json = await kubectl.run(["get", "events", "-n", "ev", "-o", "json"]);
      const core = JSON.parse(json.stdout).items.find(
        (e: { involvedObject?: { name?: string } }) => e.involvedObject?.name === "core-view",
      );
      assert.ok(core, "the core/v1 view lists the event");
      assert.equal(core.firstTimestamp, seconds(first));
      assert.equal(core.lastTimestamp, seconds(first + 5_000));
      assert.equal(core.count, 2);
      assert.equal(core.source?.component, REPORTING_CONTROLLER);
      assert.equal(core.reportingComponent, REPORTING_CONTROLLER);
    } finally {
      kubectl.dispose();
    }
  });

  test("repeats within the window update one Event's series instead of creating Events", async () => {
    const object = await cluster.createIdentity("ev", "series");
    const events = recorder({ seriesFlushMs: 60_000 });
    const warn = (note: string) =>
      events.record({ regarding: object, type: "Warning", reason: "Throttled", action: "Reconcile", note });
    const start = clock;
    for (let i = 0; i < 10; i++) {
      warn("ARM throttled the request");
      clock += 1000;
    }
    warn("a different note is another Event");
    await events.flush();
    const [other, repeated, ...rest] = await eventsAbout(object);
    assert.equal(rest.length, 0, "two Events, not eleven");
    assert.equal(other?.series, undefined);
    assert.equal(repeated?.series?.count, 10);
    assert.equal(
      new Date(repeated!.series!.lastObservedTime).getTime(),
      start + 9000,
      "the tenth occurrence",
    );
    assert.equal(new Date(repeated!.eventTime).getTime(), start, "the first occurrence");

    // Once the window has passed without a repeat, the same event starts a new Event.
    clock += 7 * 60_000;
    await events.flush();
    warn("ARM throttled the request");
    await events.flush();
    assert.equal((await eventsAbout(object)).length, 3);
  });

  test("at most maxSeries series are kept: the least recently seen is written and forgotten", async () => {
    const objects = await Promise.all(
      ["lru-a", "lru-b", "lru-c"].map((n) => cluster.createIdentity("ev", n)),
    );
    const events = recorder({ seriesFlushMs: 60_000, maxSeries: 2 });
    const warn = (object: Identity) =>
      events.record({
        regarding: object,
        type: "Warning",
        reason: "Throttled",
        action: "Reconcile",
        note: "x",
      });
    const [a, b, c] = objects as [Identity, Identity, Identity];
    warn(a);
    warn(b);
    await events.flush();
    warn(a); // seen again: now b is the least recently seen
    warn(c); // a third series: b is written and forgotten
    await events.flush();
    warn(a); // still kept: joins its series
    warn(b); // forgotten: a new Event
    await events.flush();
    const seriesOf = async (object: Identity) =>
      (await eventsAbout(object)).map((event) => event.series?.count ?? 1).sort();
    assert.deepEqual(await seriesOf(a), [3]);
    assert.deepEqual(await seriesOf(b), [1, 1]);
    assert.deepEqual(await seriesOf(c), [1]);
  });

  test("a series whose Event expired is written as a new Event", async () => {
    const object = await cluster.createIdentity("ev", "expired");
    const events = recorder();
    const again = () =>
      events.record({
        regarding: object,
        type: "Normal",
        reason: "Waiting",
        action: "Reconcile",
        note: "waiting",
      });
    again();
    await events.flush();
    const [first] = await eventsAbout(object);
    await eventsApi.deleteNamespacedEvent({ name: first!.metadata!.name!, namespace: "ev" });
    again();
    await events.flush();
    const [recreated, ...rest] = await eventsAbout(object);
    assert.equal(rest.length, 0);
    assert.notEqual(recreated?.metadata?.name, first?.metadata?.name);
    assert.equal(recreated?.series?.count, 2);
  });

  test("a hot loop of distinct events is cut by the per-object spam filter", async () => {
    const object = await cluster.createIdentity("ev", "spam");
    const quiet = await cluster.createIdentity("ev", "quiet");
    const events = recorder({ perObjectBurst: 5, perObjectRefillMs: 60_000 });
    for (let i = 0; i < 100; i++) {
      events.record({
        regarding: object,
        type: "Warning",
        reason: "Failed",
        action: "Reconcile",
        note: `attempt ${i}`,
      });
    }
    events.record({
      regarding: quiet,
      type: "Normal",
      reason: "Reconciled",
      action: "Reconcile",
      note: "fine",
    });
    await events.flush();
    assert.equal((await eventsAbout(object)).length, 5);
    assert.equal(events.dropped, 95);
    assert.equal((await eventsAbout(quiet)).length, 1, "another object has its own budget");
    clock += 60_000;
    events.record({
      regarding: object,
      type: "Warning",
      reason: "Failed",
      action: "Reconcile",
      note: "later",
    });
    await events.flush();
    assert.equal((await eventsAbout(object)).length, 6, "the budget refills");
  });
});
