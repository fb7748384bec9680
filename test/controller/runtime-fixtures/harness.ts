// Runs the controller in the test process the way `azid controller` runs it (same config
// resolution, same start path), with short timings, and collects what the test reconciler reports.
import { type ControllerFlags, resolveControllerConfig } from "../../../src/config/controller-config.js";
import type { ManagerTuning } from "../../../src/controller/manager.js";
import type { ControllerDefinition } from "../../../src/controller/reconciler.js";
import { type ControllerProcess, startControllerProcess } from "../../../src/controller/run.js";
import { testLogger } from "../../kube/support/cluster.js";
import type { RunReport } from "./test-controller.js";

/** Short timings so that faults play out in seconds. */
export const TEST_TUNING: ManagerTuning = {
  queue: { lockDurationMs: 3000, stalledIntervalMs: 1000, backoff: { baseMs: 20, capMs: 1000 } },
  lease: { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 },
  informerBackoff: { baseMs: 50, capMs: 1000 },
  credentialsPollMs: 200,
  cacheSyncTimeoutMs: 30_000,
  healthTimeoutMs: 1000,
  addRetryMs: 200,
  dutyBackoff: { baseMs: 50, capMs: 1000 },
};

export interface InProcessOptions {
  kubeconfig: string;
  redisUrl: string;
  controllers: readonly ControllerDefinition[];
  flags?: ControllerFlags;
  tuning?: ManagerTuning;
}

export async function startInProcess(options: InProcessOptions): Promise<ControllerProcess> {
  const config = resolveControllerConfig(
    {
      kubeconfig: options.kubeconfig,
      redisUrl: options.redisUrl,
      metricsAddr: "127.0.0.1:0",
      leaderElectionNamespace: "default",
      ...options.flags,
    },
    {},
  );
  const controller = await startControllerProcess({
    config,
    controllers: options.controllers,
    logger: testLogger(),
    tuning: { ...TEST_TUNING, ...options.tuning },
    shutdownGracePeriodMs: 5000,
  });
  await controller.started;
  return controller;
}

/** Every run the test reconcilers reported, by key. */
export class RunLog {
  readonly reports: RunReport[] = [];
  /** When each SIGKILLed process died: its unfinished runs ended then. */
  private readonly killedAt = new Map<number, number>();

  markKilled(pid: number, at: number): void {
    this.killedAt.set(pid, at);
  }

  readonly record = (report: RunReport): void => {
    this.reports.push(report);
  };

  starts(key?: string): Extract<RunReport, { type: "start" }>[] {
    return this.reports.filter(
      (r): r is Extract<RunReport, { type: "start" }> =>
        r.type === "start" && (key === undefined || r.key === key),
    );
  }

  /** Runs as [start, end] intervals per key and process, for the overlap check. */
  intervals(): Map<string, { pid: number; start: number; end: number | undefined }[]> {
    const byKey = new Map<string, { pid: number; start: number; end: number | undefined }[]>();
    const open = new Map<string, { pid: number; start: number; end: number | undefined }>();
    for (const report of this.reports) {
      const id = `${report.pid}/${report.key}`;
      if (report.type === "start") {
        const run = { pid: report.pid, start: report.at, end: this.killedAt.get(report.pid) };
        open.set(id, run);
        const runs = byKey.get(report.key) ?? [];
        runs.push(run);
        byKey.set(report.key, runs);
      } else {
        const run = open.get(id);
        if (run) run.end = report.at;
        open.delete(id);
      }
    }
    return byKey;
  }

  /** Keys two runs of which overlapped in time (whatever processes ran them). */
  overlaps(): string[] {
    const found: string[] = [];
    for (const [key, runs] of this.intervals()) {
      const sorted = [...runs].sort((a, b) => a.start - b.start);
      for (let i = 1; i < sorted.length; i++) {
        const previous = sorted[i - 1]!;
        if (previous.end === undefined || previous.end > sorted[i]!.start) {
          found.push(key);
          break;
        }
      }
    }
    return found;
  }
}
