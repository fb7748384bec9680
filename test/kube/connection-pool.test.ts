// KubeClient keeps its connections to the API server: many calls go over a few connections, not
// one new connection (and TLS handshake) per call. A TCP relay in front of the emulator counts the
// connections the client opens.
import assert from "node:assert/strict";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KubeClient, loadKubeConfig } from "../../src/kube/client.js";
import { type KubeEmulator, startTestKube } from "../support/kube.js";
import { cleanUp } from "./support/cluster.js";

describe("KubeClient connections", () => {
  let kube: KubeEmulator;
  let relay: Server;
  let connections = 0;
  const sockets = new Set<{ destroy(): void }>();
  let kubeconfigPath: string;

  before(async () => {
    kube = await startTestKube();
    const target = new URL(kube.url);
    relay = createServer((inbound) => {
      connections++;
      const outbound = createConnection(Number(target.port), target.hostname);
      sockets.add(inbound).add(outbound);
      inbound.pipe(outbound).pipe(inbound);
      const end = () => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on("error", end).on("close", end);
      outbound.on("error", end).on("close", end);
    });
    relay.listen(0, "127.0.0.1");
    await once(relay, "listening");
    const address = relay.address();
    if (!address || typeof address === "string") throw new Error("no relay address");
    kubeconfigPath = join(kube.kubeconfigPath, "..", "relay.kubeconfig");
    writeFileSync(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "relay",
            cluster: { server: `http://127.0.0.1:${address.port}`, "insecure-skip-tls-verify": true },
          },
        ],
        users: [{ name: "admin", user: {} }],
        contexts: [{ name: "relay", context: { cluster: "relay", user: "admin" } }],
        "current-context": "relay",
      }),
    );
  });
  after(() =>
    cleanUp(
      () => {
        for (const socket of sockets) socket.destroy();
      },
      () => new Promise((resolve) => relay?.close(resolve)),
      () => kube?.close(),
    ),
  );

  test("calls one after another share a connection or two; a second burst reuses the first burst's", async () => {
    const client = new KubeClient(loadKubeConfig({ kubeconfigPath }));
    for (let i = 0; i < 25; i++) await client.version();
    assert.ok(connections <= 2, `25 calls in a row opened ${connections} connections`);
    const burst = () => Promise.all(Array.from({ length: 10 }, () => client.core.listNamespace()));
    await burst();
    const afterFirstBurst = connections;
    await burst();
    assert.equal(connections, afterFirstBurst, "the second burst opened no connection");
  });
});
