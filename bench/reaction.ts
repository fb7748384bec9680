// Benchmark 3 of issue 9: reaction time. An idle `azid controller` process watches IDENTITIES Ready
// user-assigned identities; CHANGES times, one at a time, `kubectl apply` changes one identity's
// tags, and the time until the identity's first ARM write is measured (the ARM emulator's request
// hook). ARM runs at time scale 1 with no latency added. The clock starts when the API server has
// the change (its watch event, seen by this process, which also runs the API server): that is the
// controller's reaction. The time kubectl itself takes to start, read and send the manifest is
// printed apart (`kubectl_apply_p50_ms`), with the reaction counted from kubectl's start.
//
//   npm run bench -- reaction     (REACTION_CHANGES to resize)
import { request } from "node:http";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { Stack } from "../test/e2e/stack.js";
import type { IdentityObject } from "./support/estate.js";
import {
  createObjects,
  identityManifests,
  isReady,
  namespaceObjects,
  waitAllReady,
} from "./support/estate.js";
import { figure, note } from "./support/report.js";

const CHANGES = Number(process.env.REACTION_CHANGES ?? 200);
const IDENTITIES = 20;
const NAMESPACE = "reaction";

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Follows the identities of the namespace: calls `seen` with each version as it arrives. */
function watch(stack: Stack, seen: (object: IdentityObject) => void): () => void {
  const url = new URL(
    `${stack.kube.url}/apis/azid.dev/v1alpha1/namespaces/${NAMESPACE}/userassignedidentities?watch=true`,
  );
  const req = request(url, (res) => {
    // Closing the watch at the end aborts the stream: not an error here.
    res.on("error", () => {});
    const lines = createInterface({ input: res });
    lines.on("error", () => {});
    lines.on("line", (line) => {
      const event = JSON.parse(line) as { type: string; object: IdentityObject };
      if (event.type === "ADDED" || event.type === "MODIFIED") seen(event.object);
    });
  });
  req.on("error", () => {});
  req.end();
  return () => req.destroy();
}

const stack = await Stack.start({ timeScale: 1, throttling: true });
const arm = stack.arm.arm;
let stopWatch = () => {};
try {
  await stack.arm.request(
    "PUT",
    `/subscriptions/${stack.subscriptionId}/resourceGroups/bench-rg?api-version=2025-04-01`,
    { body: { location: "westeurope" } },
  );
  await stack.apply(...namespaceObjects(stack, NAMESPACE));
  const manifests = identityManifests(stack, {
    namespace: NAMESPACE,
    identities: IDENTITIES,
    grants: 0,
    credentials: 0,
    identitiesPerVm: 0,
  });
  await createObjects(stack, manifests);
  await stack.startController({ resyncPeriod: "1h", concurrency: 8, logLevel: "warn" });
  await waitAllReady(stack, NAMESPACE, IDENTITIES, { timeoutMs: 120_000 });

  /** name/generation -> when the API server had it; name/generation -> Ready for it */
  const accepted = new Map<string, number>();
  const readyFor = new Set<string>();
  stopWatch = watch(stack, (object) => {
    const key = `${object.metadata.name}/${object.metadata.generation}`;
    if (!accepted.has(key)) accepted.set(key, Date.now());
    if (isReady(object)) readyFor.add(key);
  });
  const firstWrite = new Map<string, number>(); // identity name -> first ARM write since it was armed
  const armed = new Set<string>();
  arm.onRequest((record) => {
    if (record.klass === "read") return;
    const name = record.path.split("/").at(-1) ?? "";
    if (armed.has(name) && !firstWrite.has(name)) firstWrite.set(name, record.at);
  });
  await sleep(1000);

  const reaction: number[] = [];
  const fromKubectl: number[] = [];
  const kubectl: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const manifest = manifests[i % IDENTITIES]!;
    const name = manifest.metadata.name;
    firstWrite.delete(name);
    armed.add(name);
    const started = Date.now();
    await stack.apply({ ...manifest, spec: { ...manifest.spec, tags: { change: String(i) } } });
    const object = (await stack.get<IdentityObject>("uai", name, NAMESPACE))!;
    const key = `${name}/${object.metadata.generation}`;
    const deadline = Date.now() + 30_000;
    while (!(firstWrite.has(name) && readyFor.has(key))) {
      if (Date.now() > deadline)
        throw new Error(`change ${i} of ${name}: no ARM write or not Ready after 30 s`);
      await sleep(2);
    }
    armed.delete(name);
    const write = firstWrite.get(name)!;
    const inCluster = accepted.get(key) ?? started;
    reaction.push(write - inCluster);
    fromKubectl.push(write - started);
    kubectl.push(inCluster - started);
    await sleep(20);
  }
  note("reaction_changes", CHANGES);
  note("reaction_from_kubectl_start_p50_ms", percentile(fromKubectl, 50));
  note("reaction_from_kubectl_start_p99_ms", percentile(fromKubectl, 99));
  note("kubectl_apply_p50_ms (process start to change in the API server)", percentile(kubectl, 50));
  figure("reaction_p50_ms", percentile(reaction, 50), 0);
  figure("reaction_p99_ms", percentile(reaction, 99), 0);
} finally {
  stopWatch();
  await stack.close();
}
