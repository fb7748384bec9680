// azid demo: the main job, end to end, on the built-in sandbox. It starts the ARM and Kubernetes
// emulators and a redis-server, runs `azid controller` as a child process, applies a team's
// identities, waits until they are Ready, moves the subscription to another tenant, gives azid a
// credential from the new tenant, plans and approves the repair with a TenantMigration, and
// reports what changed. Exit 0 only when Azure ends exactly as declared.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { ConditionType } from "../../api/conditions.js";
import type { Condition } from "../../api/schemas/common.js";
import type { TenantMigration } from "../../api/schemas/tenant-migration.js";
import { formatDuration, plural } from "../../util/text.js";
import { openAzureSession } from "../azure-session.js";
import { type Declared, declaredPrincipals, differences } from "../demo/exact-state.js";
import { installCrds } from "../demo/install-crds.js";
import { KubeApi, type KubeObject } from "../demo/kube-api.js";
import { startControllerChild, startRedisServer } from "../demo/processes.js";
import { readEstate } from "../demo/read-estate.js";
import { type DemoFacts, formatDemoReport, remediationReportOf } from "../demo/report.js";
import {
  createSampleAzureResources,
  SAMPLE_NAMESPACE,
  SAMPLE_WORKLOAD,
  sampleNamespaceAndPolicy,
  sampleResources,
  sampleWorkload,
} from "../demo/sample.js";
import { CliError, EXIT, type ExitCode } from "../exit-codes.js";
import { type OutputFlags, withOutputFlags } from "../flags.js";
import { renderHtmlReport } from "../html-report.js";
import { parseNumber } from "../options.js";
import { type CommandContext, runAction } from "../run.js";
import { startSandbox } from "../sandbox-stack.js";

type Flags = OutputFlags & { report?: string; timeScale: number; keep: boolean };

const MIGRATION = "demo-repair";
/** A client id for azid's credential; the sandbox accepts any id and secret in any tenant. */
const CLIENT_ID = "d3e0a1b2-0000-4000-8000-00000000de70";

export function registerDemoCommand(program: Command): void {
  const command = program
    .command("demo")
    .description(
      "the tenant move end to end on the built-in sandbox (emulators on loopback, not for production): " +
        "identities Ready, the subscription moves, azid repairs it through an approved TenantMigration, " +
        "and reports before and after; exit 0 only when Azure ends exactly as declared",
    )
    .option("--report <file.html>", "also write the report as one self-contained HTML page")
    .option(
      "--time-scale <x>",
      "how much faster than Azure the sandbox runs (throttling, Retry-After, replication)",
      parseNumber,
      20,
    )
    .option("--keep", "keep the demo's folder (sandbox file, controller log) after it ends", false);
  withOutputFlags(command).action(runAction(demo));
}

async function demo(flags: Flags, context: CommandContext): Promise<ExitCode> {
  if (!(flags.timeScale > 0)) throw new CliError("--time-scale must be above 0", "Usage");
  const step = context.output === "json" ? context.say : context.print;
  const dir = mkdtempSync(join(tmpdir(), "azid-demo-"));
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  };
  const interrupted = async () => {
    context.say("azid demo: interrupted, stopping the controller, Redis and the sandbox");
    await stopAll();
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    return await run(flags, context, step, dir, stops);
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await stopAll();
  }
}

