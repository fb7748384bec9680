// Running the real `azid` binary as a child process against an ARM emulator this test process
// started, with `--sandbox FILE`, and reading Azure back through the emulator's own API.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArmEmulatorOptions } from "@azid/arm-emulator";
import type { StatsSnapshot } from "@azid/arm-emulator/internal/stats.js";
import { stringify } from "yaml";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";

const AZID = join(PACKAGE_ROOT, "bin", "azid.js");

export interface AzidResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliSandbox {
  readonly f: ArmFixture;
  readonly dir: string;
  readonly sandboxFile: string;
  readonly sub: string;
  /** Writes `documents` as one multi-document YAML file in the sandbox's folder. */
  writeManifests(name: string, documents: unknown[]): string;
  writeFile(name: string, text: string): string;
  azid(args: string[], options?: RunOptions): Promise<AzidResult>;
  /**
   * Runs azid on a real pseudo-terminal (util-linux `script`), answering `answer` once the
   * question `prompt` appears; the output is the terminal's (stdout and stderr together).
   */
  azidOnTerminal(args: string[], prompt: RegExp, answer: string): Promise<AzidResult>;
  /** Starts azid and hands back the child, for tests that signal it. */
  spawnAzid(args: string[], options?: RunOptions): ReturnType<typeof spawn>;
  stats(): Promise<StatsSnapshot>;
  close(): Promise<void>;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
}

export async function startCliSandbox(options: ArmEmulatorOptions = {}): Promise<CliSandbox> {
  const f = await startArmFixture(options);
  const dir = mkdtempSync(join(tmpdir(), "azid-cli-"));
  const sandboxFile = join(dir, "sandbox.json");
  writeFileSync(
    sandboxFile,
    `${JSON.stringify({
      arm: f.arm.url,
      caFile: f.arm.caFile,
      tenantId: f.arm.tenantId,
      subscriptionId: f.arm.subscriptionId,
      authorityHost: f.arm.authorityHost,
      graph: f.arm.graphUrl,
      timeScale: f.arm.timeScale,
    })}\n`,
  );
  const spawnAzid = (args: string[], run: RunOptions = {}) =>
    spawn(process.execPath, [AZID, ...args], {
      env: { ...process.env, AZID_LOG_LEVEL: "warn", ...run.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
  const writeFile = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  return {
    f,
    dir,
    sandboxFile,
    sub: f.arm.subscriptionId,
    writeManifests: (name, documents) => writeFile(name, documents.map((d) => stringify(d)).join("---\n")),
    writeFile,
    spawnAzid,
    azid(args, run = {}) {
      return new Promise((resolve, reject) => {
        const child = spawnAzid(args, run);
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (chunk) => {
          stdout += chunk;
        });
        child.stderr?.on("data", (chunk) => {
          stderr += chunk;
        });
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
        child.stdin?.end(run.input ?? "");
      });
    },
    azidOnTerminal(args, prompt, answer) {
      const command = [process.execPath, AZID, ...args]
        .map((word) => `'${word.replace(/'/g, "'\\''")}'`)
        .join(" ");
      return new Promise((resolve, reject) => {
        const child = spawn("script", ["--quiet", "--return", "--command", command, "/dev/null"], {
          env: { ...process.env, AZID_LOG_LEVEL: "warn" },
          stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let answered = false;
        child.stdout?.on("data", (chunk) => {
          stdout += chunk;
          if (!answered && prompt.test(stdout)) {
            answered = true;
            child.stdin?.write(answer);
          }
        });
        child.on("error", reject);
        child.on("close", (code, signal) => {
          child.stdin?.destroy();
          resolve({ code, signal, stdout, stderr: "" });
        });
      });
    },
    async stats() {
      return (await f.admin("GET", "stats")).body;
    },
    async close() {
      rmSync(dir, { recursive: true, force: true });
      await f.close();
    },
  };
}

/** ARM writes (PUT, PATCH, POST) and deletes since the stats were last reset. */
export function armWrites(stats: { requests: { write: number; delete: number } }): number {
  return stats.requests.write + stats.requests.delete;
}
