// The chart's RBAC (charts/azid/files/rbac-rules.yaml) against the requests a running controller
// really sends: a recording proxy between the manager and the emulator turns every request into
// the grant an authorizer would check, and each must be one the chart gives.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ControllerProcess } from "../../src/controller/run.js";
import { chartRbacRules, grants } from "../chart/rbac.js";
import { cleanUp, TestCluster, waitFor } from "../kube/support/cluster.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { RunLog, startInProcess } from "./runtime-fixtures/harness.js";
import { testController } from "./runtime-fixtures/test-controller.js";

interface Recorded {
  method: string;
  url: string;
}

/** Forwards everything (watches included) to the API server and remembers each request. */
async function recordingProxy(
  target: string,
): Promise<{ url: string; requests: Recorded[]; server: Server }> {
  const upstream = new URL(target);
  const requests: Recorded[] = [];
  const server = createServer((incoming, outgoing) => {
    requests.push({ method: incoming.method ?? "GET", url: incoming.url ?? "/" });
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        // As the API server does: a watch's headers go out before its first event.
        outgoing.flushHeaders();
        response.pipe(outgoing);
      },
    );
    forwarded.on("error", () => outgoing.destroy());
    outgoing.on("close", () => forwarded.destroy());
    incoming.pipe(forwarded);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

/** `group/resource[/subresource]:verb` as the API server's authorizer sees the request, or undefined for non-resource URLs. */
function grantOf({ method, url }: Recorded): { grant: string; namespace?: string } | undefined {
  const parsed = new URL(url, "http://x");
  const parts = parsed.pathname.split("/").filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  // namespaces/{ns}/{resource}...: a namespaced request (a bare namespaces/{name} is the Namespace itself).
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  const watching = parsed.searchParams.get("watch") === "true";
  const verb =
    method === "GET"
      ? watching
        ? "watch"
        : name
          ? "get"
          : "list"
      : ({ POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" } as Record<string, string>)[
          method
        ]!;
  return { grant: `${group}/${resource}${subresource ? `/${subresource}` : ""}:${verb}`, namespace };
}

describe("the chart's RBAC covers what the controller does", () => {
  let cluster: TestCluster;
  let redis: RedisServer;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let controller: ControllerProcess;
  let dir: string;

  before(async () => {
    [cluster, redis] = await Promise.all([TestCluster.start(), startRedis()]);
    proxy = await recordingProxy(cluster.kube.url);
    dir = mkdtempSync(join(tmpdir(), "azid-rbac-"));
    await cluster.createNamespace("azid-system");
    await cluster.createNamespace("team");
  });
  after(() =>
    cleanUp(
      () => controller?.stop(),
      () => proxy.server.closeAllConnections(),
      () => proxy.server.close(),
      () => cluster.close(),
      () => redis.stop(),
      () => rmSync(dir, { recursive: true, force: true }),
    ),
  );

  test("every request is allowed by the ClusterRole, or by the leader-election Role in its namespace", async () => {
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: proxy, cluster: {server: '${proxy.url}', insecure-skip-tls-verify: true}}]`,
        "users: [{name: azid, user: {}}]",
        "contexts: [{name: azid, context: {cluster: proxy, user: azid}}]",
        "current-context: azid",
      ].join("\n"),
    );
    const log = new RunLog();
    controller = await startInProcess({
      kubeconfig,
      redisUrl: redis.url,
      controllers: [
        testController({ report: log.record, watchDependencies: true, finalizer: true, events: true }),
      ],
      flags: { leaderElectionNamespace: "azid-system" },
    });
    await waitFor(() => controller.manager.isLeader(), "the lease");
    await cluster.createIdentity("team", "app", { v: "1" });
    await waitFor(
      async () => (await cluster.getIdentity("team", "app")).status?.observedGeneration === 1,
      "a reconcile",
    );
    await cluster.setTags("team", "app", { v: "2" });
    await waitFor(
      async () => (await cluster.getIdentity("team", "app")).status?.observedGeneration === 2,
      "the change",
    );
    // The same event again (note v=2): it joins the first one's series, a PATCH of that Event.
    await cluster.setTags("team", "app", { v: "2", w: "3" });
    await waitFor(
      async () => (await cluster.getIdentity("team", "app")).status?.observedGeneration === 3,
      "more",
    );
    await cluster.deleteIdentity("team", "app");
    await waitFor(
      async () => !(await cluster.listIdentities("team")).some((o) => o.metadata?.name === "app"),
      "the finalizer to be removed",
    );
    await controller.stop();

    const rules = chartRbacRules();
    const cluster_ = new Set(grants(rules.clusterRules));
    const leaderElection = new Set(grants(rules.leaderElectionRules));
    const used = new Set<string>();
    const refused: string[] = [];
    for (const request of proxy.requests) {
      const access = grantOf(request);
      if (!access) continue;
      used.add(access.grant);
      const allowed =
        cluster_.has(access.grant) ||
        (access.namespace === "azid-system" && leaderElection.has(access.grant));
      if (!allowed) refused.push(`${request.method} ${request.url} -> ${access.grant}`);
    }
    assert.deepEqual(refused, [], "requests the chart's RBAC would refuse");
    for (const expected of [
      "azid.dev/userassignedidentities:watch",
      "azid.dev/userassignedidentities:patch",
      "azid.dev/userassignedidentities/status:update",
      "/namespaces:watch",
      "/events:create",
      "/events:patch",
      "coordination.k8s.io/leases:update",
    ]) {
      assert.ok(used.has(expected), `the run exercised ${expected} (${[...used].sort().join(", ")})`);
    }
  });
});
