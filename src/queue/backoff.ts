/** client-go's ItemExponentialFailureRateLimiter defaults. */
export const DEFAULT_BACKOFF = { baseMs: 5, capMs: 1_000_000 } as const;

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/**
 * The wait before retry number `failures` (1 after the first failure): base * 2^(failures-1), capped.
 * Same curve as client-go: 5 ms, 10 ms, 20 ms ... 1000 s.
 */
export function exponentialBackoffMs(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (!Number.isFinite(failures) || failures < 1) return 0;
  // 2^60 overflows any sane cap already; stop doubling long before floating point gets silly.
  const exponent = Math.min(failures - 1, 60);
  return Math.min(policy.baseMs * 2 ** exponent, policy.capMs);
}
