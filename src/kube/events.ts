import { randomInt } from "node:crypto";
import { PatchStrategy, setHeaderOptions, V1MicroTime } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.js";
import type { KubeClient } from "./client.js";
import { isNotFound, toKubeError } from "./errors.js";
import type { KubeObject } from "./resources.js";

export const REPORTING_CONTROLLER = "azid.dev/controller";

export interface EventInput {
  /** The object the event is about (its apiVersion, kind, namespace, name and uid are referenced). */
  regarding: KubeObject;
  type: "Normal" | "Warning";
  /** Why, in CamelCase (at most 128 characters). */
  reason: string;
  /** What the controller did or failed to do, in CamelCase (at most 128 characters). */
  action: string;
  /** For humans; cut to 1 KiB, the API's limit. */
  note: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** The pod's name (events.k8s.io's reportingInstance). */
  reportingInstance: string;
  logger: Logger;
  now?: () => Date;
  /** An event seen again within this long of its last occurrence joins its series. Default 6 min, as client-go. */
  seriesWindowMs?: number;
  /** How often a series' count and lastObservedTime are written while it grows. Default 30 s. */
  seriesFlushMs?: number;
  /**
   * Series kept at most, the least recently seen dropped first (written first if it grew): memory
   * stays bounded however many objects azid watches. Default 4096, client-go's LRU size.
   */
  maxSeries?: number;
  /** Per object: new Events allowed at once, and one more per `refillMs` (client-go's spam filter: 25, 5 min). */
  perObjectBurst?: number;
  perObjectRefillMs?: number;
}

interface Series {
  namespace: string;
  /** Undefined until the Event is created. */
  name: string | undefined;
  body: EventBody;
  count: number;
  lastObserved: Date;
  /** The count last written to the API. */
  writtenCount: number;
  /** Writes of this series run one after the other. */
  chain: Promise<void>;
}

/**
 * A core/v1 Event carrying both the fields of the new API (eventTime, action, reporting fields,
 * series) and the legacy ones (firstTimestamp, lastTimestamp, count, source): events.k8s.io/v1
 * refuses the legacy fields on create, and without them `kubectl get events --sort-by=.lastTimestamp`
 * sorts azid's events as the oldest, where nobody looks.
 */
interface EventBody {
  metadata: { name: string; namespace: string };
  involvedObject: Record<string, string | undefined>;
  reason: string;
  message: string;
  type: string;
  action: string;
  eventTime: V1MicroTime;
  reportingComponent: string;
  reportingInstance: string;
  source: { component: string };
  firstTimestamp: Date;
  lastTimestamp: Date;
  count: number;
  series?: { count: number; lastObservedTime: V1MicroTime };
}

interface Allowance {
  tokens: number;
  updated: number;
}

const NOTE_LIMIT = 1024;
const REASON_LIMIT = 128;

/**
 * Records Events as client-go's events recorder does (written through core/v1 so that the legacy
 * fields every kubectl view sorts by are set too): an event identical to
 * a recent one (same object, type, reason, action and note) joins that Event's series, whose
 * count and lastObservedTime are written at most every `seriesFlushMs`, instead of a new Event;
 * and a per-object spam filter drops new Events beyond a small budget, so a hot loop cannot
 * flood the API server. Recording never blocks and never throws.
 */