async function run(
  flags: Flags,
  context: CommandContext,
  step: (text: string) => void,
  dir: string,
  stops: Array<() => Promise<void>>,
): Promise<ExitCode> {
  const started = new Date();
  const sandbox = await startSandbox({ timeScale: flags.timeScale, stateDir: subdir(dir, "sandbox") });
  stops.push(() => sandbox.close());
  const arm = sandbox.arm;
  const kubeUrl = sandbox.info.kube;
  if (!arm || !kubeUrl) throw new CliError("the sandbox did not start both emulators");
  const subscriptionId = arm.subscriptionId;
  const oldTenant = arm.tenantId;
  const redis = await startRedisServer(subdir(dir, "redis"));
  stops.push(() => redis.stop());
  step(
    "azid demo: the ARM and Kubernetes emulators below run on loopback for trying azid; they are not for production.\n" +
      `1. sandbox: ARM ${arm.url}, Kubernetes ${kubeUrl}, redis-server ${redis.url} ` +
      `(time scale ${flags.timeScale}: ${flags.timeScale} times faster than Azure)`,
  );

  const sandboxFile = join(dir, "sandbox.json");
  writeFileSync(sandboxFile, `${JSON.stringify(sandbox.info)}\n`);
  const credentialsFile = join(dir, "credentials.yaml");
  const secretFile = join(dir, "client-secret");
  writeFileSync(secretFile, "the-sandbox-accepts-any-secret\n");
  const useTenant = (tenantId: string) =>
    writeFileSync(
      credentialsFile,
      `subscriptions:\n  ${subscriptionId}:\n    tenantId: ${tenantId}\n    clientId: ${CLIENT_ID}\n` +
        `    clientSecretFile: ${secretFile}\n`,
    );
  useTenant(oldTenant);

  const kube = new KubeApi(kubeUrl);
  await installCrds(kube);
  const logFile = join(dir, "controller.log");
  const controller = await startControllerChild({
    sandboxFile,
    redisUrl: redis.url,
    credentialsFile,
    logFile,
    resyncPeriod: "5s",
  });
  stops.push(() => controller.stop());
  step(
    `2. azid controller --sandbox ${sandboxFile} is running (pid ${controller.child.pid}, ` +
      `logs in ${flags.keep ? logFile : "a file removed at the end; --keep keeps it"})`,
  );

  const targets = await createSampleAzureResources(arm, subscriptionId);
  step(`3. Azure: resource group and VMs created in subscription ${subscriptionId} (as the portal would)`);
  for (const target of targets) step(`     ${target}`);

  for (const object of sampleNamespaceAndPolicy(subscriptionId)) await kube.apply(object);
  for (const object of sampleWorkload()) await kube.apply(object);
  const resources = sampleResources(subscriptionId);
  for (const object of resources) await kube.apply(object);
  const applyStarted = Date.now();
  step(`4. applied namespace ${SAMPLE_NAMESPACE}, its IdentityPolicy and ${resources.length} resources:`);
  for (const object of resources) step(`     ${object.kind} ${object.metadata.name}`);
  const before = await waitFor("every resource Ready", 120_000, async () => {
    const declared = await declaredOf(kube);
    const waiting = everyResource(declared).filter((r) => !isTrue(r, ConditionType.Ready));
    if (waiting.length > 0) throw new Error(`${waiting.length} not Ready yet`);
    return declared;
  });
  step(`   all Ready in ${formatDuration((Date.now() - applyStarted) / 1000)}; principals:`);
  for (const resource of [...before.userAssigned, ...before.systemAssigned]) {
    step(`     ${resource.kind} ${resource.metadata.name}: ${resource.status?.principalId}`);
  }
  const workloadBefore = await workloadView(kube);
  step(
    `   Deployment ${SAMPLE_WORKLOAD} uses workload identity through ServiceAccount ${SAMPLE_WORKLOAD}:\n${workloadBefore.text}`,
  );

  const newTenant = randomUUID();
  const moved = arm.moveSubscription(subscriptionId, newTenant);
  step(
    `5. the subscription moves to tenant ${newTenant}: Azure deleted ` +
      `${plural(moved.deleted.roleAssignments.length, "role assignment")} and ${plural(moved.deleted.customRoles.length, "custom role")}, ` +
      "and every identity still belongs to the old tenant",
  );
  const refused = await waitFor("azid to report its credential refused", 60_000, async () => {
    const all = everyResource(await declaredOf(kube));
    const count = all.filter((r) => readyReason(r) === "CredentialTenantMismatch").length;
    if (count < all.length) throw new Error(`${count} of ${all.length} resources report it`);
    return count;
  });
  const metric = (await (await fetch(`${controller.metricsUrl}/metrics`)).text())
    .split("\n")
    .find((line) => line.startsWith("azid_credential_tenant_mismatch{"));
  step(
    `   azid: Ready=False CredentialTenantMismatch on all ${refused} resources: its credential is from tenant ${oldTenant}` +
      (metric ? `\n   metric: ${metric}` : ""),
  );

  useTenant(newTenant);
  step(
    `6. azid's credentials file now names tenant ${newTenant} (the controller keeps running and re-reads it)`,
  );
  const mismatched = await waitFor("every identity to report the move", 90_000, async () => {
    const declared = await declaredOf(kube);
    const identities = [...declared.userAssigned, ...declared.systemAssigned];
    if (!identities.every((r) => isTrue(r, ConditionType.TenantMismatch)))
      throw new Error("TenantMismatch not on every identity yet");
    return identities.length;
  });
  step(
    `   azid: TenantMismatch=True on ${mismatched} identities; Manual mode: the repair waits for approval`,
  );

  await kube.apply(migration(subscriptionId, false));
  const planned = await waitForMigration(kube, "AwaitingApproval", 60_000);
  const plan = planned.status?.plan;
  const counts = (plan?.counts ?? []).map((c) => `${c.count} ${c.kind}`).join(", ");
  step(
    `7. TenantMigration ${MIGRATION} planned ${plan?.total ?? 0} actions: ${counts}\n` +
      `   ARM's documented limits allow it in ${formatDuration((plan?.floorSeconds ?? 0) / flags.timeScale)} at best ` +
      `(${formatDuration(plan?.floorSeconds ?? 0)} at Azure's pace); approving it`,
  );
  arm.resetStats();
  const approved = Date.now();
  await kube.apply(migration(subscriptionId, true));
  let shown = "";
  const done = await waitFor("the repair", 300_000, async () => {
    const current = await kube.get<TenantMigration>("TenantMigration", MIGRATION);
    const progress = (current?.status?.progress ?? []).reduce(
      (sum, p) => ({ done: sum.done + p.done, total: sum.total + p.total }),
      { done: 0, total: 0 },
    );
    const phase = current?.status?.phase;
    // Every change of the count while applying, and the last count, so the line never stops at 0/N.
    const line = `   ${phase === "Applying" ? "applying" : "done"}: ${progress.done}/${progress.total} actions`;
    if (line !== shown && (phase === "Applying" || phase === "Succeeded" || phase === "Failed")) step(line);
    shown = line;
    if (phase !== "Succeeded" && phase !== "Failed") throw new Error(`phase ${phase}`);
    return current as TenantMigration;
  });
  // The controller's own start and end of the repair: the one duration the report and the summary both give.
  const report = done.status?.report;
  const repairSeconds =
    report?.startedAt && report.completedAt
      ? (Date.parse(report.completedAt) - Date.parse(report.startedAt)) / 1000
      : (Date.now() - approved) / 1000;
  // A copy: the sandbox's points keep counting (the reads below would be in them).
  const armStats = structuredClone(arm.stats());
  step(`8. repair ${done.status?.phase}: ${done.status?.report?.summary ?? ""}`);
  const workloadAfter = await workloadView(kube);
  step(
    `9. the workload after the repair (azid set the new client id and restarted the Deployment once):\n${workloadAfter.text}`,
  );

  const after = await declaredOf(kube);
  const session = openAzureSession({ sandbox: sandboxFile, credentialsFile }, context.logger);
  const estate = await readEstate(session.inventory, subscriptionId, declaredPrincipals(after));
  const facts: DemoFacts = {
    subscriptionId,
    fromTenantId: oldTenant,
    toTenantId: newTenant,
    timeScale: flags.timeScale,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    repairSeconds,
    migration: done.status ?? {},
    before,
    after,
    deleted: {
      roleAssignments: moved.deleted.roleAssignments.length,
      customRoles: moved.deleted.customRoles.length,
    },
    arm: armStats,
    differences: differences(after, estate),
  };
  const exact = facts.differences.length === 0 && done.status?.phase === "Succeeded";
  const code = exact ? EXIT.ok : EXIT.error;
  if (context.output === "json") {
    context.printJson({
      ok: exact,
      exitCode: code,
      differences: facts.differences,
      report: remediationReportOf(facts),
    });
  } else {
    context.print(`\n${formatDemoReport(facts)}`);
  }
  if (flags.report) {
    writeFileSync(flags.report, renderHtmlReport(remediationReportOf(facts), "azid demo"));
    context.say(`azid: report written to ${flags.report}`);
  }
  return code;
}

