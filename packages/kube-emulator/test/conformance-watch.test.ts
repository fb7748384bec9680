// Checklist items 20-26: lists with limit/continue and selectors, watches from a
// resourceVersion, selector filtering, bookmarks, timeouts, 410 Expired and
// sendInitialEvents, through raw HTTP as client-node and kubectl send it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type KubeEmulator, startTestKube } from "../../../test/support/kube.js";
import { registerCrd, WIDGETS, widget, widgetCrd } from "./support/fixtures.js";
import { RawClient, type WatchEvent, type WatchReader } from "./support/raw-client.js";

const MERGE = "application/merge-patch+json";

async function expectEvent(watch: WatchReader): Promise<WatchEvent> {
  const event = await watch.next();
  assert.ok(event !== "end", "the watch is still open");
  return event;
}

async function expectQuiet(watch: WatchReader, ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  assert.deepEqual(
    watch.drain().map((e) => e.type),
    [],
  );
}

describe("lists and watches", () => {
  let kube: KubeEmulator;
  let api: RawClient;

  before(async () => {
    kube = await startTestKube({ bookmarkIntervalMs: 200 });
    api = new RawClient(kube.url);
    await registerCrd(api, widgetCrd(), WIDGETS);
    await api.post("/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "other" },
    });
  });
  after(() => kube.close());

  test("20. lists: kind, metadata, items with kind and apiVersion, limit/continue, label and field selectors", async () => {
    const ns = "/apis/example.com/v1/namespaces/other/widgets";
    for (const [name, labels] of [
      ["l-a", { tier: "gold", env: "prod" }],
      ["l-b", { tier: "silver", env: "prod" }],
      ["l-c", { tier: "bronze" }],
      ["l-d", {}],
      ["l-e", { tier: "gold" }],
    ] as const) {
      assert.equal((await api.post(ns, widget(name, { size: 1 }, { labels }))).status, 201);
    }
    const all = await api.get(ns);
    assert.equal(all.body.kind, "WidgetList");
    assert.equal(all.body.apiVersion, "example.com/v1");
    assert.match(all.body.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(
      all.body.items.map((i: { kind: string; apiVersion: string }) => `${i.apiVersion}/${i.kind}`),
      Array(5).fill("example.com/v1/Widget"),
    );

    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await api.get(`${ns}?limit=2${token ? `&continue=${encodeURIComponent(token)}` : ""}`);
      assert.equal(page.status, 200);
      names.push(...page.body.items.map((i: { metadata: { name: string } }) => i.metadata.name));
      token = page.body.metadata.continue;
      if (pages === 0) {
        assert.equal(page.body.metadata.remainingItemCount, 3);
        await api.post(ns, widget("l-f"));
      }
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(names, ["l-a", "l-b", "l-c", "l-d", "l-e"], "pages come from the first page's snapshot");

    const select = async (selector: string): Promise<string[]> => {
      const res = await api.get(`${ns}?labelSelector=${encodeURIComponent(selector)}`);
      assert.equal(res.status, 200, res.text);
      return res.body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    };
    assert.deepEqual(await select("tier=gold"), ["l-a", "l-e"]);
    assert.deepEqual(await select("tier!=gold"), ["l-b", "l-c", "l-d", "l-f"]);
    assert.deepEqual(await select("tier in (silver,bronze)"), ["l-b", "l-c"]);
    assert.deepEqual(await select("tier notin (gold),env"), ["l-b"]);
    assert.deepEqual(await select("!tier"), ["l-d", "l-f"]);
    assert.deepEqual(await select("env"), ["l-a", "l-b"]);
    assert.equal((await api.get(`${ns}?labelSelector=${encodeURIComponent("tier in gold")}`)).status, 400);

    const byName = await api.get(
      "/apis/example.com/v1/widgets?fieldSelector=metadata.name%3Dl-c&resourceVersion=0",
    );
    assert.deepEqual(
      byName.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["l-c"],
    );
    const byNamespace = await api.get(
      "/apis/example.com/v1/widgets?fieldSelector=metadata.namespace%3Dother",
    );
    assert.equal(byNamespace.body.items.length, 6);
    const notName = await api.get(`${ns}?fieldSelector=metadata.name!%3Dl-a`);
    assert.equal(notName.body.items.length, 5);
    const unsupported = await api.get(`${ns}?fieldSelector=spec.size%3D1`);
    assert.equal(unsupported.status, 400);
  });

  test("21. watch streams chunked NDJSON: ADDED for what exists when started without a resourceVersion, then only later events", async () => {
    const ns = "/apis/example.com/v1/namespaces/default/widgets";
    const first = await api.post(ns, widget("w-existing"));
    const fromScratch = await api.watch(`${ns}?watch=true`);
    try {
      assert.equal(fromScratch.status, 200);
      assert.equal(fromScratch.headers["transfer-encoding"], "chunked");
      const added = await expectEvent(fromScratch);
      assert.equal(added.type, "ADDED");
      assert.equal(added.object.metadata.name, "w-existing");
    } finally {
      fromScratch.close();
    }
    const fromRv = await api.watch(`${ns}?watch=true&resourceVersion=${first.body.metadata.resourceVersion}`);
    try {
      await api.patch(`${ns}/w-existing`, { spec: { size: 2 } }, MERGE);
      await api.post(ns, widget("w-new"));
      await api.delete(`${ns}/w-new`);
      const types = [];
      for (let i = 0; i < 3; i++) types.push((await expectEvent(fromRv)).type);
      assert.deepEqual(types, ["MODIFIED", "ADDED", "DELETED"]);
    } finally {
      fromRv.close();
    }
  });

  test("22. watches filter by namespace, labels and fields, with ADDED/DELETED when an object enters or leaves", async () => {
    const start = kube.admin.resourceVersion;
    const byLabel = await api.watch(
      `/apis/example.com/v1/widgets?watch=true&resourceVersion=${start}&labelSelector=watched%3Dyes`,
    );
    const byNamespace = await api.watch(
      `/apis/example.com/v1/namespaces/other/widgets?watch=true&resourceVersion=${start}`,
    );
    const byName = await api.watch(
      `/apis/example.com/v1/namespaces/default/widgets?watch=true&resourceVersion=${start}&fieldSelector=metadata.name%3Dw-field`,
    );
    try {
      await api.post(WIDGETS, widget("w-field"));
      await api.post(WIDGETS, widget("w-label", { size: 1 }, { labels: { watched: "yes" } }));
      await api.patch(`${WIDGETS}/w-label`, { metadata: { labels: { watched: "no" } } }, MERGE);
      await api.post("/apis/example.com/v1/namespaces/other/widgets", widget("w-other"));

      const label1 = await expectEvent(byLabel);
      assert.deepEqual([label1.type, label1.object.metadata.name], ["ADDED", "w-label"]);
      const label2 = await expectEvent(byLabel);
      assert.equal(label2.type, "DELETED", "leaving the selector is a DELETED event");
      assert.equal(label2.object.metadata.labels.watched, "yes", "carrying the previous state");

      const other = await expectEvent(byNamespace);
      assert.deepEqual([other.type, other.object.metadata.name], ["ADDED", "w-other"]);
      const named = await expectEvent(byName);
      assert.deepEqual([named.type, named.object.metadata.name], ["ADDED", "w-field"]);
      await expectQuiet(byName, 100);
      await expectQuiet(byNamespace, 0);
    } finally {
      byLabel.close();
      byNamespace.close();
      byName.close();
    }
  });

  test("23. BOOKMARK events only when allowWatchBookmarks=true, carrying only the resourceVersion", async () => {
    const rv = kube.admin.resourceVersion;
    const withBookmarks = await api.watch(
      `${WIDGETS}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`,
    );
    const without = await api.watch(`${WIDGETS}?watch=true&resourceVersion=${rv}`);
    try {
      const bookmark = await expectEvent(withBookmarks);
      assert.equal(bookmark.type, "BOOKMARK");
      assert.deepEqual(bookmark.object, {
        kind: "Widget",
        apiVersion: "example.com/v1",
        metadata: { resourceVersion: String(kube.admin.resourceVersion) },
      });
      await expectQuiet(without, 500);
    } finally {
      withBookmarks.close();
      without.close();
    }
  });

  test("24. timeoutSeconds ends the stream cleanly; without it the stream stays open", async () => {
    const rv = kube.admin.resourceVersion;
    const timed = await api.watch(`${WIDGETS}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
    const open = await api.watch(`${WIDGETS}?watch=true&resourceVersion=${rv}`);
    try {
      assert.equal(await timed.next(3000), "end");
      await expectQuiet(open, 200);
      await api.post(WIDGETS, widget("after-timeout"));
      assert.equal((await expectEvent(open)).type, "ADDED", "the untimed watch still delivers");
    } finally {
      timed.close();
      open.close();
    }
  });

  test("25. a watch from a resourceVersion older than the history gets one 410 Expired ERROR and closes", async () => {
    const old = kube.admin.resourceVersion;
    await api.post(WIDGETS, widget("before-compaction"));
    kube.admin.compactWatchHistory();
    const watch = await api.watch(`${WIDGETS}?watch=true&resourceVersion=${old}`);
    const error = await expectEvent(watch);
    assert.equal(error.type, "ERROR");
    assert.equal(error.object.kind, "Status");
    assert.equal(error.object.code, 410);
    assert.equal(error.object.reason, "Expired");
    assert.match(error.object.message, new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
    assert.equal(await watch.next(), "end");

    const current = kube.admin.resourceVersion;
    const fresh = await api.watch(`${WIDGETS}?watch=true&resourceVersion=${current}`);
    try {
      await api.post(WIDGETS, widget("after-compaction"));
      assert.equal((await expectEvent(fresh)).type, "ADDED", "watching from the compaction point works");
    } finally {
      fresh.close();
    }
  });

  test("26. DELETED carries the last state with a new resourceVersion; sendInitialEvents ends with the initial-events-end bookmark", async () => {
    const created = await api.post(WIDGETS, widget("last-state", { size: 3 }));
    const watch = await api.watch(
      `${WIDGETS}?watch=true&resourceVersion=${created.body.metadata.resourceVersion}`,
    );
    try {
      await api.delete(`${WIDGETS}/last-state`);
      const deleted = await expectEvent(watch);
      assert.equal(deleted.type, "DELETED");
      assert.equal(deleted.object.spec.size, 3);
      assert.ok(
        Number(deleted.object.metadata.resourceVersion) > Number(created.body.metadata.resourceVersion),
      );
    } finally {
      watch.close();
    }

    const list = await api.get(WIDGETS);
    const initial = await api.watch(
      `${WIDGETS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
    );
    try {
      const names = [];
      for (let i = 0; i < list.body.items.length; i++) {
        const event = await expectEvent(initial);
        assert.equal(event.type, "ADDED");
        names.push(event.object.metadata.name);
      }
      assert.deepEqual(
        names,
        list.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      );
      const end = await expectEvent(initial);
      assert.equal(end.type, "BOOKMARK");
      assert.deepEqual(end.object.metadata.annotations, { "k8s.io/initial-events-end": "true" });
    } finally {
      initial.close();
    }
    const refused = await api.get(`${WIDGETS}?watch=true&sendInitialEvents=true`);
    assert.equal(
      refused.status,
      422,
      "sendInitialEvents needs resourceVersionMatch=NotOlderThan and bookmarks",
    );
  });
});
