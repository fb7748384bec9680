// Helpers for suites that need a Kubernetes API: start the emulator, a client-node
// KubeConfig for it, and a kubectl runner (each run with its own --cache-dir, since kubectl
// caches discovery and would not see CRDs created after the cache was filled).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type KubeEmulator, type KubeEmulatorOptions, startKubeEmulator } from "@azid/kube-emulator";
import { KubeConfig } from "@kubernetes/client-node";
import { toolPath } from "./tools.js";

export type { KubeEmulator };

/** Starts an emulator on a free loopback port; close it in `after`. */
export function startTestKube(options: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  return startKubeEmulator({ host: "127.0.0.1", port: 0, ...options });
}

/** A KubeConfig for @kubernetes/client-node, read from the emulator's kubeconfig file. */
export function kubeConfigFor(emulator: KubeEmulator): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(emulator.kubeconfigPath);
  return config;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlRunOptions {
  /** Text written to kubectl's standard input (for `-f -`). */
  input?: string;
  /** Kills kubectl after this long (default 60 s); the result then has code -1. */
  timeoutMs?: number;
}

/** Runs the real kubectl against one emulator. Runs may overlap; dispose() removes the cache dirs. */
export class Kubectl {
  private readonly root = mkdtempSync(join(tmpdir(), "azid-kubectl-"));
  private runs = 0;

  constructor(private readonly kubeconfigPath: string) {}

  run(args: string[], options: KubectlRunOptions = {}): Promise<KubectlResult> {
    const cacheDir = join(this.root, `cache-${this.runs++}`);
    return new Promise((resolve) => {
      const child = execFile(
        toolPath("kubectl"),
        ["--kubeconfig", this.kubeconfigPath, "--cache-dir", cacheDir, ...args],
        {
          timeout: options.timeoutMs ?? 60_000,
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, KUBECONFIG: "" },
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function kubectlFor(emulator: KubeEmulator): Kubectl {
  return new Kubectl(emulator.kubeconfigPath);
}
