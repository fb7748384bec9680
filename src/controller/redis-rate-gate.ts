import type { RateGate, RateGateDecision } from "../azure/rate-gate.js";
import type { LimitCharge } from "../plan/actions.js";
import { ARM_BUCKETS, type Bucket, FIC_WRITES_PER_IDENTITY } from "../plan/limits.js";
import type { TokenBuckets, TokenRequest } from "../queue/index.js";

/**
 * The Azure layer's rate gate on the work queue's token buckets in Redis, so that every replica
 * draws from the same per-subscription buckets, as ARM counts them. Against the sandbox, whose
 * clock runs `timeScale` times faster, the buckets refill that much faster too: azid then paces
 * itself against the emulator exactly as it would against Azure.
 */
export class RedisRateGate implements RateGate {
  constructor(
    private readonly buckets: TokenBuckets,
    private readonly options: { timeScale?: number } = {},
  ) {
    const scale = options.timeScale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError("timeScale must be a positive number");
  }

  async take(charges: readonly LimitCharge[]): Promise<RateGateDecision> {
    if (charges.length === 0) return { granted: true };
    const result = await this.buckets.take(charges.flatMap((charge) => this.requestsOf(charge)));
    if (result.granted) return { granted: true };
    return { granted: false, retryAfterMs: Math.max(1, result.waitMs) };
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
      capacity: limit.burst,
      refillPerSecond: limit.perSecond * (this.options.timeScale ?? 1),
    };
  }
}
