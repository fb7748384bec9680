// The CLI's rate gate: ARM's documented token buckets kept in this process. A pipeline run has
// no work queue to park a throttled call in, so this gate makes the caller wait for its turn
// instead of refusing it; with many calls in flight the busiest bucket stays busy and no call
// is sent into an empty one. (The controller shares its buckets between replicas in Redis.)
import type { LimitCharge, LimitClass } from "../plan/actions.js";
import { ARM_BUCKETS, type Bucket, FIC_WRITES_PER_IDENTITY } from "../plan/limits.js";
import type { RateGate, RateGateDecision } from "./rate-gate.js";

export interface LocalRateGateOptions {
  /**
   * The sandbox's time scale: refill runs this many times faster, bursts stay the same, so a
   * run paces itself against the emulator as it would against Azure.
   */
  timeScale?: number;
  buckets?: Readonly<Record<LimitClass, Bucket>>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * One bucket as a generic cell rate algorithm: `theoreticalArrival` is when the bucket would be
 * full again if nothing else came; a call may go once that time is less than a burst ahead.
 */
interface Cell {
  intervalMs: number;
  toleranceMs: number;
  theoreticalArrival: number;
}

export class LocalRateGate implements RateGate {
  private readonly cells = new Map<string, Cell>();
  private readonly timeScale: number;
  private readonly buckets: Readonly<Record<LimitClass, Bucket>>;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private waitedMs = 0;

  constructor(options: LocalRateGateOptions = {}) {
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0)) throw new RangeError("timeScale must be positive");
    this.buckets = options.buckets ?? ARM_BUCKETS;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Waits until every bucket the charges name has a token, takes them all, and grants. */
  async take(charges: readonly LimitCharge[]): Promise<RateGateDecision> {
    const waitMs = this.reserve(charges);
    if (waitMs > 0) {
      this.waitedMs += waitMs;
      await this.sleep(waitMs);
    }
    return { granted: true };
  }

  /** Total time callers were held back, in milliseconds (for reports). */
  get totalWaitMs(): number {
    return this.waitedMs;
  }

  /**
   * Reserves one token in each bucket at the earliest moment all have one, and returns how long
   * from now that is. Reserving at once (rather than after the wait) keeps callers in order.
   */
  reserve(charges: readonly LimitCharge[]): number {
    const now = this.now();
    const cells = charges.flatMap((charge) => this.cellsOf(charge));
    let startAt = now;
    for (const cell of cells) {
      startAt = Math.max(startAt, cell.theoreticalArrival - cell.toleranceMs);
    }
    for (const cell of cells) {
      cell.theoreticalArrival = Math.max(cell.theoreticalArrival, startAt) + cell.intervalMs;
    }
    return startAt - now;
  }

  private cellsOf(charge: LimitCharge): Cell[] {
    const subscription = charge.subscriptionId?.toLowerCase() ?? "tenant";
    const cells = [
      this.cell(
        `${charge.class}|${subscription}|${charge.region?.toLowerCase() ?? ""}`,
        this.buckets[charge.class],
      ),
    ];
    if (charge.class === "ficWrite" && charge.resourceId) {
      cells.push(this.cell(`ficWrite|identity|${charge.resourceId.toLowerCase()}`, FIC_WRITES_PER_IDENTITY));
    }
    return cells;
  }

  private cell(key: string, bucket: Bucket): Cell {
    let cell = this.cells.get(key);
    if (!cell) {
      const intervalMs = 1000 / (bucket.perSecond * this.timeScale);
      cell = {
        intervalMs,
        toleranceMs: (bucket.burst - 1) * intervalMs,
        theoreticalArrival: this.now(),
      };
      this.cells.set(key, cell);
    }
    return cell;
  }
}
