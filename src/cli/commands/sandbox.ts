import { renameSync, rmSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { CliError } from "../exit-codes.js";
import { parseNumber } from "../options.js";
import { type Sandbox, startSandbox } from "../sandbox-stack.js";

export function registerSandboxCommand(program: Command): void {
  program
    .command("sandbox")
    .description(
      "start the ARM and Kubernetes emulators on loopback for local play and tests (not for production); " +
        "prints one JSON line (the sandbox file for --sandbox) when ready, serves until SIGINT/SIGTERM",
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
    .option("--host <address>", "address to bind (loopback by default)", "127.0.0.1")
    .option(
      "--info-file <path>",
      "also write the JSON line to this file, atomically, once ready (for containers without a shell)",
    )
    .option("--no-arm", "do not start the ARM emulator")
    .option("--no-kube", "do not start the Kubernetes emulator")
    .action(async (opts) => {
      let sandbox: Sandbox;
      try {
        sandbox = await startSandbox({
          host: opts.host,
          armPort: opts.armPort,
          kubePort: opts.kubePort,
          timeScale: opts.timeScale,
          stateDir: opts.stateDir,
          arm: opts.arm,
          kube: opts.kube,
        });
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        process.stderr.write(`azid: ${error.message}\n`);
        process.exit(error.exitCode);
      }
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
