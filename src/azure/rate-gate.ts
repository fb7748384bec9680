import type { LimitCharge } from "../plan/actions.js";

/** ARM's throttling classes for a subscription and principal (see spec/azure-api/LIMITS.md). */
export type RequestClass = "read" | "write" | "delete";

export type RateGateDecision = { granted: true } | { granted: false; retryAfterMs: number };

/**
 * Shared pacing of ARM calls per subscription across all replicas (a token bucket in
 * Redis, src/queue/token-bucket.ts). azid asks before it sends, so that a full bucket
 * parks work instead of earning 429s.
 */
export interface RateGate {
  /** One token per charge, from every bucket the charges name, all or nothing. */
  take(charges: readonly LimitCharge[]): Promise<RateGateDecision>;
}

/** A gate that never holds anything back (the CLI against a sandbox without throttling, tests). */
export const OPEN_GATE: RateGate = { take: async () => ({ granted: true }) };

export function requestClass(method: string): RequestClass {
  switch (method.toUpperCase()) {
    case "GET":
    case "HEAD":
      return "read";
    case "DELETE":
      return "delete";
    default:
      return "write";
  }
}

/** The subscription an ARM URL addresses, lowercased, or undefined for tenant-level calls. */
export function subscriptionOf(url: string): string | undefined {
  const match = /\/subscriptions\/([0-9a-fA-F-]{36})(?:[/?]|$)/.exec(new URL(url).pathname + "/");
  return match?.[1]?.toLowerCase();
}
