// Checklist items 1-6 (discovery and wire format) and the CRD registration part of item 29,
// through raw HTTP as kubectl and client-node send it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type KubeEmulator, startTestKube } from "../../../test/support/kube.js";
import { CRDS, registerCrd, WIDGETS, widget, widgetCrd } from "./support/fixtures.js";
import { RawClient } from "./support/raw-client.js";

const TABLE_ACCEPT =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

describe("discovery and wire format", () => {
  let kube: KubeEmulator;
  let api: RawClient;

  before(async () => {
    kube = await startTestKube();
    api = new RawClient(kube.url);
    await registerCrd(api, widgetCrd(), WIDGETS);
  });
  after(() => kube.close());

  test("1. /version answers kubectl's first request", async () => {
    const res = await api.get("/version?timeout=5s");
    assert.equal(res.status, 200);
    assert.equal(res.body.major, "1");
    assert.equal(res.body.minor, "36");
    assert.match(res.body.gitVersion, /^v1\.36\./);
  });

  test("2. /api, /apis and the resource lists carry verbs, short names, categories and status subresources", async () => {
    const versions = await api.get("/api");
    assert.equal(versions.body.kind, "APIVersions");
    assert.deepEqual(versions.body.versions, ["v1"]);

    const groups = await api.get("/apis");
    assert.equal(groups.body.kind, "APIGroupList");
    const names = groups.body.groups.map((g: { name: string }) => g.name);
    for (const group of [
      "apps",
      "coordination.k8s.io",
      "events.k8s.io",
      "apiextensions.k8s.io",
      "example.com",
    ]) {
      assert.ok(names.includes(group), `${group} is listed`);
    }
    const example = groups.body.groups.find((g: { name: string }) => g.name === "example.com");
    assert.deepEqual(example.preferredVersion, { groupVersion: "example.com/v1", version: "v1" });

    const core = await api.get("/api/v1");
    assert.equal(core.body.kind, "APIResourceList");
    const configmaps = core.body.resources.find((r: { name: string }) => r.name === "configmaps");
    assert.deepEqual(configmaps.shortNames, ["cm"]);
    assert.ok(configmaps.namespaced);
    assert.ok(core.body.resources.some((r: { name: string }) => r.name === "namespaces/status"));

    const widgets = await api.get("/apis/example.com/v1");
    const resource = widgets.body.resources.find((r: { name: string }) => r.name === "widgets");
    assert.equal(resource.kind, "Widget");
    assert.equal(resource.singularName, "widget");
    assert.deepEqual(resource.shortNames, ["wd"]);
    assert.deepEqual(resource.categories, ["all"]);
    assert.deepEqual(resource.verbs.sort(), [
      "create",
      "delete",
      "deletecollection",
      "get",
      "list",
      "patch",
      "update",
      "watch",
    ]);
    const status = widgets.body.resources.find((r: { name: string }) => r.name === "widgets/status");
    assert.deepEqual(status.verbs, ["get", "patch", "update"]);

    assert.equal((await api.get("/apis/example.com/v2")).status, 404);
    assert.equal((await api.get("/apis/nothing.example.com")).status, 404);
  });

  test("3. /openapi/v3 lists each group-version; PATCH operations carry the GVK and fieldValidation", async () => {
    const index = await api.get("/openapi/v3");
    assert.equal(index.status, 200);
    const entry = index.body.paths["apis/example.com/v1"];
    assert.match(entry.serverRelativeURL, /^\/openapi\/v3\/apis\/example\.com\/v1\?hash=/);
    assert.ok(index.body.paths["api/v1"]);

    const doc = await api.get(entry.serverRelativeURL);
    assert.equal(doc.status, 200);
    const item = doc.body.paths["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"];
    assert.deepEqual(item.patch["x-kubernetes-group-version-kind"], {
      group: "example.com",
      version: "v1",
      kind: "Widget",
    });
    assert.ok(
      item.patch.parameters.some(
        (p: { name: string; in: string }) => p.name === "fieldValidation" && p.in === "query",
      ),
    );
    assert.equal(item.patch.requestBody.content["application/strategic-merge-patch+json"], undefined);
    const component = Object.values(doc.body.components.schemas).find(
      (s) =>
        JSON.stringify((s as Record<string, unknown>)["x-kubernetes-group-version-kind"]) ===
        JSON.stringify([{ group: "example.com", version: "v1", kind: "Widget" }]),
    ) as { properties: Record<string, unknown> };
    assert.ok(component.properties.spec, "the Widget schema is published");

    const core = await api.get("/openapi/v3/api/v1");
    const cm = core.body.paths["/api/v1/namespaces/{namespace}/configmaps/{name}"];
    assert.ok(cm.patch.requestBody.content["application/strategic-merge-patch+json"]);
    const v2 = await api.get("/openapi/v2");
    assert.deepEqual(v2.body.paths, {}, "OpenAPI v2 is published empty: kinds are described through v3");
  });

  test("4. Table output uses additionalPrinterColumns; plain JSON lists stay available", async () => {
    await api.post(WIDGETS, widget("table-a", { size: 7 }));
    const table = await api.get(WIDGETS, { accept: TABLE_ACCEPT });
    assert.equal(table.status, 200);
    assert.equal(table.body.kind, "Table");
    assert.equal(table.body.apiVersion, "meta.k8s.io/v1");
    assert.deepEqual(
      table.body.columnDefinitions.map((c: { name: string }) => c.name),
      ["Name", "Size", "Ready", "Age"],
    );
    const row = table.body.rows.find((r: { cells: unknown[] }) => r.cells[0] === "table-a");
    assert.equal(row.cells[1], 7);
    assert.equal(row.cells[2], null);
    assert.match(row.cells[3], /^\d+s$/);
    assert.equal(row.object.kind, "PartialObjectMetadata");
    assert.equal(row.object.metadata.name, "table-a");

    const single = await api.get(`${WIDGETS}/table-a`, { accept: TABLE_ACCEPT });
    assert.equal(single.body.rows.length, 1);
    const json = await api.get(WIDGETS);
    assert.equal(json.body.kind, "WidgetList");
    const refused = await api.get(WIDGETS, { accept: "application/vnd.kubernetes.protobuf" });
    assert.equal(refused.status, 406);
  });

  test("5. every error is a Status with reason, code and details", async () => {
    const missing = await api.get(`${WIDGETS}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'widgets.example.com "nope" not found',
      reason: "NotFound",
      details: { name: "nope", group: "example.com", kind: "widgets" },
      code: 404,
    });

    await api.post(WIDGETS, widget("dup"));
    const duplicate = await api.post(WIDGETS, widget("dup"));
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.reason, "AlreadyExists");

    const invalid = await api.post(WIDGETS, widget("Not_Valid"));
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.reason, "Invalid");
    assert.equal(invalid.body.details.kind, "Widget");
    assert.equal(invalid.body.details.causes[0].field, "metadata.name");
    assert.equal(invalid.body.details.causes[0].reason, "FieldValueInvalid");

    const undecodable = await api.post(WIDGETS, "{not json");
    assert.equal(undecodable.status, 400);
    assert.equal(undecodable.body.reason, "BadRequest");

    const notAllowed = await api.post(`${WIDGETS}/dup`, widget("dup"));
    assert.equal(notAllowed.status, 405);
    assert.equal(notAllowed.body.reason, "MethodNotAllowed");

    const smp = await api.patch(
      `${WIDGETS}/dup`,
      { spec: { size: 2 } },
      "application/strategic-merge-patch+json",
    );
    assert.equal(smp.status, 415);
    assert.equal(smp.body.reason, "UnsupportedMediaType");

    const unknownPath = await api.get("/apis/example.com/v1/gadgets");
    assert.equal(unknownPath.status, 404);
    assert.equal(unknownPath.body.kind, "Status");
  });

  test("6. DELETE takes DeleteOptions and answers with an object that has a kind; GET then gives 404", async () => {
    await api.post(WIDGETS, widget("to-delete"));
    const deleted = await api.delete(`${WIDGETS}/to-delete`, {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Background",
    });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.kind, "Status");
    assert.equal(deleted.body.status, "Success");
    assert.equal(deleted.body.details.name, "to-delete");
    assert.equal((await api.get(`${WIDGETS}/to-delete`)).status, 404);

    const badPolicy = await api.delete(`${WIDGETS}/dup`, { propagationPolicy: "Sometimes" });
    assert.equal(badPolicy.status, 422);

    await api.post("/api/v1/namespaces/default/serviceaccounts", {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "gone" },
    });
    const sa = await api.delete("/api/v1/namespaces/default/serviceaccounts/gone");
    assert.equal(sa.body.kind, "ServiceAccount", "service accounts answer with the deleted object");
  });

  test("29. a CRD created through the API is served, with NamesAccepted and Established conditions", async () => {
    const crd = widgetCrd() as { metadata: { name: string }; spec: Record<string, unknown> };
    crd.metadata.name = "gadgets.example.com";
    crd.spec.names = { plural: "gadgets", kind: "Gadget" };
    await registerCrd(api, crd, "/apis/example.com/v1/namespaces/default/gadgets");
    const stored = await api.get(`${CRDS}/gadgets.example.com`);
    const conditions = Object.fromEntries(
      stored.body.status.conditions.map((c: { type: string; status: string }) => [c.type, c.status]),
    );
    assert.deepEqual(conditions, { NamesAccepted: "True", Established: "True" });
    assert.deepEqual(stored.body.status.acceptedNames, {
      plural: "gadgets",
      singular: "gadget",
      kind: "Gadget",
      listKind: "GadgetList",
    });
    assert.deepEqual(stored.body.status.storedVersions, ["v1"]);
    const resources = await api.get("/apis/example.com/v1");
    assert.ok(resources.body.resources.some((r: { name: string }) => r.name === "gadgets"));

    const badName = widgetCrd() as { metadata: { name: string } };
    badName.metadata.name = "wrong.example.com";
    const refused = await api.post(CRDS, badName);
    assert.equal(refused.status, 422);
    assert.match(refused.body.message, /must be spec.names.plural\+"."\+spec.group/);

    const gadgets = "/apis/example.com/v1/namespaces/default/gadgets";
    const gadget = (name: string, finalizers: string[] = []) => ({
      apiVersion: "example.com/v1",
      kind: "Gadget",
      metadata: { name, finalizers },
      spec: {},
    });
    await api.post(gadgets, gadget("g1"));
    await api.post(gadgets, gadget("held", ["example.com/hold"]));
    const deleted = await api.delete(`${CRDS}/gadgets.example.com`);
    assert.equal(deleted.status, 200);
    assert.ok(deleted.body.metadata.finalizers.includes("customresourcecleanup.apiextensions.k8s.io"));
    for (let i = 0; i < 200 && (await api.get(`${gadgets}/g1`)).status !== 404; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const refusedCreate = await api.post(gadgets, gadget("late"));
    assert.equal(refusedCreate.status, 405, "no new instances while the CRD is terminating");
    const terminating = await api.get(`${CRDS}/gadgets.example.com`);
    assert.ok(
      terminating.body.status.conditions.some(
        (c: { type: string; status: string }) => c.type === "Terminating" && c.status === "True",
      ),
    );
    await api.patch(`${gadgets}/held`, { metadata: { finalizers: null } }, "application/merge-patch+json");
    for (let i = 0; i < 200 && (await api.get(`${CRDS}/gadgets.example.com`)).status !== 404; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal((await api.get(`${CRDS}/gadgets.example.com`)).status, 404);
    assert.equal((await api.get("/apis/example.com/v1/namespaces/default/gadgets")).status, 404);
    const after = await api.get("/apis/example.com/v1");
    assert.ok(
      !after.body.resources.some((r: { name: string }) => r.name === "gadgets"),
      "discovery no longer lists it",
    );
  });
});
