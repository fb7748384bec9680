// `azid remediate` against the ARM emulator with throttling on: how long the repair of a moved
// subscription takes compared with the floor ARM's documented buckets force on its writes, how
// many calls it made and how many ARM answered 429. The estate is made with `azid apply` while
// throttling is off; buckets are full again when the repair starts.
// Run: npx tsc -p tsconfig.json && node dist/bench/remediate.bench.js
// (REMEDIATE_BENCH_IDENTITIES, REMEDIATE_BENCH_TIME_SCALE change the size and the speed-up;
// REMEDIATE_BENCH_REPORT=FILE.html keeps the HTML report.)
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startArmEmulator } from "@azid/arm-emulator";
import { stringify } from "yaml";
import { PACKAGE_ROOT } from "../src/util/paths.js";

const IDENTITIES = Number(process.env.REMEDIATE_BENCH_IDENTITIES ?? 200);
const SYSTEM_ASSIGNED = Math.ceil(IDENTITIES / 10);
const VMS = Math.ceil(IDENTITIES / 4);
const TIME_SCALE = Number(process.env.REMEDIATE_BENCH_TIME_SCALE ?? 20);
const RG = "bench-rg";

function azid(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "azid.js"), ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const arm = await startArmEmulator({ timeScale: TIME_SCALE });
const dir = mkdtempSync(join(tmpdir(), "azid-bench-"));
try {
  const sub = arm.subscriptionId;
  const group = `/subscriptions/${sub}/resourceGroups/${RG}`;
  const agent = new Agent({ ca: arm.caPem, keepAlive: true });
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = request(
        new URL(path, arm.url),
        // An opaque bearer token acts as the emulator's default caller (setup only).
        { method, agent, headers: { authorization: "Bearer bench", "content-type": "application/json" } },
        (res) => {
          let text = "";
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
          );
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const admin = async (method: string, path: string, body?: unknown) =>
    (await call(method, `/_sandbox/${path}`, body)).body;
  const sandboxFile = join(dir, "sandbox.json");
  writeFileSync(
    sandboxFile,
    JSON.stringify({
      arm: arm.url,
      caFile: arm.caFile,
      tenantId: arm.tenantId,
      subscriptionId: sub,
      authorityHost: arm.authorityHost,
      graph: arm.graphUrl,
      timeScale: TIME_SCALE,
    }),
  );
  await admin("PATCH", "settings", { throttling: false });
  const put = async (path: string, body: unknown) => {
    const answer = await call("PUT", path, body);
    if (answer.status >= 300) throw new Error(`PUT ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  };
  await put(`${group}?api-version=2025-04-01`, { location: "westeurope" });
  const vm = (i: number) => `${group}/providers/Microsoft.Compute/virtualMachines/vm-${i}`;
  for (let i = 0; i < VMS + SYSTEM_ASSIGNED; i++)
    await put(`${vm(i)}?api-version=2024-11-01`, { location: "westeurope" });

  const manifests = [
    ...Array.from({ length: IDENTITIES }, (_, i) => ({
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name: `app-${i}`, namespace: "bench" },
      spec: {
        subscriptionId: sub,
        resourceGroup: RG,
        location: "westeurope",
        roleAssignments: [{ role: "Reader", scope: group }],
        federatedCredentials: [
          {
            name: `aks-${i}`,
            issuer: "https://oidc.example.com/bench",
            subject: `system:serviceaccount:bench:app-${i}`,
          },
        ],
        attachTo: [vm(i % VMS)],
      },
    })),
    ...Array.from({ length: SYSTEM_ASSIGNED }, (_, i) => ({
      apiVersion: "azid.dev/v1alpha1",
      kind: "SystemAssignedIdentity",
      metadata: { name: `vm-${VMS + i}`, namespace: "bench" },
      spec: { resourceId: vm(VMS + i), roleAssignments: [{ role: "Reader", scope: group }] },
    })),
  ];
  const file = join(dir, "estate.yaml");
  writeFileSync(file, manifests.map((m) => stringify(m)).join("---\n"));
  const applied = await azid([
    "apply",
    "-f",
    file,
    "--sandbox",
    sandboxFile,
    "--concurrency",
    "32",
    "--no-progress",
  ]);
  if (applied.code !== 0) throw new Error(`apply failed:\n${applied.stdout}\n${applied.stderr.slice(-2000)}`);

  const tenant = randomUUID();
  await admin("POST", `subscriptions/${sub}/move`, { tenantId: tenant });
  const secret = join(dir, "secret");
  writeFileSync(secret, "bench\n");
  const credentials = join(dir, "credentials.yaml");
  writeFileSync(
    credentials,
    `subscriptions:\n  ${sub}:\n    tenantId: ${tenant}\n    clientId: ${randomUUID()}\n    clientSecretFile: ${secret}\n`,
  );
  await admin("PATCH", "settings", { throttling: true });
  await admin("POST", "throttling/reset");
  await admin("POST", "stats/reset");
  const started = performance.now();
  const run = await azid([
    "remediate",
    "--subscription",
    sub,
    "-f",
    file,
    "--sandbox",
    sandboxFile,
    "--credentials-file",
    credentials,
    "--yes",
    "--output",
    "json",
    "--no-progress",
    "--report",
    process.env.REMEDIATE_BENCH_REPORT ?? join(dir, "report.html"),
  ]);
  const wall = (performance.now() - started) / 1000;
  if (run.code !== 0)
    throw new Error(`remediate failed:\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
  const { report } = JSON.parse(run.stdout);
  const stats = (await admin("GET", "stats")) as { throttled: number; requests: Record<string, number> };
  const scale = (seconds: number) => seconds * TIME_SCALE;
  const lines: Array<[string, string | number]> = [
    ["resources", manifests.length],
    ["time_scale", TIME_SCALE],
    ["planned_actions", report.plan.total],
    ["floor_seconds_azure", scale(report.plan.floorSeconds).toFixed(1)],
    ["repair_seconds_azure", scale(report.seconds).toFixed(1)],
    ["repair_vs_floor", (report.seconds / report.plan.floorSeconds).toFixed(2)],
    ["command_seconds_azure (plan reads, repair, report)", scale(wall).toFixed(1)],
    ["arm_calls_cli", report.arm.calls],
    ["arm_reads_cli", report.arm.byClass.read],
    ["arm_writes_cli", report.arm.byClass.write],
    ["arm_deletes_cli", report.arm.byClass.delete],
    ["arm_429_cli", report.arm.throttled],
    ["arm_429_emulator", stats.throttled],
    [
      "binding_class",
      [...report.plan.floorByClass].sort(
        (a: { floorSeconds: number }, b: { floorSeconds: number }) => b.floorSeconds - a.floorSeconds,
      )[0]?.class,
    ],
    ["resources_ready", report.resources.filter((r: { state: string }) => r.state === "ready").length],
  ];
  for (const [name, value] of lines) console.log(`${name}: ${value}`);
  agent.destroy();
} finally {
  rmSync(dir, { recursive: true, force: true });
  await arm.close();
}
