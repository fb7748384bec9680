// @kubernetes/client-node against the emulator, as azid's controller uses it: informers
// see every change in order, survive dropped watches and 410s, and an optimistic
// concurrency loop converges under contention.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ApiException,
  CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
} from "@kubernetes/client-node";
import { type KubeEmulator, kubeConfigFor, startTestKube } from "../../../test/support/kube.js";
import { registerCrd, WIDGETS, widget, widgetCrd } from "./support/fixtures.js";
import { RawClient } from "./support/raw-client.js";

interface Widget extends KubernetesObject {
  spec: { size: number; color?: string };
}

const coordinates = { group: "example.com", version: "v1", plural: "widgets" };

type Seen = { verb: string; name: string; size: number; rv: string };

function waitUntil(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe("client-node", () => {
  let kube: KubeEmulator;
  let config: KubeConfig;
  let api: RawClient;
  let objects: CustomObjectsApi;
  const informers: Informer<Widget>[] = [];
  let closing = false;

  before(async () => {
    kube = await startTestKube();
    config = kubeConfigFor(kube);
    api = new RawClient(kube.url);
    objects = config.makeApiClient(CustomObjectsApi);
    await registerCrd(api, widgetCrd(), WIDGETS);
  });
  after(async () => {
    closing = true;
    for (const informer of informers) await informer.stop();
    await kube.close();
  });

  async function startInformer(
    namespace: string,
  ): Promise<{ informer: Informer<Widget> & ObjectCache<Widget>; seen: Seen[]; errors: unknown[] }> {
    await api.post("/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace },
    });
    const list = () =>
      objects.listNamespacedCustomObject({ ...coordinates, namespace }) as Promise<
        KubernetesListObject<Widget>
      >;
    const informer = makeInformer<Widget>(
      config,
      `/apis/example.com/v1/namespaces/${namespace}/widgets`,
      list,
    );
    informers.push(informer);
    const seen: Seen[] = [];
    const errors: unknown[] = [];
    const record = (verb: string) => (obj: Widget) =>
      seen.push({ verb, name: obj.metadata!.name!, size: obj.spec.size, rv: obj.metadata!.resourceVersion! });
    informer.on("add", record("add"));
    informer.on("update", record("update"));
    informer.on("delete", record("delete"));
    informer.on("error", (error) => errors.push(error));
    await informer.start();
    return { informer, seen, errors };
  }

  const path = (namespace: string) => `/apis/example.com/v1/namespaces/${namespace}/widgets`;

  test("informers see ADDED, MODIFIED and DELETED in order", async () => {
    const { seen } = await startInformer("order");
    await api.post(path("order"), widget("a", { size: 1 }));
    await api.patch(`${path("order")}/a`, { spec: { size: 2 } }, "application/merge-patch+json");
    await api.post(path("order"), widget("b", { size: 1 }));
    await api.patch(`${path("order")}/a`, { spec: { size: 3 } }, "application/merge-patch+json");
    await api.delete(`${path("order")}/a`);
    await waitUntil(() => seen.length === 5, "five notifications");
    assert.deepEqual(
      seen.map((s) => `${s.verb} ${s.name} ${s.size}`),
      ["add a 1", "update a 2", "add b 1", "update a 3", "delete a 3"],
    );
    const versions = seen.map((s) => Number(s.rv));
    assert.deepEqual(
      versions,
      [...versions].sort((x, y) => x - y),
      "resourceVersions only grow",
    );
  });

  test("an informer resumes after its watch is dropped, without missing an event", async () => {
    const { informer, seen, errors } = await startInformer("resume");
    informer.on("error", () => {
      // What azid's controller does: an informer stopped by an error is started again.
      setTimeout(() => {
        if (!closing) void informer.start();
      }, 10);
    });
    await api.post(path("resume"), widget("before", { size: 1 }));
    await waitUntil(() => seen.length === 1, "the first add");

    assert.ok(
      kube.admin.dropWatches({ abrupt: false }) >= 1,
      "a clean end: the informer re-watches from its resourceVersion",
    );
    await api.post(path("resume"), widget("during-clean", { size: 1 }));
    await waitUntil(() => seen.some((s) => s.name === "during-clean"), "the add made while re-watching");

    kube.admin.dropWatches({ abrupt: true });
    await api.post(path("resume"), widget("during-reset", { size: 1 }));
    await api.patch(`${path("resume")}/before`, { spec: { size: 2 } }, "application/merge-patch+json");
    await waitUntil(
      () => seen.some((s) => s.name === "before" && s.size === 2),
      "the changes made while the watch was down",
    );
    assert.ok(errors.length >= 1, "a reset connection is reported as an error");
    assert.deepEqual(
      seen.map((s) => `${s.verb} ${s.name} ${s.size}`),
      ["add before 1", "add during-clean 1", "add during-reset 1", "update before 2"],
    );
    assert.deepEqual(
      informer
        .list()
        .map((w) => w.metadata?.name)
        .sort(),
      ["before", "during-clean", "during-reset"],
    );
  });

  test("an informer relists after 410 Expired and ends up with the server's state", async () => {
    const { informer, seen } = await startInformer("relist");
    await api.post(path("relist"), widget("kept", { size: 1 }));
    await api.post(path("relist"), widget("removed", { size: 1 }));
    await waitUntil(() => seen.length === 2, "two adds");
    await api.delete(`${path("relist")}/removed`);
    await api.post(path("relist"), widget("created", { size: 1 }));
    kube.admin.compactWatchHistory();
    kube.admin.dropWatches({ abrupt: false });
    await waitUntil(
      () =>
        informer
          .list()
          .map((w) => w.metadata?.name)
          .sort()
          .join() === "created,kept",
      "the relisted state",
    );
    assert.ok(
      seen.some((s) => s.verb === "delete" && s.name === "removed"),
      "the relist reports the deletion it missed",
    );
    assert.ok(seen.some((s) => s.verb === "add" && s.name === "created"));
  });

  test("an optimistic-concurrency write loop with 409 retries converges", async () => {
    await api.post(WIDGETS, widget("counter", { size: 0 }));
    let conflicts = 0;
    const increment = async (): Promise<void> => {
      for (;;) {
        const current = (await objects.getNamespacedCustomObject({
          ...coordinates,
          namespace: "default",
          name: "counter",
        })) as Widget;
        current.spec.size += 1;
        try {
          await objects.replaceNamespacedCustomObject({
            ...coordinates,
            namespace: "default",
            name: "counter",
            body: current,
          });
          return;
        } catch (error) {
          if (error instanceof ApiException && error.code === 409) {
            conflicts++;
            continue;
          }
          throw error;
        }
      }
    };
    const workers = 8;
    const perWorker = 10;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let i = 0; i < perWorker; i++) await increment();
      }),
    );
    const final = (await objects.getNamespacedCustomObject({
      ...coordinates,
      namespace: "default",
      name: "counter",
    })) as Widget;
    assert.equal(final.spec.size, workers * perWorker, "no increment was lost");
    assert.ok(conflicts > 0, "the writers did collide");
    assert.equal(final.metadata?.generation, 1 + workers * perWorker);
  });
});
