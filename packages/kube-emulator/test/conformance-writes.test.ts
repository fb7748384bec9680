// Checklist items 7-19: metadata, concurrency, generation, the status subresource,
// finalizers and deletion, patches, server-side apply, field validation and dry run.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type KubeEmulator, startTestKube } from "../../../test/support/kube.js";
import { registerCrd, WIDGETS, widget, widgetCrd } from "./support/fixtures.js";
import { RawClient } from "./support/raw-client.js";

const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const APPLY = "application/apply-patch+yaml";
const CONFIGMAPS = "/api/v1/namespaces/default/configmaps";

describe("writes", () => {
  let kube: KubeEmulator;
  let api: RawClient;

  before(async () => {
    kube = await startTestKube();
    api = new RawClient(kube.url);
    await registerCrd(api, widgetCrd(), WIDGETS);
  });
  after(() => kube.close());

  test("7. create: 201 with uid, creationTimestamp, resourceVersion, generation 1; status dropped; generateName", async () => {
    const created = await api.post(WIDGETS, { ...widget("fresh"), status: { phase: "Ignored" } });
    assert.equal(created.status, 201);
    const meta = created.body.metadata;
    assert.match(meta.uid, /^[0-9a-f-]{36}$/);
    assert.match(meta.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(meta.resourceVersion, /^\d+$/);
    assert.equal(meta.generation, 1);
    assert.equal(meta.namespace, "default");
    assert.equal(created.body.status, undefined, "status is dropped on create with a status subresource");

    const again = await api.post(WIDGETS, widget("fresh"));
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, "AlreadyExists");

    const generated = await api.post(WIDGETS, { ...widget(""), metadata: { generateName: "gen-" } });
    assert.equal(generated.status, 201);
    assert.match(generated.body.metadata.name, /^gen-[a-z0-9]{5}$/);

    const noName = await api.post(WIDGETS, { ...widget(""), metadata: {} });
    assert.equal(noName.status, 422);
    assert.match(noName.body.message, /name or generateName is required/);

    const noNamespace = await api.post("/apis/example.com/v1/namespaces/missing/widgets", widget("x"));
    assert.equal(noNamespace.status, 404);
    assert.equal(noNamespace.body.message, 'namespaces "missing" not found');
  });

  test("8. one monotonic resourceVersion; a no-op update keeps it and emits no event", async () => {
    const a = await api.post(WIDGETS, widget("rv-a"));
    const b = await api.post(CONFIGMAPS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "rv-b" } });
    assert.ok(Number(b.body.metadata.resourceVersion) > Number(a.body.metadata.resourceVersion));

    const watch = await api.watch(`${WIDGETS}?watch=true&resourceVersion=${a.body.metadata.resourceVersion}`);
    try {
      const same = await api.put(`${WIDGETS}/rv-a`, a.body);
      assert.equal(same.status, 200);
      assert.equal(same.body.metadata.resourceVersion, a.body.metadata.resourceVersion);
      const changed = await api.put(`${WIDGETS}/rv-a`, { ...a.body, spec: { size: 2 } });
      const event = await watch.next();
      assert.ok(event !== "end");
      assert.equal(event.type, "MODIFIED");
      assert.equal(event.object.metadata.resourceVersion, changed.body.metadata.resourceVersion);
    } finally {
      watch.close();
    }
  });

  test("9. PUT with a stale resourceVersion is 409; without one 422 for a custom resource; of a missing object 404", async () => {
    const created = await api.post(WIDGETS, widget("conflict"));
    const first = await api.put(`${WIDGETS}/conflict`, { ...created.body, spec: { size: 2 } });
    assert.equal(first.status, 200);
    const stale = await api.put(`${WIDGETS}/conflict`, { ...created.body, spec: { size: 3 } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, "Conflict");
    assert.equal(
      stale.body.message,
      'Operation cannot be fulfilled on widgets.example.com "conflict": the object has been modified; please apply your changes to the latest version and try again',
    );
    const { resourceVersion: _rv, ...metadata } = created.body.metadata;
    const unconditional = await api.put(`${WIDGETS}/conflict`, { ...created.body, metadata });
    assert.equal(unconditional.status, 422);
    assert.match(
      unconditional.body.message,
      /metadata.resourceVersion: Invalid value: 0x0: must be specified for an update/,
    );
    const missing = await api.put(`${WIDGETS}/absent`, widget("absent"));
    assert.equal(missing.status, 404);

    const cm = await api.post(CONFIGMAPS, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "unconditional" },
    });
    const overwrite = await api.put(`${CONFIGMAPS}/unconditional`, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "unconditional" },
      data: { a: "1" },
    });
    assert.equal(overwrite.status, 200, "built-in kinds allow unconditional updates");
    assert.notEqual(overwrite.body.metadata.resourceVersion, cm.body.metadata.resourceVersion);
  });

  test("10. generation moves on spec changes only, and on the first delete with finalizers", async () => {
    const created = await api.post(WIDGETS, widget("gen", { size: 1 }, { finalizers: ["example.com/hold"] }));
    const labelled = await api.patch(`${WIDGETS}/gen`, { metadata: { labels: { a: "b" } } }, MERGE);
    assert.equal(labelled.body.metadata.generation, 1, "metadata changes do not count");
    const statusViaMain = await api.patch(`${WIDGETS}/gen`, { status: { phase: "X" } }, MERGE);
    assert.equal(statusViaMain.body.metadata.generation, 1);
    assert.equal(statusViaMain.body.status, undefined, "status writes through the main endpoint are ignored");
    const spec = await api.patch(`${WIDGETS}/gen`, { spec: { size: 5 } }, MERGE);
    assert.equal(spec.body.metadata.generation, 2);
    const deleting = await api.delete(`${WIDGETS}/gen`);
    assert.equal(deleting.body.metadata.generation, 3, "the first delete with finalizers bumps generation");
    const again = await api.delete(`${WIDGETS}/gen`);
    assert.equal(again.body.metadata.generation, 3);
    assert.equal(created.body.metadata.generation, 1);
    await api.patch(`${WIDGETS}/gen`, { metadata: { finalizers: null } }, MERGE);
  });

  test("11. /status changes status only; the main endpoint ignores status", async () => {
    const created = await api.post(WIDGETS, widget("status", { size: 1 }));
    const status = await api.put(`${WIDGETS}/status/status`, {
      ...created.body,
      spec: { size: 99 },
      status: { phase: "Ready", conditions: [{ type: "Ready", status: "True" }] },
    });
    assert.equal(status.status, 200);
    assert.equal(status.body.status.phase, "Ready");
    assert.equal(status.body.spec.size, 1, "spec changes through /status are ignored");
    assert.equal(status.body.metadata.generation, 1);
    const patched = await api.patch(`${WIDGETS}/status/status`, { status: { phase: "Done" } }, MERGE);
    assert.equal(patched.body.status.phase, "Done");
    const got = await api.get(`${WIDGETS}/status/status`);
    assert.equal(got.body.status.phase, "Done");
    const main = await api.put(`${WIDGETS}/status`, { ...got.body, status: { phase: "Hacked" } });
    assert.equal(main.body.status.phase, "Done");
    const missing = await api.get("/api/v1/namespaces/default/configmaps/x/status");
    assert.equal(missing.status, 404, "kinds without a status subresource do not serve /status");
  });

  test("12. DELETE with finalizers sets deletionTimestamp and grace period 0, emits MODIFIED, keeps the object", async () => {
    const created = await api.post(
      WIDGETS,
      widget("final", { size: 1 }, { finalizers: ["example.com/hold"] }),
    );
    const watch = await api.watch(
      `${WIDGETS}?watch=true&resourceVersion=${created.body.metadata.resourceVersion}`,
    );
    try {
      const deleted = await api.delete(`${WIDGETS}/final`);
      assert.equal(deleted.status, 200);
      assert.match(deleted.body.metadata.deletionTimestamp, /Z$/);
      assert.equal(deleted.body.metadata.deletionGracePeriodSeconds, 0);
      const event = await watch.next();
      assert.ok(event !== "end");
      assert.equal(event.type, "MODIFIED");
      assert.ok(event.object.metadata.deletionTimestamp);
      const still = await api.get(`${WIDGETS}/final`);
      assert.equal(still.status, 200);
    } finally {
      watch.close();
    }
  });

  test("13. removing the last finalizer deletes (DELETED); deletionTimestamp stays; no new finalizers while deleting", async () => {
    const created = await api.post(
      WIDGETS,
      widget("last", { size: 1 }, { finalizers: ["example.com/a", "example.com/b"] }),
    );
    await api.delete(`${WIDGETS}/last`);
    const live = await api.get(`${WIDGETS}/last`);
    const { deletionTimestamp: _dt, ...withoutDeletion } = live.body.metadata;
    const cleared = await api.put(`${WIDGETS}/last`, { ...live.body, metadata: withoutDeletion });
    assert.equal(
      cleared.body.metadata.deletionTimestamp,
      live.body.metadata.deletionTimestamp,
      "cannot be cleared",
    );
    const added = await api.patch(
      `${WIDGETS}/last`,
      { metadata: { finalizers: ["example.com/a", "example.com/b", "example.com/c"] } },
      MERGE,
    );
    assert.equal(added.status, 422);
    assert.match(added.body.message, /no new finalizers can be added if the object is being deleted/);

    const watch = await api.watch(
      `${WIDGETS}?watch=true&resourceVersion=${cleared.body.metadata.resourceVersion}`,
    );
    try {
      await api.patch(`${WIDGETS}/last`, [{ op: "remove", path: "/metadata/finalizers/0" }], JSON_PATCH);
      const modified = await watch.next();
      assert.ok(modified !== "end");
      assert.equal(modified.type, "MODIFIED");
      const removed = await api.patch(`${WIDGETS}/last`, { metadata: { finalizers: null } }, MERGE);
      assert.equal(removed.status, 200);
      const deleted = await watch.next();
      assert.ok(deleted !== "end");
      assert.equal(deleted.type, "DELETED");
      assert.equal(deleted.object.metadata.uid, created.body.metadata.uid);
      assert.equal((await api.get(`${WIDGETS}/last`)).status, 404);
    } finally {
      watch.close();
    }
  });

  test("14. delete preconditions that do not match are 409", async () => {
    const created = await api.post(WIDGETS, widget("pre"));
    const wrongUid = await api.delete(`${WIDGETS}/pre`, {
      preconditions: { uid: "00000000-0000-0000-0000-000000000000" },
    });
    assert.equal(wrongUid.status, 409);
    assert.match(wrongUid.body.message, /Precondition failed: UID in precondition/);
    const wrongRv = await api.delete(`${WIDGETS}/pre`, { preconditions: { resourceVersion: "1" } });
    assert.equal(wrongRv.status, 409);
    const right = await api.delete(`${WIDGETS}/pre`, {
      preconditions: {
        uid: created.body.metadata.uid,
        resourceVersion: created.body.metadata.resourceVersion,
      },
    });
    assert.equal(right.status, 200);
  });

  test("DELETE on a collection deletes the selected objects and answers with them", async () => {
    await api.post(WIDGETS, widget("bulk-a", { size: 1 }, { labels: { bulk: "yes" } }));
    await api.post(WIDGETS, widget("bulk-b", { size: 1 }, { labels: { bulk: "yes" } }));
    await api.post(WIDGETS, widget("bulk-keep", { size: 1 }, { labels: { bulk: "no" } }));
    const deleted = await api.call("DELETE", `${WIDGETS}?labelSelector=bulk%3Dyes`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.kind, "WidgetList");
    assert.deepEqual(
      deleted.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["bulk-a", "bulk-b"],
    );
    const left = await api.get(`${WIDGETS}?labelSelector=bulk`);
    assert.deepEqual(
      left.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["bulk-keep"],
    );
  });

  test("15. merge patch (RFC 7386) with a fieldManager records its managed fields", async () => {
    await api.post(WIDGETS, widget("merge", { size: 1, color: "red" }));
    const patched = await api.call("PATCH", `${WIDGETS}/merge?fieldManager=kubectl-label`, {
      body: { metadata: { labels: { team: "a" } }, spec: { color: null, size: 4 } },
      contentType: MERGE,
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.spec, { size: 4 });
    assert.deepEqual(patched.body.metadata.labels, { team: "a" });
    const entry = patched.body.metadata.managedFields.find(
      (m: { manager: string }) => m.manager === "kubectl-label",
    );
    assert.equal(entry.operation, "Update");
    assert.ok(entry.fieldsV1["f:metadata"]["f:labels"]["f:team"]);
  });

  test("16. JSON patch (RFC 6902) with test: undecodable 400, failed operation or test 422", async () => {
    await api.post(WIDGETS, widget("jsonpatch", { size: 1 }));
    const ok = await api.patch(
      `${WIDGETS}/jsonpatch`,
      [
        { op: "test", path: "/spec/size", value: 1 },
        { op: "replace", path: "/spec/size", value: 2 },
        { op: "add", path: "/spec/tags", value: ["x"] },
      ],
      JSON_PATCH,
    );
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.spec, { size: 2, tags: ["x"] });
    const failedTest = await api.patch(
      `${WIDGETS}/jsonpatch`,
      [{ op: "test", path: "/spec/size", value: 9 }],
      JSON_PATCH,
    );
    assert.equal(failedTest.status, 422);
    const failedOp = await api.patch(
      `${WIDGETS}/jsonpatch`,
      [{ op: "remove", path: "/spec/missing" }],
      JSON_PATCH,
    );
    assert.equal(failedOp.status, 422);
    const undecodable = await api.patch(`${WIDGETS}/jsonpatch`, { op: "add" }, JSON_PATCH);
    assert.equal(undecodable.status, 400);
  });

  test("17. strategic merge patch on a custom resource is 415 listing the accepted types; built-ins accept it", async () => {
    await api.post(WIDGETS, widget("smp"));
    const refused = await api.patch(
      `${WIDGETS}/smp`,
      { spec: { size: 2 } },
      "application/strategic-merge-patch+json",
    );
    assert.equal(refused.status, 415);
    assert.equal(
      refused.body.message,
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
    await api.post("/apis/apps/v1/namespaces/default/deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [
              { name: "a", image: "a:1" },
              { name: "b", image: "b:1" },
            ],
          },
        },
      },
    });
    const merged = await api.patch(
      "/apis/apps/v1/namespaces/default/deployments/web",
      { spec: { template: { spec: { containers: [{ name: "b", image: "b:2" }] } } } },
      "application/strategic-merge-patch+json",
    );
    assert.equal(merged.status, 200);
    assert.deepEqual(
      merged.body.spec.template.spec.containers.map(
        (c: { name: string; image: string }) => `${c.name}=${c.image}`,
      ),
      ["a=a:1", "b=b:2"],
      "containers merge by name",
    );
  });

  test("18. server-side apply: fieldManager required, creates, records managedFields, conflicts unless forced", async () => {
    const body = JSON.stringify(widget("applied", { size: 1, color: "blue" }));
    const noManager = await api.call("PATCH", `${WIDGETS}/applied`, { body, contentType: APPLY });
    assert.equal(noManager.status, 422);
    assert.match(noManager.body.message, /fieldManager: Required value/);

    const created = await api.call("PATCH", `${WIDGETS}/applied?fieldManager=kubectl&force=false`, {
      body,
      contentType: APPLY,
    });
    assert.equal(created.status, 201);
    const entry = created.body.metadata.managedFields.find(
      (m: { manager: string }) => m.manager === "kubectl",
    );
    assert.equal(entry.operation, "Apply");
    assert.deepEqual(entry.fieldsV1["f:spec"], { "f:color": {}, "f:size": {} });

    const conflict = await api.call("PATCH", `${WIDGETS}/applied?fieldManager=other`, {
      body: JSON.stringify(widget("applied", { size: 2 })),
      contentType: APPLY,
    });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.reason, "Conflict");
    assert.deepEqual(conflict.body.details.causes, [
      { reason: "FieldManagerConflict", message: 'conflict with "kubectl"', field: ".spec.size" },
    ]);
    assert.match(
      conflict.body.message,
      /^Apply failed with 1 conflict: conflict with "kubectl": \.spec\.size/,
    );

    const forced = await api.call("PATCH", `${WIDGETS}/applied?fieldManager=other&force=true`, {
      body: JSON.stringify(widget("applied", { size: 2 })),
      contentType: APPLY,
    });
    assert.equal(forced.status, 200);
    assert.equal(forced.body.spec.size, 2);
    const owners = Object.fromEntries(
      forced.body.metadata.managedFields.map((m: { manager: string; fieldsV1: Record<string, unknown> }) => [
        m.manager,
        m.fieldsV1,
      ]),
    );
    assert.deepEqual(owners.kubectl["f:spec"], { "f:color": {} }, "the forced field moved to the new owner");
    assert.deepEqual(owners.other["f:spec"], { "f:size": {} });

    const dropColor = await api.call("PATCH", `${WIDGETS}/applied?fieldManager=kubectl`, {
      body: JSON.stringify(widget("applied", {})),
      contentType: APPLY,
    });
    assert.equal(dropColor.status, 200);
    assert.deepEqual(dropColor.body.spec, { size: 2 }, "a field the applier stops applying is removed");

    const forceOnMerge = await api.call("PATCH", `${WIDGETS}/applied?force=true`, {
      body: "{}",
      contentType: MERGE,
    });
    assert.equal(forceOnMerge.status, 422);
  });

  test("19. fieldValidation Strict refuses unknown and duplicate fields, Warn warns, Ignore drops; dryRun stores nothing", async () => {
    const cm = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "strict" },
      data: { a: "1" },
      bogus: true,
    };
    const strict = await api.call("POST", `${CONFIGMAPS}?fieldValidation=Strict`, { body: cm });
    assert.equal(strict.status, 400);
    assert.equal(
      strict.body.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"',
    );
    const duplicate = await api.call("POST", `${CONFIGMAPS}?fieldValidation=Strict`, {
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1"},"data":{"b":"2"}}',
    });
    assert.equal(duplicate.status, 400);
    assert.match(duplicate.body.message, /duplicate field "data"/);

    const warn = await api.call("POST", `${CONFIGMAPS}?fieldValidation=Warn`, {
      body: { ...cm, metadata: { name: "warned" } },
    });
    assert.equal(warn.status, 201);
    assert.equal(warn.headers.warning, '299 - "unknown field \\"bogus\\""');
    assert.equal(warn.body.bogus, undefined);

    const ignore = await api.call("POST", `${CONFIGMAPS}?fieldValidation=Ignore`, {
      body: { ...cm, metadata: { name: "ignored" } },
    });
    assert.equal(ignore.status, 201);
    assert.equal(ignore.headers.warning, undefined);

    const metaUnknown = await api.call("POST", `${WIDGETS}?fieldValidation=Strict`, {
      body: { ...widget("meta-unknown"), metadata: { name: "meta-unknown", colour: "x" } },
    });
    assert.equal(metaUnknown.status, 400);
    assert.match(metaUnknown.body.message, /unknown field "metadata.colour"/);

    const dry = await api.call("POST", `${WIDGETS}?dryRun=All`, { body: widget("dry") });
    assert.equal(dry.status, 201);
    assert.equal(dry.body.metadata.name, "dry");
    assert.equal((await api.get(`${WIDGETS}/dry`)).status, 404, "dry run stores nothing");
    const live = await api.post(WIDGETS, widget("dry-update"));
    const dryPatch = await api.call("PATCH", `${WIDGETS}/dry-update?dryRun=All`, {
      body: { spec: { size: 9 } },
      contentType: MERGE,
    });
    assert.equal(dryPatch.body.spec.size, 9);
    const after = await api.get(`${WIDGETS}/dry-update`);
    assert.equal(after.body.spec.size, 1);
    assert.equal(after.body.metadata.resourceVersion, live.body.metadata.resourceVersion);
    const dryDelete = await api.call("DELETE", `${WIDGETS}/dry-update?dryRun=All`);
    assert.equal(dryDelete.status, 200);
    assert.equal((await api.get(`${WIDGETS}/dry-update`)).status, 200);
  });
});
