// Benchmark 4 of issue 9: scale. IDENTITIES user-assigned identities are declared in Kubernetes
// before the controller starts and none exists in Azure; ARM throttles by its documented buckets,
// TIME_SCALE times faster than Azure. A cold `azid controller` process lists, watches and caches
// them all and creates every identity. Printed: the time from the process's start to all Ready as
// a ratio to the floor ARM's buckets force on the calls needed (one read to find each identity
// missing, one creation each), and the controller's resident memory once all are Ready. Each
// identity names a ServiceAccount that a workload-identity Deployment runs as, in a cluster that
// also holds as many unrelated Deployments (issue 13: watching ServiceAccounts and workloads must
// not make memory grow with the cluster; SCALE_WIRING=0 leaves them out).
//
//   npm run bench -- scale     (SCALE_IDENTITIES, SCALE_TIME_SCALE to resize)
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { RequestRecord } from "@azid/arm-emulator";
import { userAssignedIdentityId } from "../src/api/arm-id.js";
import { DEFAULT_FEDERATED_AUDIENCE } from "../src/api/schemas/common.js";
import { serviceAccountCredentialName } from "../src/api/workload-identity.js";
import * as build from "../src/plan/build.js";
import { floorOf } from "../src/plan/limits.js";
import { Stack } from "../test/e2e/stack.js";
import {
  createObjects,
  createWorkloads,
  GROUP,
  groupId,
  identityManifests,
  namespaceObjects,
  REGION,
  waitAllReady,
} from "./support/estate.js";
import { counter } from "./support/metrics.js";
import { figure, note, writeCallLog } from "./support/report.js";

const IDENTITIES = Number(process.env.SCALE_IDENTITIES ?? 10_000);
const TIME_SCALE = Number(process.env.SCALE_TIME_SCALE ?? 40);
const NAMESPACE = "scale";
const SETTLE_MS = 20_000;
const HEAP_LIMIT_MB = Number(process.env.SCALE_HEAP_LIMIT_MB ?? 256);
const WIRING = process.env.SCALE_WIRING !== "0";

