// Crash: a tenant move repaired in Auto mode while the controller is SIGKILLed 20 times at random
// points of the repair (counted in ARM writes), a new process started after each. The end state
// must be exact, and no identity deleted twice (a second delete would mean a principal lost and
// re-created).
import {
  armWrites,
  expectedRepair,
  moveSubscription,
  random,
  type WorldSize,
  waitUntil,
  writeCredentials,
} from "../e2e/tenant-move-world.js";
import { callsTo, describeSize, readyEstate, settle } from "./estate.js";
import { seedFrom } from "./seed.js";
import type { Verdict } from "./verdict.js";

const SIZE: WorldSize = { customRoles: 4, userAssigned: 30, systemAssigned: 8, sharedVms: 8 };
const KILLS = 20;

export async function crash(): Promise<Verdict> {
  const started = Date.now();
  const estate = await readyEstate("crash", SIZE);
  const { stack, world, options } = estate;
  try {
    const seed = seedFrom("CHAOS_SEED");
    const draw = random(seed);
    const planned = expectedRepair(stack, world).length + world.customRoles.length;
    const points = [
      ...new Set(Array.from({ length: KILLS }, () => Math.round(planned * (0.02 + 0.83 * draw())))),
    ].sort((a, b) => a - b);
    while (points.length < KILLS) points.push((points.at(-1) ?? 0) + 1);

    stack.arm.arm.resetStats();
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    for (const point of points) {
      await waitUntil(
        `${point} writes into the repair`,
        async () => {
          if (armWrites(stack) < point) throw new Error(`${armWrites(stack)} writes`);
        },
        180_000,
        25,
      );
      await stack.controllers.at(-1)?.kill("SIGKILL");
      await stack.startController(options);
    }
    const verdict = await settle(estate, "crash", started);
    const deletes = callsTo(stack, "DELETE", "/userAssignedIdentities/{resourceName}");
    const puts = callsTo(stack, "PUT", "/userAssignedIdentities/{resourceName}");
    verdict.duplicates += Math.max(0, deletes - world.userAssigned.length);
    verdict.notes.unshift(
      `size: ${describeSize(SIZE)}; seed ${seed} (CHAOS_SEED replays it)`,
      `${points.length} SIGKILLs at ${points.join(", ")} of ${planned} planned ARM writes; ` +
        `identity DELETEs ${deletes}, PUTs ${puts} for ${world.userAssigned.length} identities; ` +
        `ARM requests ${JSON.stringify(stack.arm.arm.stats().requests)}`,
    );
    return verdict;
  } finally {
    await stack.close();
  }
}
