import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ArmEmulator, startArmEmulator } from "./arm/index.js";
import { type KubeEmulator, startKubeEmulator } from "./kube/index.js";

export interface SandboxOptions {
  host?: string;
  armPort?: number;
  kubePort?: number;
  timeScale?: number;
  stateDir?: string;
  arm?: boolean;
  kube?: boolean;
}

/** The sandbox file: the one JSON line `azid sandbox` prints, read back with `--sandbox FILE`. */
export interface SandboxInfo {
  arm?: string;
  caFile?: string | null;
  tenantId?: string;
  subscriptionId?: string;
  authorityHost?: string;
  graph?: string;
  timeScale?: number;
  kube?: string;
  kubeconfig?: string;
}

export interface Sandbox {
  readonly info: SandboxInfo;
  readonly arm?: ArmEmulator;
  readonly kube?: KubeEmulator;
  close(): Promise<void>;
}

/** Starts the ARM and Kubernetes emulators (or one of them) on loopback. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), "azid-sandbox-"));
  const arm =
    options.arm === false
      ? undefined
      : await startArmEmulator({
          host: options.host,
          port: options.armPort,
          timeScale: options.timeScale,
          stateDir: subdir(stateDir, "arm"),
        });
  const kube =
    options.kube === false
      ? undefined
      : await startKubeEmulator({
          host: options.host,
          port: options.kubePort,
          stateDir: subdir(stateDir, "kube"),
        });

  const info: SandboxInfo = {};
  if (arm) {
    Object.assign(info, {
      arm: arm.url,
      caFile: arm.caFile,
      tenantId: arm.tenantId,
      subscriptionId: arm.subscriptionId,
      authorityHost: arm.authorityHost,
      graph: arm.graphUrl,
      timeScale: arm.timeScale,
    });
  }
  if (kube) Object.assign(info, { kube: kube.url, kubeconfig: kube.kubeconfigPath });

  return {
    info,
    arm,
    kube,
    async close() {
      await Promise.all([arm?.close(), kube?.close()]);
    },
  };
}

function subdir(parent: string, name: string): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
