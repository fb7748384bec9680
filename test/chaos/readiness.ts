// The controller's /readyz as the Redis scenarios watch it through an outage or a failover.
import type { ControllerProcess } from "../e2e/stack.js";
import { waitUntil } from "../e2e/tenant-move-world.js";

async function isReady(controller: ControllerProcess, probeTimeoutMs: number): Promise<boolean> {
  try {
    return (await fetch(`${controller.metricsUrl}/readyz`, { signal: AbortSignal.timeout(probeTimeoutMs) }))
      .ok;
  } catch {
    return false;
  }
}

/**
 * Polls /readyz until it answers as wanted and resolves with when it did; throws when the process
 * exited or the time is up.
 */
export function readinessBecomes(
  controller: ControllerProcess,
  ready: boolean,
  timeoutMs = 30_000,
  options: { pollMs?: number; probeTimeoutMs?: number } = {},
): Promise<number> {
  return waitUntil(
    `the controller ${ready ? "ready" : "not ready"}`,
    async () => {
      if (controller.child.exitCode !== null || controller.child.signalCode !== null)
        throw new Error(
          `the controller exited (${controller.child.exitCode ?? controller.child.signalCode})`,
        );
      if ((await isReady(controller, options.probeTimeoutMs ?? 5000)) !== ready)
        throw new Error(`readyz is not ${ready}`);
      return Date.now();
    },
    timeoutMs,
    options.pollMs ?? 250,
  );
}
