// Benchmark 1 of issue 9: the repair of a subscription after a tenant move by `azid controller
// --tenant-remediation Auto`, against the floor ARM's buckets force on the writes it needs, and
// against the baseline a user would write (Microsoft's transfer guide, one SDK call at a time),
// both on the same sandbox in the same run.
//
// The estate: IDENTITIES user-assigned identities, each with 3 role assignments, 1 federated
// credential and 1 VM attachment (4 identities per VM), made Ready by the controller with
// throttling off. ARM throttles by its documented buckets, `TIME_SCALE` times faster than Azure,
// and answers after a fixed latency (Azure milliseconds, scaled): reads 100 ms, writes and deletes
// 250 ms, less than Azure takes (a VM PATCH there is a long-running operation of seconds).
// Each run moves the subscription to a new tenant first: the baseline repairs the move to
// tenant B (the first REMEDIATION_BASELINE_IDENTITIES of them, its time scaled to all), then azid
// (a cold start with tenant C's credential) the move to tenant C.
//
//   npm run bench -- remediation     (REMEDIATION_IDENTITIES, REMEDIATION_TIME_SCALE,
//   REMEDIATION_BASELINE_IDENTITIES to resize; REMEDIATION_BASELINE=off skips the baseline;
//   REMEDIATION_CALLS=FILE.tsv keeps azid's ARM calls)
//
// With REMEDIATION_IDENTITIES_PER_VAULT=50 (npm run bench -- remediation-keyvault) each identity
// is also granted secrets get/list on a Key Vault in access-policy mode, one vault per 50
// identities; the repair then also resets each vault's tenant and adds the new principals'
// entries, the floor counts those writes, and the vaults' end state is checked exactly.
import { randomUUID } from "node:crypto";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RequestRecord } from "@azid/arm-emulator";
import { ClientSecretCredential } from "@azure/identity";
import { Redis } from "ioredis";
import { floorOf } from "../src/plan/limits.js";
import { Stack } from "../test/e2e/stack.js";
import { sandboxCredentialOptions } from "../test/support/arm.js";
import {
  createAzureEstate,
  createObjects,
  identityManifests,
  namespaceObjects,
  vmCount,
  waitAllReady,
} from "./support/estate.js";
import { repairFloor, repairWrites } from "./support/floor.js";
import { cpuSecondsOf, figure, note, writeCallLog } from "./support/report.js";
import { sequentialRepair } from "./support/sequential-repair.js";
import {
  createVaults,
  vaultCount,
  vaultRepairWrites,
  vaultRule,
  verifyVaults,
  withVaults,
} from "./support/vaults.js";
import { exact, verifyEstate } from "./support/verify.js";

const IDENTITIES = Number(process.env.REMEDIATION_IDENTITIES ?? 500);
const TIME_SCALE = Number(process.env.REMEDIATION_TIME_SCALE ?? 5);
/**
 * The baseline repairs the first BASELINE_IDENTITIES only: it makes one call at a time, so its time
 * is linear in the identities (ARM's buckets never bind at its pace) and is scaled up to all of
 * them; the whole estate would take it over five minutes.
 */
const BASELINE_IDENTITIES = Math.min(IDENTITIES, Number(process.env.REMEDIATION_BASELINE_IDENTITIES ?? 100));
const NAMESPACE = "bench";
const PER_VAULT = Number(process.env.REMEDIATION_IDENTITIES_PER_VAULT ?? 0);
/** Figure names: the vault variant reports its own, beside the plain one. */
const FIGURE = PER_VAULT > 0 ? "remediation_keyvault" : "remediation";
const LATENCY_MS = { read: 100, write: 250, delete: 250 };
const CONTROLLER = {
  concurrency: Number(process.env.REMEDIATION_CONCURRENCY ?? 16),
  resyncPeriod: "1h",
  logLevel: process.env.REMEDIATION_LOG_LEVEL ?? "warn",
};

const stack = await Stack.start({ timeScale: TIME_SCALE, throttling: false });
const arm = stack.arm.arm;
const shape = { namespace: NAMESPACE, identities: IDENTITIES, grants: 3, credentials: 1, identitiesPerVm: 4 };
const plain = identityManifests(stack, shape);
const manifests = PER_VAULT > 0 ? withVaults(stack, plain, PER_VAULT) : plain;

