import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { PACKAGE_ROOT } from "../../util/paths.js";
import { installCrds } from "../demo/install-crds.js";
import { KubeApi } from "../demo/kube-api.js";
import { createSampleAzureResources } from "../demo/sample.js";
import { CliError } from "../exit-codes.js";
import { parseNumber } from "../options.js";
import { type Sandbox, type SandboxInfo, startSandbox } from "../sandbox-stack.js";

export function registerSandboxCommand(program: Command): void {
  program
    .command("sandbox")
    .description(
      "start the ARM and Kubernetes emulators on loopback for local play and tests (not for production), " +
        "with azid's CRDs installed; prints one JSON line (the sandbox file for --sandbox) when ready, " +
        "and on stderr what to do next; " +
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
    .option(
      "--state-dir <dir>",
      "keep state (and the TLS material) in this folder across restarts; without it a temporary " +
        "folder is used and removed when the sandbox exits",
    )
    .option(
      "--host <address>",
      "address to bind (loopback by default); with 0.0.0.0 or :: the URLs written name loopback",
      "127.0.0.1",
    )
    .option(
      "--info-file <path>",
      "also write the JSON line to this file, atomically, once ready (for containers without a shell)",
    )
    .option("--seed", "create a resource group and three VMs to play with (as the portal would)", false)
    .option("--no-arm", "do not start the ARM emulator")
    .option("--no-kube", "do not start the Kubernetes emulator")
    .option("--no-crds", "leave azid's CRDs out of the Kubernetes emulator")
    .action(async (opts) => {
      // The folder holds the emulators' private keys and a kubeconfig: a temporary one goes with the
      // process, however it ends (signals, an error, a normal exit; not SIGKILL).
      const temporary = opts.stateDir === undefined;
      const stateDir: string = opts.stateDir ?? mkdtempSync(join(tmpdir(), "azid-sandbox-"));
      if (temporary) process.on("exit", () => rmSync(stateDir, { recursive: true, force: true }));
      let sandbox: Sandbox;
      try {
        sandbox = await startSandbox({
          host: opts.host,
          armPort: opts.armPort,
          kubePort: opts.kubePort,
          timeScale: opts.timeScale,
          stateDir,
          arm: opts.arm,
          kube: opts.kube,
        });
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        process.stderr.write(`azid: ${error.message}\n`);
        process.exit(error.exitCode);
      }
      // Installed before the sandbox file appears: a controller started on it finds its kinds.
      if (sandbox.info.kube && opts.crds) await installCrds(new KubeApi(sandbox.info.kube));
      const line = `${JSON.stringify(sandbox.info)}\n`;
      const sandboxFile = join(stateDir, "sandbox.json");
      writeFileSync(sandboxFile, line);
      if (opts.infoFile) {
        // Readers poll for the file: they must never see half of it.
        writeFileSync(`${opts.infoFile}.tmp`, line);
        renameSync(`${opts.infoFile}.tmp`, opts.infoFile);
      }
      const seeded =
        opts.seed && sandbox.info.arm && sandbox.info.caFile && sandbox.info.subscriptionId
          ? await createSampleAzureResources(
              { url: sandbox.info.arm, caPem: readFileSync(sandbox.info.caFile, "utf8") },
              sandbox.info.subscriptionId,
            )
          : [];
      // Handlers first: whoever reads the line below may signal at once.
      const stop = async () => {
        if (opts.infoFile) rmSync(opts.infoFile, { force: true });
        await sandbox.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      process.once("SIGHUP", stop);
      process.stderr.write(
        nextSteps(sandbox.info, { sandboxFile, stateDir, temporary, seeded, crds: opts.crds }),
      );
      process.stdout.write(line);
    });
}

/** What a person does next with the sandbox, with its own paths filled in. */
function nextSteps(
  info: SandboxInfo,
  context: { sandboxFile: string; stateDir: string; temporary: boolean; seeded: string[]; crds: boolean },
): string {
  const lines = ["azid sandbox: emulators for local play and tests, not for production", ""];
  if (info.arm) {
    lines.push(
      `  ARM         ${info.arm}  (tenant ${info.tenantId}, subscription ${info.subscriptionId}, time scale ${info.timeScale})`,
    );
  }
  if (info.kube) lines.push(`  Kubernetes  ${info.kube}`);
  lines.push("", "Next, in another terminal:");
  if (info.kubeconfig) {
    lines.push(`  export KUBECONFIG=${info.kubeconfig}`);
    lines.push(
      context.crds
        ? "  kubectl get crds    # azid's CRDs are installed: kubectl apply -f your identities"
        : `  kubectl apply -f ${join(PACKAGE_ROOT, "crds")}    # azid's CRDs (--no-crds left them out)`,
    );
  }
  if (info.arm && info.caFile) {
    lines.push(
      `  curl --cacert ${info.caFile} -H "Authorization: Bearer sandbox" \\`,
      `    "${info.arm}/subscriptions/${info.subscriptionId}/resourcegroups?api-version=2021-04-01"`,
      `  azid plan -f manifests/ --sandbox ${context.sandboxFile}`,
      `  azid controller --sandbox ${context.sandboxFile} --redis-url redis://127.0.0.1:6379   # with redis-server running`,
    );
  }
  if (context.seeded.length > 0) {
    lines.push("", "Seeded in Azure (attach identities to these, grant roles on them):");
    for (const id of context.seeded) lines.push(`  ${id}`);
  }
  lines.push(
    "",
    context.temporary
      ? `Stop it with Ctrl-C: ${context.stateDir} (its private keys, kubeconfig and state) is removed.`
      : `Stop it with Ctrl-C: the state stays in ${context.stateDir}.`,
    "",
  );
  return lines.join("\n");
}