/** The sample workload as a person checks it: the ServiceAccount's annotations and the pod template's. */
async function workloadView(kube: KubeApi): Promise<{ text: string; clientId?: string }> {
  const account = await kube.get<{ metadata: { annotations?: Record<string, string> } }>(
    "ServiceAccount",
    SAMPLE_WORKLOAD,
    SAMPLE_NAMESPACE,
  );
  const deployment = await kube.get<{
    metadata: { generation?: number };
    spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
  }>("Deployment", SAMPLE_WORKLOAD, SAMPLE_NAMESPACE);
  const annotations = account?.metadata.annotations ?? {};
  const clientId = annotations["azure.workload.identity/client-id"];
  const template = Object.entries(deployment?.spec?.template?.metadata?.annotations ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
  return {
    text:
      `     ServiceAccount ${SAMPLE_WORKLOAD}: azure.workload.identity/client-id=${clientId ?? "(none)"}\n` +
      `     Deployment ${SAMPLE_WORKLOAD}: generation ${deployment?.metadata.generation ?? "?"}, ` +
      `pod template annotations ${template || "(none)"}`,
    ...(clientId ? { clientId } : {}),
  };
}

async function declaredOf(kube: KubeApi): Promise<Declared> {
  const [customRoles, userAssigned, systemAssigned] = await Promise.all([
    kube.list<Declared["customRoles"][number]>("CustomRole", SAMPLE_NAMESPACE),
    kube.list<Declared["userAssigned"][number]>("UserAssignedIdentity", SAMPLE_NAMESPACE),
    kube.list<Declared["systemAssigned"][number]>("SystemAssignedIdentity", SAMPLE_NAMESPACE),
  ]);
  // The controller discovered this issuer: the ServiceAccounts' credentials in Azure carry it.
  const serviceAccountIssuer = await kube.serviceAccountIssuer();
  return {
    customRoles,
    userAssigned,
    systemAssigned,
    ...(serviceAccountIssuer ? { serviceAccountIssuer } : {}),
  };
}

type Resource = { status?: { conditions?: Condition[] } };

const everyResource = (declared: Declared): Resource[] => [
  ...declared.customRoles,
  ...declared.userAssigned,
  ...declared.systemAssigned,
];
const isTrue = (resource: Resource, type: string) =>
  resource.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;
const readyReason = (resource: Resource) =>
  resource.status?.conditions?.find((c) => c.type === ConditionType.Ready)?.reason;

function migration(subscriptionId: string, approved: boolean): KubeObject {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "TenantMigration",
    metadata: { name: MIGRATION },
    spec: { subscriptionId, mode: "Apply", approved },
  };
}

function waitForMigration(kube: KubeApi, phase: string, timeoutMs: number): Promise<TenantMigration> {
  return waitFor(`TenantMigration ${MIGRATION} ${phase}`, timeoutMs, async () => {
    const current = await kube.get<TenantMigration>("TenantMigration", MIGRATION);
    if (current?.status?.phase !== phase) throw new Error(`phase ${current?.status?.phase ?? "none"}`);
    return current;
  });
}

/** Looks every half second until `check` passes; a clear error naming what did not happen. */
async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) {
        throw new CliError(
          `timed out after ${timeoutMs / 1000} s waiting for ${what}: ${(error as Error).message}`,
        );
      }
    }
    await sleep(500);
  }
}

function subdir(parent: string, name: string): string {
  const path = join(parent, name);
  mkdirSync(path, { recursive: true });
  return path;
}
