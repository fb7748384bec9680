// The sandbox of `azid sandbox` and `azid demo`: the ARM and Kubernetes API emulators, which are
// packages of their own (packages/arm-emulator, packages/kube-emulator) and dev dependencies of
// azid. They are imported here, lazily, and nowhere else in src/: an installation without them (the
// controller image, `npm ci --omit=dev`) runs every other command and says what `azid sandbox` needs.
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError } from "./exit-codes.js";

// Types taken from the dynamic imports: the architecture check (dependency-cruiser with swc) cannot
// tell `import type` from a value import, so a static one would break its rule of lazy loading.
type ArmEmulatorPackage = typeof import("@azid/arm-emulator");
type KubeEmulatorPackage = typeof import("@azid/kube-emulator");
type ArmEmulator = Awaited<ReturnType<ArmEmulatorPackage["startArmEmulator"]>>;
type KubeEmulator = Awaited<ReturnType<KubeEmulatorPackage["startKubeEmulator"]>>;

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

const EMULATOR_PACKAGES = ["@azid/arm-emulator", "@azid/kube-emulator"];

/** Loads one emulator package, or explains that this installation does not carry it. */
async function loadEmulator<Module>(load: () => Promise<Module>): Promise<Module> {
  try {
    return await load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw error;
    if (!EMULATOR_PACKAGES.some((name) => (error as Error).message.includes(name))) throw error;
    throw new CliError(
      `the sandbox needs the emulator packages ${EMULATOR_PACKAGES.join(" and ")}, which this ` +
        "installation leaves out (the controller image and `npm ci --omit=dev` carry only the " +
        "product): run azid from a source checkout after `npm ci` (it installs the packages/ " +
        "workspaces), e.g. `scripts/sandbox.sh`",
    );
  }
}

/** Starts the ARM and Kubernetes emulators (or one of them) on loopback. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const { startArmEmulator } =
    options.arm === false
      ? { startArmEmulator: undefined }
      : await loadEmulator(() => import("@azid/arm-emulator"));
  const { startKubeEmulator } =
    options.kube === false
      ? { startKubeEmulator: undefined }
      : await loadEmulator(() => import("@azid/kube-emulator"));
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), "azid-sandbox-"));
  const arm = !startArmEmulator
    ? undefined
    : await startArmEmulator({
        host: options.host,
        port: options.armPort,
        timeScale: options.timeScale,
        stateDir: subdir(stateDir, "arm"),
      });
  const kube = !startKubeEmulator
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
