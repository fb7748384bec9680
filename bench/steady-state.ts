// Benchmark 2 of issue 9: what keeping identities right costs when nothing has changed. IDENTITIES
// user-assigned identities (1 role assignment, 1 federated credential, 1 VM attachment each: a
// subscription holds at most 4,000 role assignments, so 2,000 identities cannot have 3 each; the
// assignments are read with one list per identity whatever their number) are
// made Ready by the controller with throttling off; then, with ARM's documented throttling on, the
// controller resyncs them ROUNDS times and every ARM call is counted: writes and reads per identity
// per resync (goal: 0 writes, at most 3 + 1 per attachment reads). Each identity also names a
// ServiceAccount (with a workload-identity Deployment) and exports its ids to a ConfigMap: the
// Kubernetes writes of that wiring per identity per resync are counted too (goal: 0).
//
//   npm run bench -- steady-state     (STEADY_IDENTITIES, STEADY_ROUNDS to resize)
import { Stack } from "../test/e2e/stack.js";
import {
  createAzureEstate,
  createObjects,
  createWorkloads,
  identityManifests,
  namespaceObjects,
  vmCount,
  waitAllReady,
} from "./support/estate.js";
import { counter } from "./support/metrics.js";
import { figure, note } from "./support/report.js";

const IDENTITIES = Number(process.env.STEADY_IDENTITIES ?? 2000);
const ROUNDS = Number(process.env.STEADY_ROUNDS ?? 3);
const TIME_SCALE = 50;
const NAMESPACE = "steady";
const RESYNC = process.env.STEADY_RESYNC ?? "20s";
const ATTACHMENTS_PER_IDENTITY = 1;

const stack = await Stack.start({ timeScale: TIME_SCALE, throttling: false });
const arm = stack.arm.arm;
try {
  const shape = {
    namespace: NAMESPACE,
    identities: IDENTITIES,
    grants: 1,
    credentials: 1,
    identitiesPerVm: 1,
    wiring: true,
  };
  await createAzureEstate(stack, vmCount(shape));
  await stack.apply(...namespaceObjects(stack, NAMESPACE));
  const manifests = identityManifests(stack, shape);
  await createWorkloads(
    stack,
    NAMESPACE,
    manifests.map((manifest) => manifest.metadata.name),
  );
  await createObjects(stack, manifests);
  const started = Date.now();
  const controller = await stack.startController({ resyncPeriod: RESYNC, concurrency: 16, logLevel: "warn" });
  await waitAllReady(stack, NAMESPACE, IDENTITIES, { timeoutMs: 20 * 60_000, what: "the estate" });
  note("steady_state_identities", IDENTITIES);
  note("steady_state_setup_seconds (throttling off)", (Date.now() - started) / 1000);

  arm.updateSettings({ throttling: true });
  arm.resetThrottling();
  arm.resetStats();
  const reconciles = async () =>
    counter(
      await controller.metrics(),
      "controller_runtime_reconcile_total",
      /controller="userassignedidentity"/,
    );
  const kubeWrites = async () => counter(await controller.metrics(), "azid_kube_writes_total");
  const kubeWritesBefore = await kubeWrites();
  const before = await reconciles();
  const resyncing = Date.now();
  while ((await reconciles()) < before + ROUNDS * IDENTITIES) {
    if (Date.now() - resyncing > 10 * 60_000)
      throw new Error(`${ROUNDS} resync rounds did not finish in 10 min`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const stats = arm.stats();
  const rounds = ((await reconciles()) - before) / IDENTITIES;
  const writes = stats.requests.write + stats.requests.delete;
  note("steady_state_rounds", rounds);
  note("steady_state_resync_seconds", (Date.now() - resyncing) / 1000);
  note("steady_state_arm_429", stats.throttled);
  note("steady_state_read_goal_per_identity", 3 + ATTACHMENTS_PER_IDENTITY);
  note(
    "steady_state_reads_by_operation",
    Object.entries(stats.byOperation)
      .map(([operation, count]) => {
        const what = operation
          .split("/")
          .filter((part) => !part.startsWith("{"))
          .at(-1);
        return `${what}=${(Number(count) / rounds / IDENTITIES).toFixed(2)}`;
      })
      .join(", "),
  );
  figure("steady_state_writes_per_identity", writes / rounds / IDENTITIES);
  figure(
    "steady_state_kube_writes_per_identity",
    ((await kubeWrites()) - kubeWritesBefore) / rounds / IDENTITIES,
  );
  figure("steady_state_reads_per_identity", stats.requests.read / rounds / IDENTITIES);
} finally {
  await stack.close();
}
