// The processes the demo runs beside the sandbox: the machine's redis-server on a free loopback
// port (no persistence, noeviction as azid requires) and `azid controller` as a child process,
// exactly as a platform team would run it. Both are stopped by the demo, whatever happens.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PACKAGE_ROOT } from "../../util/paths.js";
import { CliError } from "../exit-codes.js";

export interface ChildService {
  readonly child: ChildProcess;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on loopback, as the kernel hands it out. */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new CliError("no free loopback port");
  return address.port;
}

function service(child: ChildProcess): ChildService {
  const exited = once(child, "exit");
  return {
    child,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startRedisServer(dir: string): Promise<ChildService & { url: string }> {
  const port = await freeLoopbackPort();
  const args = ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"];
  args.push("--dir", dir, "--maxmemory-policy", "noeviction");
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes("Ready to accept connections")) return;
      child.stdout?.off("data", onData);
      child.stdout?.resume();
      child.off("exit", onExit);
      resolve();
    };
    const onExit = (code: number | null) =>
      reject(new CliError(`redis-server exited with ${code}: ${output.trim()}`));
    child.once("error", (error) =>
      reject(
        new CliError(
          `cannot start redis-server (${error.message}): install it (apt-get install redis-server) or run scripts/demo.sh`,
        ),
      ),
    );
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
  child.stderr?.resume();
  return { ...service(child), url: `redis://127.0.0.1:${port}` };
}

export interface ControllerChildOptions {
  sandboxFile: string;
  redisUrl: string;
  credentialsFile: string;
  logFile: string;
  resyncPeriod: string;
}

/** `azid controller --sandbox FILE` as a child process, its logs in a file; resolves once it is ready. */
export async function startControllerChild(
  options: ControllerChildOptions,
): Promise<ChildService & { metricsUrl: string }> {
  const port = await freeLoopbackPort();
  const args = [
    join(PACKAGE_ROOT, "bin", "azid.js"),
    "controller",
    "--sandbox",
    options.sandboxFile,
    "--redis-url",
    options.redisUrl,
    "--credentials-file",
    options.credentialsFile,
    "--metrics-addr",
    `127.0.0.1:${port}`,
    "--leader-election-namespace",
    "default",
    "--resync-period",
    options.resyncPeriod,
    "--tenant-remediation",
    "Manual",
    "--log-level",
    "info",
  ];
  const log = createWriteStream(options.logFile);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const controller = { ...service(child), metricsUrl: `http://127.0.0.1:${port}` };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new CliError(`azid controller exited with ${child.exitCode}; see ${options.logFile}`);
    }
    try {
      if ((await fetch(`${controller.metricsUrl}/readyz`)).ok) return controller;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await controller.stop();
  throw new CliError(`azid controller did not become ready in 60 s; see ${options.logFile}`);
}
