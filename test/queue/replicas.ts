import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import type { WorkerMessage, WorkerProcessSettings } from "./fixtures/protocol.js";

const SCRIPT = join(PACKAGE_ROOT, "dist", "test", "queue", "fixtures", "worker-process.js");

export interface RunRecord {
  pid: number;
  key: string;
  start: number;
  end: number | undefined;
  version: number;
  attempt: number;
}

/** Worker processes sharing one queue, and every reconcile they report. */
export class Replicas {
  readonly runs: RunRecord[] = [];
  readonly children: ChildProcess[] = [];
  private readonly open = new Map<string, RunRecord>();

  async spawn(count: number, settings: WorkerProcessSettings): Promise<void> {
    const started = Array.from({ length: count }, () => {
      const child = fork(SCRIPT, [JSON.stringify(settings)], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      this.children.push(child);
      child.on("message", (message: WorkerMessage) => this.record(message));
      return new Promise<void>((resolve, reject) => {
        child.on("message", (message: WorkerMessage) => {
          if (message.type === "ready") resolve();
        });
        child.once("exit", (code) => reject(new Error(`worker process exited early with ${code}`)));
      });
    });
    await Promise.all(started);
  }

  ofKey(key: string): RunRecord[] {
    return this.runs.filter((run) => run.key === key).sort((a, b) => a.start - b.start);
  }

  async kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private record(message: WorkerMessage): void {
    if (message.type === "start") {
      const run: RunRecord = {
        pid: message.pid,
        key: message.key,
        start: message.at,
        end: undefined,
        version: message.version,
        attempt: message.attempt,
      };
      this.runs.push(run);
      this.open.set(`${message.pid}/${message.key}`, run);
    } else if (message.type === "end") {
      const run = this.open.get(`${message.pid}/${message.key}`);
      if (run) run.end = message.at;
      this.open.delete(`${message.pid}/${message.key}`);
    }
  }
}
