import type { OperationClass } from "./settings.js";

export type LimitClass = OperationClass | "identityCreate" | "ficWrite";

export interface TimelinePoint {
  /** Seconds since the stats were (re)started. */
  second: number;
  read: number;
  write: number;
  delete: number;
  identityCreate: number;
  ficWrite: number;
  throttled: number;
}

export interface StatsSnapshot {
  since: string;
  requests: Record<OperationClass, number>;
  throttled: number;
  byStatus: Record<string, number>;
  byOperation: Record<string, number>;
  faults: { errors: number; throttles: number; drops: number; delayed: number; lost: number };
  timeline: TimelinePoint[];
}

const TIMELINE_SECONDS = 3600;

/** One answered ARM request, as a request listener sees it. */
export interface RequestRecord {
  /** When the answer was sent (epoch ms). */
  at: number;
  klass: OperationClass;
  method: string;
  /** The concrete path (no query). */
  path: string;
  /** `METHOD template`, as in `byOperation`. */
  operation: string;
  status: number;
}

export type RequestListener = (record: RequestRecord) => void;

/** Request counters of the ARM surface, with a per-second timeline a report can draw. */
export class Stats {
  private started = Date.now();
  private requests: Record<OperationClass, number> = { read: 0, write: 0, delete: 0 };
  private throttled = 0;
  private byStatus: Record<string, number> = {};
  private byOperation: Record<string, number> = {};
  private faults = { errors: 0, throttles: 0, drops: 0, delayed: 0, lost: 0 };
  private timeline = new Map<number, TimelinePoint>();
  private readonly listeners = new Set<RequestListener>();

  /** Calls `listener` for every answered ARM request (benchmarks time the controller's calls with it); answers the unsubscribe. */
  onRequest(listener: RequestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private point(now: number): TimelinePoint {
    const second = Math.floor((now - this.started) / 1000);
    let point = this.timeline.get(second);
    if (!point) {
      point = { second, read: 0, write: 0, delete: 0, identityCreate: 0, ficWrite: 0, throttled: 0 };
      this.timeline.set(second, point);
      if (this.timeline.size > TIMELINE_SECONDS) {
        const oldest = this.timeline.keys().next().value;
        if (oldest !== undefined) this.timeline.delete(oldest);
      }
    }
    return point;
  }

  request(
    klass: OperationClass,
    operation: string,
    status: number,
    now = Date.now(),
    target?: { method: string; path: string },
  ): void {
    this.requests[klass]++;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    this.byOperation[operation] = (this.byOperation[operation] ?? 0) + 1;
    const point = this.point(now);
    point[klass]++;
    if (status === 429) {
      this.throttled++;
      point.throttled++;
    }
    if (target)
      for (const listener of this.listeners)
        listener({ at: now, klass, operation, status, method: target.method, path: target.path });
  }

  /** A request that consumed one of the special buckets (identity creation, federated credential writes). */
  limited(limit: "identityCreate" | "ficWrite", now = Date.now()): void {
    this.point(now)[limit]++;
  }

  fault(kind: "errors" | "throttles" | "drops" | "delayed" | "lost"): void {
    this.faults[kind]++;
  }

  snapshot(): StatsSnapshot {
    return {
      since: new Date(this.started).toISOString(),
      requests: { ...this.requests },
      throttled: this.throttled,
      byStatus: { ...this.byStatus },
      byOperation: { ...this.byOperation },
      faults: { ...this.faults },
      timeline: [...this.timeline.values()].sort((a, b) => a.second - b.second),
    };
  }

  reset(): void {
    this.started = Date.now();
    this.requests = { read: 0, write: 0, delete: 0 };
    this.throttled = 0;
    this.byStatus = {};
    this.byOperation = {};
    this.faults = { errors: 0, throttles: 0, drops: 0, delayed: 0, lost: 0 };
    this.timeline.clear();
  }
}
