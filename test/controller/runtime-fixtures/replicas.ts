// Controller replicas as child processes (`azid controller` with the test reconciler), and the
// runs they report over IPC.
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../../src/util/paths.js";
import { waitFor } from "../../kube/support/cluster.js";
import { freePort } from "../../support/redis.js";
import type { ProcessSettings } from "./controller-process.js";
import { RunLog } from "./harness.js";
import type { RunReport } from "./test-controller.js";

const SCRIPT = join(PACKAGE_ROOT, "dist", "test", "controller", "runtime-fixtures", "controller-process.js");

export interface Replica {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Its POD_NAME: the prefix of its leader election identity. */
  podName: string;
}

export interface SpawnOptions {
  kubeconfig: string;
  redisUrl: string;
  settings: ProcessSettings;
  /** More `azid controller` flags. */
  flags?: string[];
}

export class ControllerReplicas {
  readonly log = new RunLog();
  readonly replicas: Replica[] = [];

  async spawn(count: number, options: SpawnOptions): Promise<Replica[]> {
    const started = await Promise.all(
      Array.from({ length: count }, async () => {
        const port = await freePort();
        const podName = `replica-${this.replicas.length + 1}-${port}`;
        const child = fork(
          SCRIPT,
          [
            JSON.stringify(options.settings),
            `--kubeconfig=${options.kubeconfig}`,
            `--redis-url=${options.redisUrl}`,
            `--metrics-addr=127.0.0.1:${port}`,
            "--leader-election-namespace=default",
            `--log-level=${process.env.AZID_TEST_LOG_LEVEL ?? "fatal"}`,
            ...(options.flags ?? []),
          ],
          { stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, POD_NAME: podName } },
        );
        child.on("message", (report: RunReport) => this.log.record(report));
        const replica: Replica = { child, pid: child.pid!, url: `http://127.0.0.1:${port}`, podName };
        this.replicas.push(replica);
        return replica;
      }),
    );
    await Promise.all(started.map((replica) => this.waitReady(replica)));
    return started;
  }

  async waitReady(replica: Replica): Promise<void> {
    await waitFor(
      async () => {
        if (replica.child.exitCode !== null)
          throw new Error(`replica ${replica.pid} exited with ${replica.child.exitCode}`);
        try {
          return (await fetch(`${replica.url}/readyz`)).status === 200;
        } catch {
          return false;
        }
      },
      `replica ${replica.pid} to be ready`,
      30_000,
      100,
    );
  }

  live(): Replica[] {
    return this.replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  }

  byPid(pid: number): Replica {
    const replica = this.replicas.find((r) => r.pid === pid);
    if (!replica) throw new Error(`no replica ${pid}`);
    return replica;
  }

  /** Sends the signal and waits for the process to exit; returns its exit code (null when killed by the signal). */
  async signal(replica: Replica, signal: NodeJS.Signals): Promise<number | null> {
    const { child } = replica;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill(signal);
    const [code] = await exited;
    return code;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (replica) => {
        const timer = setTimeout(() => replica.child.kill("SIGKILL"), 15_000);
        await this.signal(replica, "SIGTERM");
        clearTimeout(timer);
      }),
    );
  }
}
