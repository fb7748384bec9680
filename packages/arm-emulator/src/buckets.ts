/** A token bucket with lazy refill. Rates are per second of ARM time; `timeScale` speeds the clock up. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly timeScale: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  private refill(now: number): void {
    const elapsedArmSeconds = ((now - this.last) / 1000) * this.timeScale;
    this.tokens = Math.min(this.capacity, this.tokens + elapsedArmSeconds * this.refillPerSecond);
    this.last = now;
  }

  /** Takes one token; answers the tokens left, or the ARM seconds to wait when the bucket is empty. */
  take(now: number): { ok: true; remaining: number } | { ok: false; waitArmSeconds: number } {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, remaining: Math.floor(this.tokens) };
    }
    return { ok: false, waitArmSeconds: (1 - this.tokens) / this.refillPerSecond };
  }

  /** Gives a token back (a request that another bucket refused did not really consume this one). */
  giveBack(): void {
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }
}

export interface BucketLimit {
  capacity: number;
  refillPerSecond: number;
}

/** The documented ARM limits (spec/azure-api/LIMITS.md). */
export const ARM_LIMITS = {
  read: { capacity: 250, refillPerSecond: 25 },
  write: { capacity: 200, refillPerSecond: 10 },
  delete: { capacity: 200, refillPerSecond: 10 },
  /** 80 per 20 s per subscription and region. */
  identityCreate: { capacity: 80, refillPerSecond: 4 },
  /** Federated identity credential writes: 2 per s per subscription... */
  ficWriteSubscription: { capacity: 2, refillPerSecond: 2 },
  /** ...and 0.25 per s per identity. */
  ficWriteIdentity: { capacity: 1, refillPerSecond: 0.25 },
} as const satisfies Record<string, BucketLimit>;

/** The shared subscription limit is 15 times the per-principal one, for bucket size and refill. */
export const GLOBAL_FACTOR = 15;

/** A family of buckets created on first use, keyed by text. */
export class BucketSet {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limit: BucketLimit,
    private readonly timeScale: number,
  ) {}

  get(key: string, now: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.limit.capacity, this.limit.refillPerSecond, this.timeScale, now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  clear(): void {
    this.buckets.clear();
  }
}
