// The CLI's own log of ARM calls: counts per limit class and per second, and the 429s, for the
// final report and the HTML timeline. Fed by the ARM pipeline with every attempt it sends.
import type { ArmCallRecord } from "../azure/pipeline.js";
import type { LimitClass } from "../plan/actions.js";

export interface TimelinePoint {
  /** Seconds since the log started, in ARM's time: real seconds times the sandbox's time scale. */
  second: number;
  calls: Record<LimitClass, number>;
  /** Calls answered 429, by the classes they count against. */
  throttled: Record<LimitClass, number>;
}

const zero = (): Record<LimitClass, number> => ({
  read: 0,
  write: 0,
  delete: 0,
  identityCreate: 0,
  ficWrite: 0,
});

export interface RequestTotals {
  calls: number;
  byClass: Record<LimitClass, number>;
  throttled: number;
  /** Answers by HTTP status. */
  byStatus: Record<string, number>;
}

const IDENTITY = /\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/i;
const FEDERATED_CREDENTIAL = /\/federatedidentitycredentials\/[^/]+$/i;

/** The limit classes one ARM call counts against (HTTP method, plus the per-operation limits). */
export function limitClassesOf(method: string, url: string, cls: ArmCallRecord["class"]): LimitClass[] {
  const path = new URL(url).pathname;
  const classes: LimitClass[] = [cls];
  if (method === "PUT" && IDENTITY.test(path)) classes.push("identityCreate");
  if ((method === "PUT" || method === "DELETE") && FEDERATED_CREDENTIAL.test(path)) classes.push("ficWrite");
  return classes;
}

export class RequestLog {
  readonly startedAt: number;
  private readonly timeScale: number;
  private readonly points = new Map<number, TimelinePoint>();
  private readonly totalsSoFar: RequestTotals = { calls: 0, byClass: zero(), throttled: 0, byStatus: {} };

  /** `timeScale`: the sandbox's; the timeline is kept in ARM seconds so it compares with ARM's limits. */
  constructor(options: { now?: number; timeScale?: number } = {}) {
    this.startedAt = options.now ?? Date.now();
    this.timeScale = options.timeScale ?? 1;
  }

  /** The ARM second of a moment (epoch ms). */
  secondOf(at: number): number {
    return Math.max(0, Math.floor(((at - this.startedAt) * this.timeScale) / 1000));
  }

  readonly record = (call: ArmCallRecord): void => {
    const second = this.secondOf(call.at);
    let point = this.points.get(second);
    if (!point) {
      point = { second, calls: zero(), throttled: zero() };
      this.points.set(second, point);
    }
    const totals = this.totalsSoFar;
    totals.calls++;
    totals.byStatus[call.status] = (totals.byStatus[call.status] ?? 0) + 1;
    if (call.status === 429) totals.throttled++;
    for (const cls of limitClassesOf(call.method, call.url, call.class)) {
      point.calls[cls]++;
      totals.byClass[cls]++;
      if (call.status === 429) point.throttled[cls]++;
    }
  };

  totals(): RequestTotals {
    return structuredClone(this.totalsSoFar);
  }

  /** One point per ARM second from the start to the last call, seconds without calls included. */
  timeline(): TimelinePoint[] {
    const last = Math.max(-1, ...this.points.keys());
    return Array.from(
      { length: last + 1 },
      (_, second) => this.points.get(second) ?? { second, calls: zero(), throttled: zero() },
    );
  }
}
