import type { RateGate, RateGateDecision } from "../azure/rate-gate.js";
import type { LimitCharge } from "../plan/actions.js";
import { ARM_BUCKETS, type Bucket, FIC_WRITES_PER_IDENTITY } from "../plan/limits.js";
import type { TokenBuckets, TokenRequest } from "../queue/index.js";

export interface RedisRateGateOptions {
  /** The sandbox's time scale: its buckets refill this many times faster. */
  timeScale?: number;
  /**
   * How long a call may wait for tokens that are about to refill, in line behind the calls that
   * reserved before it; a longer wait refuses the call, and the reconcile is parked instead. A
   * parked reconcile runs again from its reads, so a short wait in place is much cheaper than
   * parking (and keeps callers in order instead of stampeding at each refill). Default 2 s.
   */
  maxWaitMs?: number;
}

const DEFAULT_MAX_WAIT_MS = 2000;

/**
 * The share of each burst azid leaves to ARM. Calls granted here reach ARM a moment later; while
 * they travel, ARM's bucket may be full and lose refill that this one keeps, so pacing at ARM's
 * exact burst earns 429s whenever the calls in flight outnumber the tokens ARM has spare. A bucket
 * 5% smaller (one token of the federated credential's two) keeps that spare at a cost of a few
 * tokens once.
 */
const HEADROOM = 0.05;

/**
 * The Azure layer's rate gate on the work queue's token buckets in Redis, so that every replica
 * draws from the same per-subscription buckets, as ARM counts them. Against the sandbox, whose
 * clock runs `timeScale` times faster, the buckets refill that much faster too: azid then paces
 * itself against the emulator exactly as it would against Azure.
 */
export class RedisRateGate implements RateGate {
  private readonly maxWaitMs: number;

  constructor(
    private readonly buckets: TokenBuckets,
    private readonly options: RedisRateGateOptions = {},
  ) {
    const scale = options.timeScale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError("timeScale must be a positive number");
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  async take(charges: readonly LimitCharge[]): Promise<RateGateDecision> {
    if (charges.length === 0) return { granted: true };
    const result = await this.buckets.take(
      charges.flatMap((charge) => this.requestsOf(charge)),
      { maxWaitMs: this.maxWaitMs },
    );
    if (!result.granted) return { granted: false, retryAfterMs: Math.max(1, result.waitMs) };
    if (result.waitMs) await new Promise((resolve) => setTimeout(resolve, result.waitMs));
    return { granted: true };
  }

  /** The buckets one charge draws from (ARM's: per subscription, per region for identity creation, per identity for FIC writes). */
  requestsOf(charge: LimitCharge): TokenRequest[] {
    const scope = charge.subscriptionId?.toLowerCase() ?? "tenant";
    const region = charge.class === "identityCreate" ? `:${(charge.region ?? "").toLowerCase()}` : "";
    const requests = [this.request(`arm:${scope}:${charge.class}${region}`, ARM_BUCKETS[charge.class])];
    if (charge.class === "ficWrite" && charge.resourceId) {
      requests.push(this.request(`arm:fic:${charge.resourceId.toLowerCase()}`, FIC_WRITES_PER_IDENTITY));
    }
    return requests;
  }

  private request(bucket: string, limit: Bucket): TokenRequest {
    return {
      bucket,
      capacity: Math.max(1, limit.burst - Math.ceil(limit.burst * HEADROOM)),
      refillPerSecond: limit.perSecond * (this.options.timeScale ?? 1),
    };
  }
}
