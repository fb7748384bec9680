// Redis: during a tenant-move repair in Auto mode, Redis is SIGKILLed and started again empty,
// twice; then, during a change of every user-assigned identity, it is paused (SIGSTOP) for 30 s.
// The controller must not crash (the same process runs throughout), must report not-ready while
// Redis is gone, and the estate must converge exactly after each episode.
import { setTimeout as sleep } from "node:timers/promises";
import type { ControllerProcess } from "../e2e/stack.js";
import {
  armWrites,
  expectedRepair,
  moveSubscription,
  type WorldSize,
  waitUntil,
  writeCredentials,
} from "../e2e/tenant-move-world.js";
import { describeSize, readyEstate, retag, settle } from "./estate.js";
import { readinessBecomes } from "./readiness.js";
import type { Verdict } from "./verdict.js";

const SIZE: WorldSize = { customRoles: 2, userAssigned: 20, systemAssigned: 6, sharedVms: 6 };
const PAUSE_MS = 30_000;

export async function redis(): Promise<Verdict> {
  const started = Date.now();
  const estate = await readyEstate("redis", SIZE);
  const { stack, world } = estate;
  const controller = stack.controllers[0] as ControllerProcess;
  const seen: string[] = [];
  try {
    // Two losses of Redis's data during the repair.
    const planned = expectedRepair(stack, world).length + world.customRoles.length;
    stack.arm.arm.resetStats();
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    for (const share of [0.25, 0.6]) {
      const point = Math.round(planned * share);
      await waitUntil(
        `${point} writes into the repair`,
        async () => {
          if (armWrites(stack) < point) throw new Error(`${armWrites(stack)} writes`);
        },
        180_000,
        25,
      );
      await stack.redis.kill();
      await readinessBecomes(controller, false);
      await sleep(2000);
      await stack.redis.restart();
      await readinessBecomes(controller, true, 60_000);
      seen.push(
        `Redis killed at ${armWrites(stack)} of ${planned} planned writes: not-ready reported, ready again`,
      );
    }
    const afterKills = await settle(estate, "redis", started);

    // A change of every identity, with Redis paused as it arrives.
    const retagged = retag(world, "redis-paused");
    stack.redis.pause();
    const pausedAt = Date.now();
    await stack.apply(...retagged);
    await readinessBecomes(controller, false);
    await sleep(Math.max(0, PAUSE_MS - (Date.now() - pausedAt)));
    stack.redis.resume();
    await readinessBecomes(controller, true, 60_000);
    seen.push(
      `Redis paused ${PAUSE_MS / 1000} s during a change of ${retagged.length} identities: not-ready reported, ready again`,
    );
    const afterPause = await settle(estate, "redis", started);
    if (controller.child.exitCode !== null || controller.child.signalCode !== null)
      throw new Error("the controller exited");
    return {
      ...afterPause,
      runs: afterKills.runs + afterPause.runs,
      converged: afterKills.converged + afterPause.converged,
      duplicates: afterKills.duplicates + afterPause.duplicates,
      lost: afterKills.lost + afterPause.lost,
      mismatches: [...afterKills.mismatches, ...afterPause.mismatches],
      notes: [
        `size: ${describeSize(SIZE)}; checked after the two kills and after the pause (runs count both)`,
        ...seen,
        `the same controller process throughout (pid ${controller.child.pid})`,
        ...afterKills.notes.filter((note) => !note.startsWith("controller logs")),
        ...afterPause.notes,
      ],
    };
  } finally {
    stack.redis.resume();
    await stack.close();
  }
}
