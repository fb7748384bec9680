// The informer against the Kubernetes emulator through client-node: every change in order, a
// complete cache after dropped watches, 410 Expired and an outage, per-namespace scopes, indexes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Informer } from "../../src/kube/informer.js";
import { IDENTITIES, type Identity, TestCluster, testLogger, waitFor } from "./support/cluster.js";

type Seen = { verb: string; name: string; v: string | undefined; rv: number };

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

describe("informer", () => {
  let cluster: TestCluster;
  const informers: Informer<Identity>[] = [];

  before(async () => {
    cluster = await TestCluster.start();
  });
  after(async () => {
    for (const informer of informers) await informer.stop();
    await cluster.close();
  });

  async function startInformer(
    namespaces: string[],
    indexers: ConstructorParameters<typeof Informer<Identity>>[0]["indexers"] = {},
    createNamespaces = true,
  ): Promise<{ informer: Informer<Identity>; seen: Seen[] }> {
    if (createNamespaces) for (const namespace of namespaces) await cluster.createNamespace(namespace);
    const informer = new Informer<Identity>({
      client: cluster.client,
      resource: IDENTITIES,
      namespaces,
      indexers,
      logger: testLogger(),
      backoff: { baseMs: 20, capMs: 200 },
    });
    informers.push(informer);
    const seen: Seen[] = [];
    const record = (verb: string) => (object: Identity) =>
      seen.push({
        verb,
        name: object.metadata!.name!,
        v: object.spec.tags?.v,
        rv: Number(object.metadata!.resourceVersion),
      });
    informer.addHandler({
      onAdd: record("add"),
      onUpdate: (_previous, object) => record("update")(object),
      onDelete: record("delete"),
    });
    informer.start();
    await informer.waitForSync();
    return { informer, seen };
  }

  /** The informer's cache, as `name=v`, against the server's list. */
  async function assertCacheMatchesServer(informer: Informer<Identity>, namespace: string): Promise<void> {
    const server = (await cluster.listIdentities(namespace))
      .map((o) => `${o.metadata!.name}=${o.spec.tags?.v}@${o.metadata!.resourceVersion}`)
      .sort();
    const cached = informer
      .list(namespace)
      .map((o) => `${o.metadata!.name}=${o.spec.tags?.v}@${o.metadata!.resourceVersion}`)
      .sort();
    assert.deepEqual(cached, server);
  }

  test("sees every add, update and delete in the order the server made them", async () => {
    const { informer, seen } = await startInformer(["order"]);
    assert.ok(informer.hasSynced());
    await cluster.createIdentity("order", "a", { v: "1" });
    await cluster.setTags("order", "a", { v: "2" });
    await cluster.createIdentity("order", "b", { v: "1" });
    await cluster.setTags("order", "a", { v: "3" });
    await cluster.deleteIdentity("order", "a");
    await cluster.setTags("order", "b", { v: "2" });
    await waitFor(() => seen.length === 6, "six notifications");
    assert.deepEqual(
      seen.map((s) => `${s.verb} ${s.name} ${s.v}`),
      ["add a 1", "update a 2", "add b 1", "update a 3", "delete a 3", "update b 2"],
    );
    const versions = seen.map((s) => s.rv);
    assert.deepEqual(
      versions,
      [...versions].sort((x, y) => x - y),
    );
    assert.equal(informer.get("order", "a"), undefined);
    assert.equal(informer.get("order", "b")?.spec.tags?.v, "2");
  });

  test("a status-only change is an update too (filtering is the manager's choice)", async () => {
    const { seen } = await startInformer(["status-only"]);
    const created = await cluster.createIdentity("status-only", "s", { v: "1" });
    await cluster.call("PUT", `${cluster.identityPath("status-only", "s")}/status`, {
      ...created,
      status: { observedGeneration: 1 },
    });
    await waitFor(() => seen.length === 2, "the status update");
    assert.deepEqual(
      seen.map((s) => s.verb),
      ["add", "update"],
    );
  });

  test("caches objects without managedFields or kubectl's last-applied copy, listed or watched; a status PUT keeps the server's", async () => {
    await cluster.createNamespace("lean");
    const lastApplied = (name: string) => ({
      metadata: {
        annotations: { [LAST_APPLIED]: `{"metadata":{"name":"${name}"}}`, team: "a" },
      },
    });
    await cluster.createIdentity("lean", "listed", { v: "1" });
    await cluster.mergePatch("lean", "listed", lastApplied("listed"));
    const { informer } = await startInformer(["lean"], {}, false);
    await cluster.createIdentity("lean", "watched", { v: "1" });
    await cluster.mergePatch("lean", "watched", lastApplied("watched"));
    await waitFor(
      () => informer.get("lean", "watched")?.metadata?.annotations?.team === "a",
      "the watched object",
    );
    const managers = (object: Identity) =>
      (object.metadata?.managedFields ?? []).map((entry) => entry.manager);
    const before = managers(await cluster.call("GET", cluster.identityPath("lean", "listed")));
    assert.ok(before.length > 0, "the server records managedFields");
    for (const name of ["listed", "watched"]) {
      const cached = informer.get("lean", name);
      assert.equal(cached?.metadata?.managedFields, undefined, name);
      assert.deepEqual(cached?.metadata?.annotations, { team: "a" }, name);
      assert.equal(cached?.spec.tags?.v, "1", name);
    }
    const written: Identity = await cluster.call("PUT", `${cluster.identityPath("lean", "listed")}/status`, {
      ...informer.get("lean", "listed"),
      status: { observedGeneration: 1 },
    });
    for (const manager of before) assert.ok(managers(written).includes(manager), manager);
    assert.ok(written.metadata?.annotations?.[LAST_APPLIED], "the server keeps kubectl's copy");
  });

  test("dropped watches, clean or reset, resume from the last resourceVersion and miss nothing", async () => {
    const { informer, seen } = await startInformer(["resume"]);
    await cluster.createIdentity("resume", "x", { v: "1" });
    await waitFor(() => seen.length === 1, "the first add");
    let v = 1;
    for (const abrupt of [false, true, true]) {
      await waitFor(() => cluster.kube.admin.watchCount() >= 1, "the informer to watch again");
      assert.ok(cluster.kube.admin.dropWatches({ abrupt }) >= 1);
      v++;
      await cluster.setTags("resume", "x", { v: String(v) });
      await cluster.createIdentity("resume", `during-${v}`, { v: String(v) });
    }
    await waitFor(() => seen.length === 7, "every change made while the watch was down");
    assert.deepEqual(
      seen.map((s) => `${s.verb} ${s.name} ${s.v}`),
      [
        "add x 1",
        "update x 2",
        "add during-2 2",
        "update x 3",
        "add during-3 3",
        "update x 4",
        "add during-4 4",
      ],
    );
    await assertCacheMatchesServer(informer, "resume");
  });

  test("410 Expired relists: the cache matches the server and missed deletes are reported", async () => {
    const { informer, seen } = await startInformer(["relist"]);
    await cluster.createIdentity("relist", "kept", { v: "1" });
    await cluster.createIdentity("relist", "removed", { v: "1" });
    await cluster.createIdentity("relist", "changed", { v: "1" });
    await waitFor(() => seen.length === 3, "three adds");
    // The history is compacted while the informer is away: it cannot resume and must relist.
    cluster.kube.admin.compactWatchHistory(1);
    cluster.kube.admin.dropWatches({ abrupt: true });
    await cluster.deleteIdentity("relist", "removed");
    await cluster.createIdentity("relist", "created", { v: "1" });
    await cluster.setTags("relist", "changed", { v: "2" });
    await cluster.setTags("relist", "kept", { v: "1" });
    await waitFor(
      () => informer.get("relist", "changed")?.spec.tags?.v === "2" && !informer.get("relist", "removed"),
      "the relisted state",
    );
    await assertCacheMatchesServer(informer, "relist");
    const after = seen.slice(3).map((s) => `${s.verb} ${s.name}`);
    assert.ok(after.includes("delete removed"), "the relist reports the deletion it missed");
    assert.ok(after.includes("add created"));
    assert.ok(after.includes("update changed"));
    cluster.kube.admin.compactWatchHistory(10_000);
  });

  test("an outage of the API server: not connected while it lasts, then a complete cache again", async () => {
    const { informer, seen } = await startInformer(["outage"]);
    await cluster.createIdentity("outage", "before", { v: "1" });
    await waitFor(() => seen.length === 1, "the first add");
    await cluster.kube.admin.makeUnavailable({ mode: "refuse" });
    await waitFor(() => !informer.isConnected(), "the informer to notice");
    assert.ok(informer.hasSynced(), "a synced informer stays synced: its cache is still served");
    await cluster.kube.admin.makeAvailable();
    await cluster.setTags("outage", "before", { v: "2" });
    await cluster.createIdentity("outage", "after", { v: "1" });
    await waitFor(() => seen.length === 3, "the changes made after the outage");
    assert.ok(informer.isConnected());
    await assertCacheMatchesServer(informer, "outage");
  });

  test("watches only the namespaces it is given, and keeps its indexes current", async () => {
    await cluster.createNamespace("elsewhere");
    const byTeam = (o: Identity) => (o.spec.tags?.team ? [o.spec.tags.team] : []);
    const { informer, seen } = await startInformer(["ns-a", "ns-b"], { team: byTeam });
    await cluster.createIdentity("ns-a", "one", { team: "red" });
    await cluster.createIdentity("ns-b", "two", { team: "red" });
    await cluster.createIdentity("elsewhere", "three", { team: "red" });
    await waitFor(() => seen.length === 2, "two adds");
    assert.deepEqual(
      informer
        .byIndex("team", "red")
        .map((o) => o.metadata!.name)
        .sort(),
      ["one", "two"],
    );
    await cluster.setTags("ns-a", "one", { team: "blue" });
    await waitFor(() => seen.length === 3, "the update");
    assert.deepEqual(
      informer.byIndex("team", "red").map((o) => o.metadata!.name),
      ["two"],
    );
    assert.deepEqual(
      informer.byIndex("team", "blue").map((o) => o.metadata!.name),
      ["one"],
    );
    assert.deepEqual(
      informer.list("ns-b").map((o) => o.metadata!.name),
      ["two"],
    );
    assert.equal(informer.get("elsewhere", "three"), undefined);
    assert.ok(!seen.some((s) => s.name === "three"));
  });
});
