// Kubernetes faults: a tenant move repaired in Auto mode and two changes of every user-assigned
// identity, while the API server drops every watch every few seconds (abruptly or cleanly),
// forgets its watch history (a re-watch from an older resourceVersion gets 410 Expired), answers
// a share of status writes with 409 Conflict, and refuses connections for 20 s. The second change
// is applied after the outage, so it reaches the controller only through watches re-established
// after it. The faults end once every resource is Ready; Azure must then be exactly as declared.
import { setTimeout as sleep } from "node:timers/promises";
import { moveSubscription, type WorldSize, writeCredentials } from "../e2e/tenant-move-world.js";
import { describeSize, readyEstate, retag, settle } from "./estate.js";
import type { Verdict } from "./verdict.js";

const SIZE: WorldSize = { customRoles: 2, userAssigned: 24, systemAssigned: 6, sharedVms: 6 };
const DROP_EVERY_MS = 3000;
/** Every third drop also forgets the history: the informers' next watch gets 410 Expired. */
const EXPIRE_EVERY = 3;
const STATUS_CONFLICT_RATE = 0.25;
const OUTAGE_MS = 20_000;

export async function kubeFaults(): Promise<Verdict> {
  const started = Date.now();
  const estate = await readyEstate("kube-faults", SIZE);
  const { stack, world } = estate;
  const kube = stack.kube.admin;
  const seen = { drops: 0, dropsWithWatches: 0, watches: 0, expiries: 0 };
  const dropping = setInterval(() => {
    seen.drops++;
    if (seen.drops % EXPIRE_EVERY === 0) {
      kube.compactWatchHistory(1);
      seen.expiries++;
    }
    const dropped = kube.dropWatches({ abrupt: seen.drops % 2 === 0 });
    seen.watches += dropped;
    if (dropped > 0) seen.dropsWithWatches++;
  }, DROP_EVERY_MS);
  const stopFaults = async () => {
    clearInterval(dropping);
    kube.conflictStatusWrites(0);
    kube.compactWatchHistory(10_000);
    await kube.makeAvailable();
  };
  try {
    kube.conflictStatusWrites(STATUS_CONFLICT_RATE);
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    await sleep(4000);
    await stack.apply(...retag(world, "before-outage"));
    await sleep(4000);
    await kube.makeUnavailable({ mode: "refuse", forMs: OUTAGE_MS });
    // Watches come back with the informers' backoff; they are dropped and expired again meanwhile.
    await sleep(OUTAGE_MS + 20_000);
    await stack.apply(...retag(world, "after-outage"));
    const verdict = await settle(estate, "kube-faults", started, stopFaults);
    verdict.notes.unshift(
      `size: ${describeSize(SIZE)}`,
      `watches dropped every ${DROP_EVERY_MS / 1000} s: ${seen.drops} drops, ${seen.dropsWithWatches} found open ` +
        `watches (${seen.watches} in all); history forgotten ${seen.expiries} times (410 Expired on re-watch); ` +
        `${STATUS_CONFLICT_RATE * 100}% of status writes answered 409 (${kube.statusConflicts}); connections refused for ${OUTAGE_MS / 1000} s; ` +
        "a change of every identity before the outage and another after it",
    );
    return verdict;
  } finally {
    await stopFaults();
    await stack.close();
  }
}
