// Leader duties (the tenant sweep) run for as long as the replica leads: one that fails, or ends
// while leading, is started again after an exponential backoff, logged and counted, so that
// tenant-move detection never stays dead until leadership changes.
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { type BackoffPolicy, exponentialBackoffMs } from "../queue/index.js";

const DEFAULT_DUTY_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 60_000 };

export async function keepLeaderDuty(
  controller: string,
  duty: (signal: AbortSignal) => void | Promise<void>,
  signal: AbortSignal,
  options: { logger: Logger; metrics: Metrics; backoff?: BackoffPolicy },
): Promise<void> {
  const { logger, metrics } = options;
  for (let failures = 1; !signal.aborted; failures++) {
    try {
      await duty(signal);
      if (signal.aborted) return;
      logger.warn({ controller }, "a leader duty ended while leading; starting it again");
    } catch (err) {
      if (signal.aborted) return;
      logger.error({ err, controller }, "a leader duty failed; starting it again");
    }
    metrics.leaderDutyRestarts.inc({ controller });
    await abortableDelay(exponentialBackoffMs(failures, options.backoff ?? DEFAULT_DUTY_BACKOFF), signal);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
