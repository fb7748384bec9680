// What clients other than client-node and kubectl need (found with the official Python client):
// boolean query parameters in any spelling, the pre-timeout bookmark, the scale and token
// subresources, service-account issuer discovery, the namespace Terminating window.
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { queryBool, queryOptionalBool } from "@azid/kube-emulator/internal/rest/query-bool.js";
import { type KubeEmulator, kubectlFor, startTestKube } from "../../../test/support/kube.js";
import { registerCrd, widgetCrd } from "./support/fixtures.js";
import { RawClient } from "./support/raw-client.js";

const MERGE = "application/merge-patch+json";
const APPLY = "application/apply-patch+yaml";
const NS = "/api/v1/namespaces/default";

function deployment(name: string): unknown {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 1,
      selector: {
        matchLabels: { app: name },
        matchExpressions: [{ key: "tier", operator: "In", values: ["b", "a"] }],
      },
      template: {
        metadata: { labels: { app: name, tier: "a" } },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      },
    },
  };
}

const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

describe("what other clients need", () => {
  let kube: KubeEmulator;
  let api: RawClient;

  before(async () => {
    kube = await startTestKube({ bookmarkIntervalMs: 60_000, namespaceTerminatingMs: 300 });
    api = new RawClient(kube.url);
  });
  after(() => kube.close());

  test("boolean parameters: absent, 0 and false in any case are false, anything else true", () => {
    for (const falsy of [undefined, "0", "false", "False", "FALSE"])
      assert.equal(queryBool(falsy), false, String(falsy));
    for (const truthy of ["true", "True", "1", "yes", ""]) assert.equal(queryBool(truthy), true, truthy);
    assert.equal(queryOptionalBool(undefined), undefined);
    assert.equal(queryOptionalBool("False"), false);
  });

  test("watch=True streams (the Python client's spelling); watch=False lists", async () => {
    const list = await api.get(`${NS}/configmaps?watch=False`);
    assert.equal(list.body.kind, "ConfigMapList");
    const rv = list.body.metadata.resourceVersion;
    const watch = await api.watch(`${NS}/configmaps?watch=True&resourceVersion=${rv}`);
    await api.post(`${NS}/configmaps`, { metadata: { name: "spelled" } });
    const event = await watch.next();
    assert.ok(event !== "end");
    assert.deepEqual([event.type, event.object.metadata.name], ["ADDED", "spelled"]);
    watch.close();
  });

  test("force=True on an apply takes a field another manager owns", async () => {
    const path = `${NS}/configmaps/forced`;
    const body = (value: string) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "forced" },
        data: { k: value },
      });
    assert.equal(
      (await api.call("PATCH", `${path}?fieldManager=a`, { body: body("1"), contentType: APPLY })).status,
      201,
    );
    const refused = await api.call("PATCH", `${path}?fieldManager=b`, {
      body: body("2"),
      contentType: APPLY,
    });
    assert.equal(refused.status, 409);
    const forced = await api.call("PATCH", `${path}?fieldManager=b&force=True`, {
      body: body("2"),
      contentType: APPLY,
    });
    assert.equal(forced.status, 200);
    assert.deepEqual(forced.body.data, { k: "2" });
  });

  test("a watch with bookmarks and timeoutSeconds gets a bookmark 2 s before the deadline", async () => {
    const rv = (await api.get(`${NS}/configmaps`)).body.metadata.resourceVersion;
    const watch = await api.watch(
      `${NS}/configmaps?watch=1&allowWatchBookmarks=True&timeoutSeconds=3&resourceVersion=${rv}`,
    );
    const bookmark = await watch.next(5000);
    assert.ok(bookmark !== "end", "a bookmark before the end");
    assert.equal(bookmark.type, "BOOKMARK");
    assert.equal(await watch.next(5000), "end", "then the stream ends at its timeout");
  });

  test("scale subresource of a Deployment: Scale with the selector; PUT and PATCH write spec.replicas", async () => {
    const apps = "/apis/apps/v1/namespaces/default/deployments";
    assert.equal((await api.post(apps, deployment("web"))).status, 201);
    const scale = await api.get(`${apps}/web/scale`);
    assert.equal(scale.status, 200);
    assert.deepEqual(
      [scale.body.kind, scale.body.apiVersion, scale.body.spec.replicas, scale.body.status.selector],
      ["Scale", "autoscaling/v1", 1, "app=web,tier in (a,b)"],
    );
    assert.equal(
      (await api.patch(`${apps}/web/scale`, { spec: { replicas: 3 } }, MERGE)).body.spec.replicas,
      3,
    );
    const put = await api.put(`${apps}/web/scale`, { ...scale.body, spec: { replicas: 4 } });
    assert.equal(put.status, 409, "a stale resourceVersion in the Scale is a conflict");
    const fresh = (await api.get(`${apps}/web/scale`)).body;
    assert.equal((await api.put(`${apps}/web/scale`, { ...fresh, spec: { replicas: 4 } })).status, 200);
    const live = (await api.get(`${apps}/web`)).body;
    assert.equal(live.spec.replicas, 4);
    assert.equal(live.metadata.generation, 3, "each replicas change is a spec change");
    const negative = await api.patch(`${apps}/web/scale`, { spec: { replicas: -1 } }, MERGE);
    assert.equal(negative.status, 422);
    const discovery = (await api.get("/apis/apps/v1")).body.resources;
    assert.ok(
      discovery.some(
        (r: { name: string; kind: string }) => r.name === "deployments/scale" && r.kind === "Scale",
      ),
    );
  });

  test("scale subresource of a custom resource whose CRD declares one", async () => {
    const crd = widgetCrd() as { spec: { versions: { subresources: Record<string, unknown> }[] } };
    crd.spec.versions[0]!.subresources = {
      status: {},
      scale: { specReplicasPath: ".spec.size", statusReplicasPath: ".status.size" },
    };
    const widgets = "/apis/example.com/v1/namespaces/default/widgets";
    await registerCrd(api, crd, widgets);
    await api.post(widgets, {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w" },
      spec: { size: 2 },
    });
    assert.equal((await api.patch(`${widgets}/w/scale`, { spec: { replicas: 7 } }, MERGE)).status, 200);
    assert.equal((await api.get(`${widgets}/w`)).body.spec.size, 7);
    assert.deepEqual((await api.get(`${widgets}/w/scale`)).body.status, { replicas: 0 });
  });

  test("serviceaccounts/token issues a JWT that the issuer discovery's JWKS verifies", async () => {
    assert.equal((await api.post(`${NS}/serviceaccounts`, { metadata: { name: "app" } })).status, 201);
    const answer = await api.post(`${NS}/serviceaccounts/app/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: ["api://AzureADTokenExchange"], expirationSeconds: 3600 },
    });
    assert.equal(answer.status, 201);
    assert.equal(answer.body.kind, "TokenRequest");
    const [head, payload, signature] = answer.body.status.token.split(".");
    const claims = decode(payload);
    const discovery = (await api.get("/.well-known/openid-configuration")).body;
    assert.equal(discovery.issuer, kube.serviceAccountIssuer);
    assert.deepEqual(discovery.id_token_signing_alg_values_supported, ["RS256"]);
    const jwksResponse = await fetch(discovery.jwks_uri);
    assert.equal(jwksResponse.headers.get("content-type"), "application/jwk-set+json");
    const jwks = (await jwksResponse.json()) as { keys: { kid: string }[] };
    const jwk = jwks.keys.find((k) => k.kid === decode(head).kid);
    assert.ok(jwk, "the token's kid is in the JWKS");
    const key = createPublicKey({ key: jwk as never, format: "jwk" });
    assert.ok(verify("sha256", Buffer.from(`${head}.${payload}`), key, Buffer.from(signature, "base64url")));
    assert.equal(claims.iss, discovery.issuer);
    assert.equal(claims.sub, "system:serviceaccount:default:app");
    assert.deepEqual(claims.aud, ["api://AzureADTokenExchange"]);
    assert.equal(claims.exp - claims.iat, 3600);
    assert.equal(claims["kubernetes.io"].serviceaccount.name, "app");

    const defaults = await api.post(`${NS}/serviceaccounts/app/token`, { spec: {} });
    assert.deepEqual(decode(defaults.body.status.token.split(".")[1]).aud, [kube.serviceAccountIssuer]);
    const short = await api.post(`${NS}/serviceaccounts/app/token`, { spec: { expirationSeconds: 60 } });
    assert.equal(short.status, 422);
    assert.match(short.body.message, /may not specify a duration less than 10 minutes/);
    assert.equal((await api.post(`${NS}/serviceaccounts/nobody/token`, { spec: {} })).status, 404);
    const unbound = await api.post(`${NS}/serviceaccounts/app/token`, {
      spec: { boundObjectRef: { kind: "Secret", name: "missing" } },
    });
    assert.equal(unbound.status, 404, "a binding to a missing Secret is refused");
  });

  test("kubectl scale and kubectl create token (a protobuf TokenRequest) use these subresources", async () => {
    const kubectl = kubectlFor(kube);
    const scaled = await kubectl.run(["scale", "deployment", "web", "--replicas=5"]);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.equal((await api.get("/apis/apps/v1/namespaces/default/deployments/web")).body.spec.replicas, 5);
    const token = await kubectl.run(["create", "token", "app", "--audience", "api://AzureADTokenExchange"]);
    assert.equal(token.code, 0, token.stderr);
    assert.equal(decode(token.stdout.trim().split(".")[1]!).sub, "system:serviceaccount:default:app");
    const short = await kubectl.run(["create", "token", "app", "--duration", "1m"]);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /may not specify a duration less than 10 minutes/);
  });

  test("a deleted namespace stays Terminating for a while, refusing creates, then goes", async () => {
    await api.post("/api/v1/namespaces", { metadata: { name: "doomed" } });
    await api.post("/api/v1/namespaces/doomed/configmaps", { metadata: { name: "inside" } });
    assert.equal((await api.delete("/api/v1/namespaces/doomed")).status, 200);
    const during = await api.get("/api/v1/namespaces/doomed");
    assert.equal(during.body.status.phase, "Terminating");
    const refused = await api.post("/api/v1/namespaces/doomed/configmaps", { metadata: { name: "late" } });
    assert.equal(refused.status, 403);
    const watch = await api.watch(
      `/api/v1/namespaces?watch=true&fieldSelector=metadata.name=doomed&resourceVersion=${during.body.metadata.resourceVersion}`,
    );
    for (;;) {
      const event = await watch.next(10_000);
      assert.ok(event !== "end");
      if (event.type === "DELETED") break;
    }
    assert.equal((await api.get("/api/v1/namespaces/doomed")).status, 404);
  });

  test("a Terminating namespace says what remains and which finalizers hold it, as the namespace controller does", async () => {
    await api.post("/api/v1/namespaces", { metadata: { name: "held" } });
    await api.post("/api/v1/namespaces/held/configmaps", {
      metadata: { name: "guarded", finalizers: ["example.com/guard"] },
    });
    const rv = (await api.get("/api/v1/namespaces/held")).body.metadata.resourceVersion;
    await api.delete("/api/v1/namespaces/held");
    const watch = await api.watch(
      `/api/v1/namespaces?watch=true&fieldSelector=metadata.name=held&resourceVersion=${rv}`,
    );
    // biome-ignore lint/suspicious/noExplicitAny: Kubernetes JSON
    let conditions: any[] = [];
    while (!conditions.some((c) => c.type === "NamespaceFinalizersRemaining" && c.status === "True")) {
      const event = await watch.next(10_000);
      assert.ok(event !== "end");
      conditions = event.object.status.conditions ?? [];
    }
    const byType = Object.fromEntries(conditions.map((c) => [c.type, c]));
    assert.deepEqual(
      [byType.NamespaceContentRemaining.reason, byType.NamespaceContentRemaining.message],
      ["SomeResourcesRemain", "Some resources are remaining: configmaps has 1 resource instances"],
    );
    assert.equal(
      byType.NamespaceFinalizersRemaining.message,
      "Some content in the namespace has finalizers remaining: example.com/guard in 1 resource instances",
    );
    assert.equal(byType.NamespaceDeletionDiscoveryFailure.status, "False");
    await api.patch("/api/v1/namespaces/held/configmaps/guarded", { metadata: { finalizers: null } }, MERGE);
    for (;;) {
      const event = await watch.next(10_000);
      assert.ok(event !== "end");
      if (event.type === "DELETED") break;
    }
    watch.close();
  });
});
