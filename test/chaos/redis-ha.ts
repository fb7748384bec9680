// Highly available Redis under the controller, during an automatic tenant repair:
// - redis-sentinel: the Sentinel primary is SIGKILLed a quarter into the repair (its replica is
//   promoted; the dead node comes back as the next replica), then the new primary is SIGSTOPped
//   past the sentinels' down-after and failover timeout until they promote again.
// - redis-cluster: the master of azid's slot ({azid}) is SIGKILLed a quarter into the repair and
//   its replica promoted.
// The same controller process runs throughout; it must report not-ready while it has no primary,
// come back by itself, and the estate must end exactly as declared. Each failure's time to
// convergence (every resource Ready with Azure as declared) is reported.
import type { ControllerProcess } from "../e2e/stack.js";
import {
  armWrites,
  expectedRepair,
  moveSubscription,
  type WorldSize,
  waitUntil,
  writeCredentials,
} from "../e2e/tenant-move-world.js";
import {
  type RedisProcess,
  type RedisTopologyUnderTest,
  startRedisCluster,
  startSentinelSet,
} from "../support/redis-ha.js";
import { describeSize, readyEstate, settle } from "./estate.js";
import { readinessBecomes } from "./readiness.js";
import type { Verdict } from "./verdict.js";

const SIZE: WorldSize = { customRoles: 2, userAssigned: 20, systemAssigned: 6, sharedVms: 6 };
/** The sentinels' down-after in this scenario; the pause lasts past it and the failover. */
const DOWN_AFTER_MS = 2000;

/** Failovers take seconds: look often, and do not wait long on one probe. */
const HA_READINESS = { pollMs: 100, probeTimeoutMs: 3000 };

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function writesReach(stack: Parameters<typeof armWrites>[0], point: number): Promise<void> {
  await waitUntil(
    `${point} writes into the repair`,
    async () => {
      if (armWrites(stack) < point) throw new Error(`${armWrites(stack)} writes`);
    },
    180_000,
    25,
  );
}

/** Fails a node; answers what happened and the node that failed (to rejoin before the next failure). */
type Failure = (topology: RedisTopologyUnderTest) => Promise<{ what: string; failed: RedisProcess }>;

async function scenario(
  name: string,
  start: () => Promise<RedisTopologyUnderTest>,
  failures: { share: number; fail: Failure }[],
): Promise<Verdict> {
  const started = Date.now();
  const estate = await readyEstate(name, SIZE, {}, { redisHa: start });
  const { stack, world } = estate;
  const controller = stack.controllers[0] as ControllerProcess;
  const topology = stack.redisHa!;
  const seen: string[] = [];
  try {
    const planned = expectedRepair(stack, world).length + world.customRoles.length;
    stack.arm.arm.resetStats();
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    let firstFailure = 0;
    let lastFailure = 0;
    let toRejoin: RedisProcess | undefined;
    for (const { share, fail } of failures) {
      // The node that failed last comes back as a replica: the next failover's target.
      if (toRejoin) await topology.rejoin(toRejoin);
      await writesReach(stack, Math.round(planned * share));
      const at = armWrites(stack);
      const failedAt = Date.now();
      firstFailure ||= failedAt;
      const failing = fail(topology);
      failing.catch(() => undefined); // awaited below
      const notReadyAt = await readinessBecomes(controller, false, 30_000, HA_READINESS);
      const readyAt = await readinessBecomes(controller, true, 90_000, HA_READINESS);
      const { what, failed } = await failing;
      toRejoin = failed;
      lastFailure = failedAt;
      seen.push(
        `${what} at ${at} of ${planned} planned writes: not-ready after ${seconds(notReadyAt - failedAt)}, ` +
          `ready again after ${seconds(readyAt - failedAt)}`,
      );
    }
    const verdict = await settle(estate, name, started);
    const convergedAt = Date.now();
    const convergedAfter = convergedAt - firstFailure;
    if (controller.child.exitCode !== null || controller.child.signalCode !== null)
      verdict.mismatches.push("the controller exited");
    return {
      ...verdict,
      notes: [
        `size: ${describeSize(SIZE)}; Redis: ${topology.kind}`,
        ...seen,
        `converged (every resource Ready, Azure exactly as declared; an upper bound, the end-state check ` +
          `included) ${seconds(convergedAfter)} after the first failure, ${seconds(convergedAt - lastFailure)} after the last`,
        `the same controller process throughout (pid ${controller.child.pid})`,
        ...verdict.notes,
      ],
    };
  } finally {
    await stack.close();
  }
}

/** Kills the primary and waits until its replica is promoted. */
const killPrimary: Failure = async (topology) => {
  const primary = await topology.primary();
  await primary.kill();
  const promoted = await topology.waitForFailover(primary, 60_000);
  return { what: `primary :${primary.port} SIGKILLed, replica :${promoted.port} promoted`, failed: primary };
};

/** Freezes the primary past the sentinels' down-after and failover, then lets it resume (it is demoted). */
const stopPrimary: Failure = async (topology) => {
  const primary = await topology.primary();
  const stoppedAt = Date.now();
  primary.pause();
  try {
    const promoted = await topology.waitForFailover(primary, 60_000);
    return {
      what: `primary :${primary.port} SIGSTOPped (${seconds(Date.now() - stoppedAt)} until replica :${promoted.port} was promoted)`,
      failed: primary,
    };
  } finally {
    primary.resume();
  }
};

export function redisSentinel(): Promise<Verdict> {
  return scenario("redis-sentinel", () => startSentinelSet({ downAfterMs: DOWN_AFTER_MS }), [
    { share: 0.25, fail: killPrimary },
    { share: 0.6, fail: stopPrimary },
  ]);
}

export function redisCluster(): Promise<Verdict> {
  return scenario("redis-cluster", () => startRedisCluster(), [
    {
      share: 0.25,
      fail: async (topology) => {
        const master = await topology.primary();
        await master.kill();
        const promoted = await topology.waitForFailover(master, 60_000);
        return {
          what: `master :${master.port} of the {azid} slot SIGKILLed, replica :${promoted.port} promoted`,
          failed: master,
        };
      },
    },
  ]);
}
