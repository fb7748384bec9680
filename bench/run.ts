// `npm run bench`: every benchmark of issue 9, one after the other, each in its own process (so one
// benchmark's servers and memory cannot disturb the next), then the figure lines of all of them
// together. `npm run bench -- reaction queue` runs only the benchmarks named.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { PACKAGE_ROOT } from "../src/util/paths.js";

const BENCHMARKS: Record<string, string[]> = {
  remediation: ["remediation_vs_floor", "remediation_429_ratio", "remediation_vs_sequential"],
  "remediation-keyvault": ["remediation_keyvault_vs_floor", "remediation_keyvault_429_ratio"],
  "steady-state": [
    "steady_state_writes_per_identity",
    "steady_state_kube_writes_per_identity",
    "steady_state_reads_per_identity",
  ],
  reaction: ["reaction_p50_ms", "reaction_p99_ms"],
  scale: ["rss_mb_10k", "cold_start_vs_floor"],
  queue: ["noop_reconciles_per_s_1", "noop_reconciles_per_s_3"],
};

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}; known: ${Object.keys(BENCHMARKS).join(", ")}`);
  process.exit(2);
}
const selected = asked.length > 0 ? asked : Object.keys(BENCHMARKS);

/** Runs one benchmark, echoing its output; answers its `name: value` lines and whether it succeeded. */
function run(name: string): Promise<{ lines: Map<string, string>; ok: boolean }> {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, "dist", "bench", `${name}.js`)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = new Map<string, string>();
  createInterface({ input: child.stdout }).on("line", (line) => {
    console.log(`  ${line}`);
    const match = /^([a-z0-9_]+): (.*)$/.exec(line);
    if (match) lines.set(match[1] as string, match[2] as string);
  });
  return new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      if (code !== 0) console.log(`  ${name} failed (${signal ?? `exit ${code}`})`);
      resolve({ lines, ok: code === 0 });
    }),
  );
}

const started = performance.now();
const figures: string[] = [];
let failed = 0;
for (const name of selected) {
  const begun = performance.now();
  console.log(`# ${name}`);
  const { lines, ok } = await run(name);
  if (!ok) failed++;
  console.log(`  ${name} took ${((performance.now() - begun) / 1000).toFixed(0)} s`);
  for (const figure of BENCHMARKS[name] ?? [])
    figures.push(`${figure}: ${lines.get(figure) ?? "not measured"}`);
}
console.log(`# figures (${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
for (const line of figures) console.log(line);
process.exitCode = failed > 0 ? 1 : 0;
