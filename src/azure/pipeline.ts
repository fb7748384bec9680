import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { ThrottledError } from "./errors.js";
import { type RateGate, type RequestClass, requestClass, subscriptionOf } from "./rate-gate.js";

export const ARM_GATE_POLICY_NAME = "azidArmGatePolicy";

/** One ARM attempt as it left and came back (a 429 included), for request logs and reports. */
export interface ArmCallRecord {
  method: string;
  url: string;
  class: RequestClass;
  /** Lowercased, when the URL addresses a subscription. */
  subscriptionId?: string;
  status: number;
  /** When the answer arrived (epoch ms). */
  at: number;
}

/**
 * Sits between the SDK's retry policy and the wire, so it sees every attempt:
 * - asks the rate gate before a call leaves (unless the act phase prepaid it) and throws
 *   ThrottledError instead of sending into a full bucket;
 * - turns a 429 into ThrottledError at once, which the SDK's retry strategies let through,
 *   so no worker ever sleeps on Retry-After: the queue parks the key instead;
 * - counts requests and throttles in the metrics, and tells `onCall` about every attempt.
 */
export function armGatePolicy(
  gate: RateGate,
  metrics?: Metrics,
  logger?: Logger,
  onCall?: (record: ArmCallRecord) => void,
): PipelinePolicy {
  return {
    name: ARM_GATE_POLICY_NAME,
    async sendRequest(request, next) {
      const subscription = subscriptionOf(request.url) ?? "none";
      const cls = requestClass(request.method);
      if (subscription !== "none") {
        const decision = await gate.take([{ class: cls, subscriptionId: subscription }]);
        if (!decision.granted) {
          metrics?.armThrottled.inc({ subscription, class: cls, source: "gate" });
          throw new ThrottledError(
            `azid's ${cls} budget for subscription ${subscription} is spent`,
            decision.retryAfterMs,
            "gate",
          );
        }
      }
      const response = await next(request);
      metrics?.armRequests.inc({ subscription, class: cls, code: String(response.status) });
      onCall?.({
        method: request.method,
        url: request.url,
        class: cls,
        ...(subscription !== "none" ? { subscriptionId: subscription } : {}),
        status: response.status,
        at: Date.now(),
      });
      if (response.status === 429) {
        metrics?.armThrottled.inc({ subscription, class: cls, source: "arm" });
        const seconds = Number(response.headers.get("retry-after") ?? "1");
        const retryAfterMs = Number.isFinite(seconds) ? seconds * 1000 : 1000;
        logger?.debug(
          { url: request.url, method: request.method, retryAfterMs },
          "ARM throttled the request",
        );
        throw new ThrottledError(`ARM throttled ${request.method} (${cls})`, retryAfterMs, "arm");
      }
      return response;
    },
  };
}