/** A process's resident memory now and at its peak (MB), from /proc (Linux). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

const stack = await Stack.start({ timeScale: TIME_SCALE, throttling: false });
const arm = stack.arm.arm;
try {
  const res = await stack.arm.request("PUT", `${groupId(stack.subscriptionId)}?api-version=2025-04-01`, {
    body: { location: REGION },
  });
  if (res.status >= 300) throw new Error(`resource group: ${res.status} ${res.text}`);
  await stack.apply(...namespaceObjects(stack, NAMESPACE));
  const manifests = identityManifests(stack, {
    namespace: NAMESPACE,
    identities: IDENTITIES,
    grants: 0,
    credentials: 0,
    identitiesPerVm: 0,
  });
  if (WIRING) {
    // Each identity's ServiceAccount (spec.serviceAccounts) and its Deployment, then the rest of
    // the cluster: Deployments that have nothing to do with azid.
    for (const manifest of manifests) manifest.spec.serviceAccounts = [{ name: manifest.metadata.name }];
    const names = manifests.map((manifest) => manifest.metadata.name);
    await createWorkloads(stack, NAMESPACE, names);
    await createWorkloads(
      stack,
      NAMESPACE,
      names.map((name) => `unrelated-${name}`),
      { serviceAccounts: false },
    );
  }
  await createObjects(stack, manifests);

  // The calls a cold start cannot do without: a read that finds each identity missing, its
  // creation, and with the wiring the federated credential of its ServiceAccount (ARM paces those
  // writes on a bucket of their own: the issuer does not change the floor).
  const needed = manifests.flatMap((m) => {
    const owner = { kind: "UserAssignedIdentity" as const, namespace: NAMESPACE, name: m.metadata.name };
    const id = userAssignedIdentityId(stack.subscriptionId, GROUP, m.metadata.name);
    const credentials = (m.spec.serviceAccounts ?? []).map((account) =>
      build.putFederatedCredential(owner, id, {
        name: serviceAccountCredentialName(account.name),
        issuer: "https://issuer.invalid",
        subject: `system:serviceaccount:${NAMESPACE}:${account.name}`,
        audiences: [DEFAULT_FEDERATED_AUDIENCE],
      }),
    );
    return [build.readIdentity(owner, id), build.createIdentity(owner, id, REGION, {}), ...credentials];
  });
  const floor = floorOf(needed);
  const floorSeconds = floor.seconds / TIME_SCALE;

  arm.updateSettings({ throttling: true });
  arm.resetThrottling();
  arm.resetStats();
  const calls: RequestRecord[] = [];
  const unsubscribe = arm.onRequest((record) => calls.push(record));
  const started = Date.now();
  // The controller's heap limit as the chart sets it (controller.heapLimitMiB, half of its 512 MiB
  // memory limit); without one, on this machine's 24 GB, V8 lets garbage pile up to gigabytes
  // before collecting it. The controller inherits NODE_OPTIONS.
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --max-old-space-size=${HEAP_LIMIT_MB}`;
  const controller = await stack.startController({
    resyncPeriod: "1h",
    concurrency: 16,
    logLevel: process.env.SCALE_LOG_LEVEL ?? "warn",
  });
  const readyAt = await waitAllReady(stack, NAMESPACE, IDENTITIES, {
    timeoutMs: 20 * floorSeconds * 1000 + 120_000,
    // A list of every identity costs the API server (in this process) CPU: not too often.
    pollMs: Math.max(200, IDENTITIES / 5),
    what: "the cold start",
  });
  unsubscribe();
  if (process.env.SCALE_CALLS) writeCallLog(process.env.SCALE_CALLS, calls, started);
  const seconds = (readyAt - started) / 1000;
  const stats = arm.stats();
  // Memory right after the cold start, and once the controller has been idle a while (V8 gives
  // back the heap the cold start's garbage took when the process goes quiet).
  const atReady = memoryOf(controller.child.pid as number);
  await sleep(SETTLE_MS);
  const memory = memoryOf(controller.child.pid as number);
  const metrics = await controller.metrics();
  if (process.env.SCALE_METRICS) writeFileSync(process.env.SCALE_METRICS, metrics);
  if (process.env.SCALE_LOG) copyFileSync(controller.logFile, process.env.SCALE_LOG);
  const reconciles = counter(
    metrics,
    "controller_runtime_reconcile_total",
    /controller="userassignedidentity"/,
  );
  note("scale_identities", IDENTITIES);
  note(
    "scale_wiring",
    WIRING ? `${IDENTITIES} ServiceAccounts and Deployments, ${IDENTITIES} unrelated Deployments` : "none",
  );
  note("scale_kube_writes", counter(metrics, "azid_kube_writes_total"));
  note("scale_time_scale", TIME_SCALE);
  note("scale_controller_max_old_space_mb", HEAP_LIMIT_MB);
  note("scale_floor_seconds_azure", floor.byClass.map((c) => `${c.class}=${c.floorSeconds}`).join(", "));
  note("scale_cold_start_seconds_azure", seconds * TIME_SCALE);
  note("scale_arm_reads", stats.requests.read);
  note("scale_arm_writes", stats.requests.write + stats.requests.delete);
  note("scale_arm_429", stats.throttled);
  note("scale_reconciles", reconciles);
  note("rss_at_ready_mb_10k", atReady.rss);
  note("rss_peak_mb_10k", memory.peak);
  note("heap_used_mb_10k", counter(metrics, "nodejs_heap_size_used_bytes") / 2 ** 20);
  figure("rss_mb_10k", memory.rss, 0);
  figure("cold_start_vs_floor", seconds / floorSeconds);
} finally {
  await stack.close();
}
