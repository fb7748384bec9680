// Runs the real clients (Debian's python3-kubernetes, python3-azure and azure-cli) as child
// processes against the emulators. Their check scripts print one JSON line per check; a missing
// client fails the test with what to run (nothing is skipped).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ArmEmulator, startArmEmulator } from "@azid/arm-emulator";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

/** Debian's interpreter: the clients live in its dist-packages, not in a pyenv python first on PATH. */
export const SYSTEM_PYTHON = "/usr/bin/python3";
export const AZ = "/usr/bin/az";
export const CLIENTS_DIR = join(PACKAGE_ROOT, "test", "clients");

const BOOTSTRAP_HINT =
  "run scripts/bootstrap.sh (it installs python3-kubernetes, python3-azure and azure-cli)";

/** Throws, naming the fix, unless /usr/bin/python3 can import every module. */
export function requirePythonModules(...modules: string[]): void {
  if (!existsSync(SYSTEM_PYTHON)) throw new Error(`${SYSTEM_PYTHON} is missing: ${BOOTSTRAP_HINT}`);
  const probe = spawnSync(SYSTEM_PYTHON, ["-c", modules.map((m) => `import ${m}`).join("; ")], {
    encoding: "utf8",
  });
  if (probe.status !== 0)
    throw new Error(
      `${SYSTEM_PYTHON} cannot import ${modules.join(", ")}: ${BOOTSTRAP_HINT}\n${probe.stderr}`,
    );
}

export function requireAz(): void {
  if (!existsSync(AZ)) throw new Error(`${AZ} is missing: ${BOOTSTRAP_HINT}`);
}

export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  seconds?: number;
}

export interface CheckRun {
  checks: CheckResult[];
  code: number | null;
  stderr: string;
}

/** Runs a check script, collecting its JSON lines; kills it after `timeoutMs`. */
export function runChecks(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CheckRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const checks: CheckResult[] = [];
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        const parsed = JSON.parse(line) as CheckResult & { summary?: boolean };
        if (!parsed.summary) checks.push(parsed);
      }
      resolve({ checks, code, stderr });
    });
  });
}

/** A readable account of the failed checks (and the script's stderr when it died). */
export function failures(run: CheckRun): string {
  const failed = run.checks.filter((c) => !c.ok).map((c) => `✖ ${c.check}\n${c.detail}`);
  if (run.code !== 0 && failed.length === 0) failed.push(`exit ${run.code}\n${run.stderr.slice(-4000)}`);
  return failed.join("\n\n");
}

/**
 * An emulator for Python clients: time scale 1, since azure-core for Python reads `Retry-After`
 * only as whole seconds or an HTTP date (the decimal seconds another time scale sends make its
 * LRO poller fail, silently in azure-core 1.26); no throttling and no federated-credential write
 * window, so that the checks take seconds; Compute's long-running PATCH on (1 s), so that
 * clients poll it.
 */
export async function startArm(): Promise<ArmEmulator> {
  const arm = await startArmEmulator({ timeScale: 1 });
  arm.updateSettings({ throttling: false, ficWriteSeconds: 0, lro: { enabled: true, durationSeconds: 1 } });
  return arm;
}