/** ARM as the repairs meet it: the documented buckets, full, and the latency; counters from zero. */
function throttledArm(): void {
  arm.updateSettings({ throttling: true });
  arm.setFaults({
    read: { latencyMs: LATENCY_MS.read },
    write: { latencyMs: LATENCY_MS.write },
    delete: { latencyMs: LATENCY_MS.delete },
  });
  arm.resetThrottling();
  arm.resetStats();
}

function quietArm(): void {
  arm.updateSettings({ throttling: false });
  arm.setFaults({});
}

/** Commands Redis has processed since it started. */
async function redisCommands(): Promise<number> {
  const client = new Redis(stack.redis.url);
  try {
    if (process.env.REMEDIATION_REDIS)
      writeFileSync(`${process.env.REMEDIATION_REDIS}.${Date.now()}`, await client.info("commandstats"));
    return Number(/total_commands_processed:(\d+)/.exec(await client.info("stats"))?.[1]);
  } finally {
    client.disconnect();
  }
}

const writesOf = (stats: ReturnType<typeof arm.stats>) => stats.requests.write + stats.requests.delete;

async function buildEstate(): Promise<void> {
  await createAzureEstate(stack, vmCount(shape));
  const [namespace, policy] = namespaceObjects(stack, NAMESPACE) as [
    object,
    { spec: Record<string, unknown> },
  ];
  if (PER_VAULT > 0) {
    await createVaults(stack, vaultCount(IDENTITIES, PER_VAULT));
    policy.spec.keyVaults = [vaultRule(stack)];
  }
  await stack.apply(namespace, policy);
  await createObjects(stack, manifests);
  const started = Date.now();
  const builder = await stack.startController(CONTROLLER);
  await waitAllReady(stack, NAMESPACE, IDENTITIES, { timeoutMs: 15 * 60_000, what: "the estate" });
  note("setup_seconds (controller, throttling off)", (Date.now() - started) / 1000);
  await builder.kill("SIGTERM");
}

/** Moves the subscription to a new tenant and repairs the first BASELINE_IDENTITIES with the sequential script. */
async function runBaseline() {
  const repaired = manifests.slice(0, BASELINE_IDENTITIES);
  const tenant = randomUUID();
  arm.moveSubscription(stack.subscriptionId, tenant);
  throttledArm();
  const credential = new ClientSecretCredential(tenant, randomUUID(), "bench", sandboxCredentialOptions(arm));
  await credential.getToken(`${arm.url}/.default`);
  const started = performance.now();
  const calls = await sequentialRepair(
    { armUrl: arm.url, caPem: arm.caPem, subscriptionId: stack.subscriptionId, credential },
    repaired,
  );
  const seconds = (performance.now() - started) / 1000;
  const stats = arm.stats();
  quietArm();
  // The identities it did not repair are left over from its point of view: only what it repaired is checked.
  const check = await verifyEstate(stack, repaired, { kubernetes: false });
  if (check.duplicates + check.lost > 0)
    throw new Error(`the baseline left a wrong estate:\n${check.problems.join("\n")}`);
  return { seconds: (seconds * IDENTITIES) / BASELINE_IDENTITIES, measuredSeconds: seconds, calls, stats };
}

