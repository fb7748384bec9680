// The emulator as a product: state that survives restarts (stateDir), the kubeconfig it
// writes, and the admin hooks that fault tests use.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { startTestKube } from "../../../test/support/kube.js";
import { registerCrd, WIDGETS, widget, widgetCrd } from "./support/fixtures.js";
import { RawClient } from "./support/raw-client.js";

describe("the emulator", () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const stateDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "azid-kube-state-"));
    dirs.push(dir);
    return dir;
  };

  test("state and the resourceVersion counter survive a restart with stateDir", async () => {
    const dir = stateDir();
    const first = await startTestKube({ stateDir: dir });
    const api = new RawClient(first.url);
    await registerCrd(api, widgetCrd(), WIDGETS);
    await api.post(WIDGETS, widget("kept", { size: 4 }));
    await api.post(WIDGETS, widget("dropped"));
    await api.delete(`${WIDGETS}/dropped`);
    const rvBefore = first.admin.resourceVersion;
    const config = parseYaml(readFileSync(join(dir, "kubeconfig"), "utf8"));
    assert.equal(config.clusters[0].cluster.server, first.url);
    await first.close();

    const second = await startTestKube({ stateDir: dir });
    try {
      const again = new RawClient(second.url);
      const kept = await again.get(`${WIDGETS}/kept`);
      assert.equal(kept.status, 200, "the custom resource is served at once after a restart");
      assert.equal(kept.body.spec.size, 4);
      assert.equal((await again.get(`${WIDGETS}/dropped`)).status, 404);
      const created = await again.post(WIDGETS, widget("after-restart"));
      assert.ok(Number(created.body.metadata.resourceVersion) > rvBefore, "resourceVersions keep growing");
      assert.equal(second.kubeconfigPath, join(dir, "kubeconfig"));
      const namespaces = await again.get("/api/v1/namespaces");
      assert.equal(namespaces.body.items.length, 4, "the initial namespaces are not created twice");
    } finally {
      await second.close();
    }
  });

  test("writes are journaled as they happen, so a crash loses nothing that was answered", async () => {
    const dir = stateDir();
    const crashed = await startTestKube({ stateDir: dir });
    const api = new RawClient(crashed.url);
    await api.post("/api/v1/namespaces/default/configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "journaled" },
    });
    assert.ok(existsSync(join(dir, "journal.ndjson")));
    // A second emulator reads the folder as a restarted process would after a crash of the first.
    const restarted = await startTestKube({ stateDir: copyOf(dir, dirs) });
    try {
      const res = await new RawClient(restarted.url).get("/api/v1/namespaces/default/configmaps/journaled");
      assert.equal(res.status, 200);
    } finally {
      await restarted.close();
      await crashed.close();
    }
  });

  test("admin hooks: drop watches, refuse connections or answer 503 for a while", async () => {
    const kube = await startTestKube();
    const api = new RawClient(kube.url);
    try {
      const watch = await api.watch("/api/v1/namespaces/default/configmaps?watch=true");
      assert.equal(kube.admin.watchCount(), 1);
      assert.equal(kube.admin.dropWatches(), 1);
      assert.equal(await watch.next(), "end");
      assert.equal(kube.admin.watchCount(), 0);

      await kube.admin.makeUnavailable({ mode: "refuse" });
      await assert.rejects(fetch(`${kube.url}/version`), "connections are refused");
      await kube.admin.makeAvailable();
      assert.equal((await api.get("/version")).status, 200, "the same URL works again");

      await kube.admin.makeUnavailable({ mode: "503", forMs: 200 });
      const unavailable = await api.get("/api/v1/namespaces");
      assert.equal(unavailable.status, 503);
      assert.equal(unavailable.body.reason, "ServiceUnavailable");
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await api.get("/api/v1/namespaces")).status, 200, "the outage ends by itself");
    } finally {
      await kube.close();
    }
  });
  test("admin hook: status writes answered 409 Conflict while the hook is on, other writes untouched", async () => {
    const kube = await startTestKube();
    const api = new RawClient(kube.url);
    const status = "/api/v1/namespaces/default/status";
    try {
      const namespace = (await api.get("/api/v1/namespaces/default")).body;
      kube.admin.conflictStatusWrites(1);
      const refused = await api.put(status, namespace);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.reason, "Conflict");
      assert.match(refused.body.message, /namespaces "default": the object has been modified/);
      const patched = await api.patch(status, { status: {} }, "application/merge-patch+json");
      assert.equal(patched.status, 409, "a PATCH of the status too");
      assert.equal(kube.admin.statusConflicts, 2);
      const labelled = await api.patch(
        "/api/v1/namespaces/default",
        { metadata: { labels: { team: "a" } } },
        "application/merge-patch+json",
      );
      assert.equal(labelled.status, 200, "the object itself is still written");
      assert.throws(() => kube.admin.conflictStatusWrites(2), RangeError);
      kube.admin.conflictStatusWrites(0);
      assert.equal((await api.put(status, labelled.body)).status, 200);
    } finally {
      await kube.close();
    }
  });
});

/** A copy of a state folder as it is on disk now, while its emulator keeps running. */
function copyOf(dir: string, dirs: string[]): string {
  const copy = mkdtempSync(join(tmpdir(), "azid-kube-copy-"));
  dirs.push(copy);
  for (const file of ["state.json", "journal.ndjson"]) {
    if (existsSync(join(dir, file))) copyFileSync(join(dir, file), join(copy, file));
  }
  return copy;
}