export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly allowances = new Map<string, Allowance>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => Date;
  private droppedCount = 0;
  private closed = false;

  constructor(private readonly options: EventRecorderOptions) {
    this.now = options.now ?? (() => new Date());
    this.timer = setInterval(() => this.flushSeries(), options.seriesFlushMs ?? 30_000);
    this.timer.unref();
  }

  /** Events refused by the spam filter since start. */
  get dropped(): number {
    return this.droppedCount;
  }

  record(input: EventInput): void {
    if (this.closed) return;
    const now = this.now();
    const key = isomorphicKey(input);
    const existing = this.series.get(key);
    if (existing && now.getTime() - existing.lastObserved.getTime() <= this.windowMs) {
      existing.count++;
      existing.lastObserved = now;
      // The Map's order is the order of last sight: the first entry is the one to evict.
      this.series.delete(key);
      this.series.set(key, existing);
      // client-go writes the second occurrence at once, so a repeating event is visible as such.
      if (existing.count === 2) this.writeSeries(existing);
      return;
    }
    if (!this.allow(objectKey(input.regarding), now.getTime())) {
      this.droppedCount++;
      this.options.logger.debug(
        { reason: input.reason, note: input.note },
        "event dropped by the spam filter",
      );
      return;
    }
    const entry: Series = {
      namespace: input.regarding.metadata?.namespace || "default",
      name: undefined,
      body: this.bodyOf(input, now),
      count: 1,
      lastObserved: now,
      writtenCount: 0,
      chain: Promise.resolve(),
    };
    this.series.delete(key);
    this.series.set(key, entry);
    this.enqueue(entry, () => this.create(entry));
    this.evictBeyond(this.options.maxSeries ?? 4096);
  }

  private evictBeyond(limit: number): void {
    for (const [key, entry] of this.series) {
      if (this.series.size <= limit) return;
      if (entry.count > entry.writtenCount && entry.name !== undefined) this.writeSeries(entry);
      this.series.delete(key);
    }
  }

  /** Writes every series that grew since it was last written, and waits for all writes in flight. */
  async flush(): Promise<void> {
    this.flushSeries();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }

  private get windowMs(): number {
    return this.options.seriesWindowMs ?? 6 * 60_000;
  }

  private flushSeries(): void {
    const now = this.now().getTime();
    for (const [key, entry] of this.series) {
      if (entry.count > entry.writtenCount && entry.name !== undefined) this.writeSeries(entry);
      // A series not seen for a whole window is finished: the next such event starts a new Event.
      if (now - entry.lastObserved.getTime() > this.windowMs) this.series.delete(key);
    }
    for (const [key, allowance] of this.allowances) {
      if (this.refill(allowance, now) >= this.burst) this.allowances.delete(key);
    }
  }

  private writeSeries(entry: Series): void {
    this.enqueue(entry, () => this.patchSeries(entry));
  }

  private enqueue(entry: Series, write: () => Promise<void>): void {
    const next = entry.chain.then(write).catch((err) => {
      this.options.logger.warn({ err, reason: entry.body.reason }, "could not record an event");
    });
    entry.chain = next;
    this.inFlight.add(next);
    next.finally(() => this.inFlight.delete(next));
  }

  private async create(entry: Series, withSeries = false): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const name = eventName(String(entry.body.involvedObject.name), this.now());
      const count = entry.count;
      const body: EventBody = {
        ...entry.body,
        metadata: { name, namespace: entry.namespace },
        ...(withSeries && count > 1 ? this.seriesFields(entry) : {}),
      };
      try {
        await this.options.client.core.createNamespacedEvent({ namespace: entry.namespace, body });
        entry.name = name;
        entry.writtenCount = withSeries ? count : 1;
        return;
      } catch (error) {
        const kubeError = toKubeError(error, "create an event") as { code?: number };
        if (kubeError.code === 409 && attempt < 2) continue;
        throw kubeError;
      }
    }
  }

  private async patchSeries(entry: Series): Promise<void> {
    const count = entry.count;
    if (entry.name === undefined || count <= entry.writtenCount) return;
    try {
      await this.options.client.core.patchNamespacedEvent(
        { name: entry.name, namespace: entry.namespace, body: this.seriesFields(entry) },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      entry.writtenCount = count;
    } catch (error) {
      const kubeError = toKubeError(error, "update an event series");
      // Events expire (an hour by default): a series that outlived its Event starts a new one.
      if (isNotFound(kubeError)) return this.create(entry, true);
      throw kubeError;
    }
  }

  /** What a repeat changes: the series of the new API and the count and last time of the legacy one. */
  private seriesFields(entry: Series): Pick<EventBody, "series" | "count" | "lastTimestamp"> {
    const last = entry.lastObserved.getTime();
    return {
      series: { count: entry.count, lastObservedTime: new V1MicroTime(last) },
      count: entry.count,
      lastTimestamp: new Date(last),
    };
  }

  private bodyOf(input: EventInput, now: Date): EventBody {
    const { regarding } = input;
    return {
      metadata: { name: "", namespace: "" },
      involvedObject: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        namespace: regarding.metadata?.namespace,
        name: regarding.metadata?.name,
        uid: regarding.metadata?.uid,
      },
      reason: input.reason.slice(0, REASON_LIMIT),
      message: input.note.length > NOTE_LIMIT ? `${input.note.slice(0, NOTE_LIMIT - 3)}...` : input.note,
      type: input.type,
      action: input.action.slice(0, REASON_LIMIT),
      eventTime: new V1MicroTime(now.getTime()),
      reportingComponent: REPORTING_CONTROLLER,
      reportingInstance: this.options.reportingInstance,
      source: { component: REPORTING_CONTROLLER },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
  }

  private get burst(): number {
    return this.options.perObjectBurst ?? 25;
  }

  private allow(object: string, now: number): boolean {
    let allowance = this.allowances.get(object);
    if (!allowance) {
      allowance = { tokens: this.burst, updated: now };
      this.allowances.set(object, allowance);
    }
    if (this.refill(allowance, now) < 1) return false;
    allowance.tokens--;
    return true;
  }

  private refill(allowance: Allowance, now: number): number {
    const refillMs = this.options.perObjectRefillMs ?? 5 * 60_000;
    allowance.tokens = Math.min(this.burst, allowance.tokens + (now - allowance.updated) / refillMs);
    allowance.updated = now;
    return allowance.tokens;
  }
}

function isomorphicKey(input: EventInput): string {
  return JSON.stringify([objectKey(input.regarding), input.type, input.reason, input.action, input.note]);
}

function objectKey(object: KubeObject): string {
  const { namespace, name, uid } = object.metadata ?? {};
  return uid ?? `${object.apiVersion}/${object.kind}/${namespace ?? ""}/${name ?? ""}`;
}

/** client-go's `<object name>.<unix nanoseconds in hex>`, with random nanoseconds so replicas do not collide. */
function eventName(objectName: string, now: Date): string {
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(randomInt(1_000_000));
  // Names are at most 253 characters; the suffix takes 16 and the dot one.
  return `${objectName.slice(0, 230)}.${nanos.toString(16)}`;
}