/** Moves the subscription to a new tenant and starts the controller with that tenant's credential, in Auto mode. */
async function runAzid(timeoutMs: number) {
  const tenant = randomUUID();
  arm.moveSubscription(stack.subscriptionId, tenant);
  const secret = join(stack.dir, "secret");
  writeFileSync(secret, "bench\n");
  const credentialsFile = join(stack.dir, "credentials.yaml");
  writeFileSync(
    credentialsFile,
    `subscriptions:\n  ${stack.subscriptionId}:\n    tenantId: ${tenant}\n    clientId: ${randomUUID()}\n    clientSecretFile: ${secret}\n`,
  );
  throttledArm();
  const calls: RequestRecord[] = [];
  const unsubscribe = arm.onRequest((record) => calls.push(record));
  const redisBefore = await redisCommands();
  const spawned = Date.now();
  const benchCpu = process.cpuUsage();
  const controller = await stack.startController({
    ...CONTROLLER,
    tenantRemediation: "Auto",
    credentialsFile,
  });
  const readyAt = await waitAllReady(stack, NAMESPACE, IDENTITIES, {
    tenantId: tenant,
    timeoutMs,
    pollMs: 200,
    what: "the repair",
  });
  unsubscribe();
  if (process.env.REMEDIATION_METRICS)
    writeFileSync(process.env.REMEDIATION_METRICS, await controller.metrics());
  if (process.env.REMEDIATION_LOG) copyFileSync(controller.logFile, process.env.REMEDIATION_LOG);
  const redisUsed = (await redisCommands()) - redisBefore;
  const controllerCpu = cpuSecondsOf(controller.child.pid as number);
  const emulatorsCpu = process.cpuUsage(benchCpu);
  const stats = arm.stats();
  quietArm();
  const check = await verifyEstate(stack, manifests);
  if (!exact(check)) throw new Error(`azid left a wrong estate:\n${check.problems.join("\n")}`);
  const vaultProblems = PER_VAULT > 0 ? await verifyVaults(stack, manifests) : [];
  if (vaultProblems.length > 0) throw new Error(`azid left wrong vaults:\n${vaultProblems.join("\n")}`);
  const firstCall = calls[0]?.at ?? spawned;
  const lastWrite = calls.filter((c) => c.klass !== "read").at(-1)?.at ?? firstCall;
  if (process.env.REMEDIATION_CALLS) writeCallLog(process.env.REMEDIATION_CALLS, calls, firstCall);
  return {
    seconds: (readyAt - firstCall) / 1000,
    startupSeconds: (firstCall - spawned) / 1000,
    lastWriteToReadyMs: readyAt - lastWrite,
    controllerCpu,
    redisUsed,
    emulatorsCpu: (emulatorsCpu.user + emulatorsCpu.system) / 1e6,
    stats,
  };
}

try {
  await buildEstate();
  const floor = repairFloor(manifests);
  if (PER_VAULT > 0) {
    const vaultWrites = vaultRepairWrites(manifests);
    const withVaultWrites = floorOf([...manifests.flatMap(repairWrites), ...vaultWrites]);
    Object.assign(floor, withVaultWrites, { writes: floor.writes + vaultWrites.length });
    note("vaults", vaultCount(IDENTITIES, PER_VAULT));
  }
  const floorSeconds = floor.seconds / TIME_SCALE;
  const baseline = process.env.REMEDIATION_BASELINE === "off" ? undefined : await runBaseline();
  const azid = await runAzid(20 * floorSeconds * 1000 + 60_000);

  note("identities", IDENTITIES);
  note("time_scale", TIME_SCALE);
  note("writes_needed", floor.writes);
  note("floor_seconds_azure", floor.seconds);
  note(
    "binding_bucket",
    [...floor.byClass].sort((a, b) => b.floorSeconds - a.floorSeconds)[0]?.class ?? "none",
  );
  note("azid_startup_seconds (spawn to first ARM call)", azid.startupSeconds);
  note("azid_repair_seconds_azure (first ARM call to all Ready)", azid.seconds * TIME_SCALE);
  note("azid_last_write_to_all_ready_ms", azid.lastWriteToReadyMs);
  note("azid_arm_reads", azid.stats.requests.read);
  note("azid_arm_writes", writesOf(azid.stats));
  note("azid_arm_429", azid.stats.throttled);
  note("azid_controller_cpu_seconds", azid.controllerCpu);
  note("azid_redis_commands", azid.redisUsed);
  note("emulators_cpu_seconds (during the repair)", azid.emulatorsCpu);
  figure(`${FIGURE}_vs_floor`, azid.seconds / floorSeconds);
  figure(`${FIGURE}_429_ratio`, azid.stats.throttled / Math.max(1, writesOf(azid.stats)), 4);
  if (baseline) {
    note("sequential_identities_repaired", BASELINE_IDENTITIES);
    note("sequential_seconds_measured", baseline.measuredSeconds);
    note("sequential_seconds_azure (scaled to all identities)", baseline.seconds * TIME_SCALE);
    note("sequential_arm_calls", baseline.calls);
    note("sequential_arm_writes", writesOf(baseline.stats));
    note("sequential_arm_429", baseline.stats.throttled);
    note("sequential_to_azid_speedup", baseline.seconds / azid.seconds);
    figure("remediation_vs_sequential", azid.seconds / baseline.seconds);
  }
} finally {
  await stack.close();
}
