import { renameSync, rmSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { installCrds } from "../demo/install-crds.js";
import { KubeApi } from "../demo/kube-api.js";
import { CliError, EXIT } from "../exit-codes.js";
import { parseNumber } from "../options.js";

/**
 * The emulators, loaded only when `azid sandbox` or `azid demo` runs: the product image ships
 * without them, and every other command must work there.
 */
export async function loadSandbox(): Promise<typeof import("../../sandbox/index.js")> {
  try {
    return await import("../../sandbox/index.js");
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new CliError(
      "this installation of azid has no ARM and Kubernetes emulators (the product image leaves them out): " +
        "run azid sandbox and azid demo from the image's sandbox target (docker build --target sandbox) " +
        "or from a source checkout",
      EXIT.error,
    );
  }
}

export function registerSandboxCommand(program: Command): void {
  program
    .command("sandbox")
    .description(
      "start the ARM and Kubernetes emulators on loopback for local play and tests (not for production), " +
        "with azid's CRDs installed; prints one JSON line (the sandbox file for --sandbox) when ready, " +
        "serves until SIGINT/SIGTERM",
    )
    .option("--arm-port <n>", "ARM emulator port (0 = a free port)", parseNumber, 0)
    .option("--kube-port <n>", "Kubernetes emulator port (0 = a free port)", parseNumber, 0)
    .option(
      "--time-scale <x>",
      "speed-up of throttling refill, Retry-After, latency and LROs",
      parseNumber,
      1,
    )
    .option("--state-dir <dir>", "keep state (and the TLS material) in this folder across restarts")
    .option(
      "--host <address>",
      "address to bind (loopback by default); with 0.0.0.0 or :: the URLs written name loopback",
      "127.0.0.1",
    )
    .option(
      "--info-file <path>",
      "also write the JSON line to this file, atomically, once ready (for containers without a shell)",
    )
    .option("--no-arm", "do not start the ARM emulator")
    .option("--no-kube", "do not start the Kubernetes emulator")
    .option("--no-crds", "leave azid's CRDs out of the Kubernetes emulator")
    .action(async (opts) => {
      const loaded = await loadSandbox().catch((error: unknown) => {
        if (!(error instanceof CliError)) throw error;
        process.stderr.write(`azid sandbox: ${error.message}\n`);
        process.exit(error.exitCode);
      });
      const { startSandbox } = loaded;
      const sandbox = await startSandbox({
        host: opts.host,
        armPort: opts.armPort,
        kubePort: opts.kubePort,
        timeScale: opts.timeScale,
        stateDir: opts.stateDir,
        arm: opts.arm,
        kube: opts.kube,
      });
      // Installed before the sandbox file appears: a controller started on it finds its kinds.
      if (sandbox.info.kube && opts.crds) await installCrds(new KubeApi(sandbox.info.kube));
      process.stderr.write("azid sandbox: emulators for local play and tests, not for production\n");
      const line = `${JSON.stringify(sandbox.info)}\n`;
      if (opts.infoFile) {
        // Readers poll for the file: they must never see half of it.
        writeFileSync(`${opts.infoFile}.tmp`, line);
        renameSync(`${opts.infoFile}.tmp`, opts.infoFile);
      }
      process.stdout.write(line);
      const stop = async () => {
        if (opts.infoFile) rmSync(opts.infoFile, { force: true });
        await sandbox.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
