// Kubernetes faults: a tenant move repaired in Auto mode, then a change of every user-assigned
// identity, while the API server drops every watch every few seconds, forgets its watch history
// (a re-watch from an older resourceVersion gets 410 Expired), answers a share of status writes
// with 409 Conflict, and is unavailable (connections refused) for 20 s. The faults end once
// every resource is Ready; Azure must then be exactly as declared.
import { setTimeout as sleep } from "node:timers/promises";
import { moveSubscription, type WorldSize, writeCredentials } from "../e2e/tenant-move-world.js";
import { describeSize, readyEstate, settle } from "./estate.js";
import type { Verdict } from "./verdict.js";

const SIZE: WorldSize = { customRoles: 2, userAssigned: 20, systemAssigned: 6, sharedVms: 6 };
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
  let drops = 0;
  let dropped = 0;
  let expiries = 0;
  const dropping = setInterval(() => {
    drops++;
    if (drops % EXPIRE_EVERY === 0) {
      kube.compactWatchHistory(1);
      expiries++;
    }
    dropped += kube.dropWatches({ abrupt: drops % 2 === 0 });
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
    // A change of every identity while the repair runs, then the API server goes away for 20 s.
    world.userAssigned = world.userAssigned.map((identity) => {
      const copy = structuredClone(identity) as { spec: { tags: Record<string, string> } };
      copy.spec.tags.chaos = "kube-faults";
      return copy;
    });
    await sleep(2000);
    await stack.apply(...world.userAssigned);
    await sleep(2000);
    await kube.makeUnavailable({ mode: "refuse", forMs: OUTAGE_MS });
    await sleep(OUTAGE_MS);
    const verdict = await settle(estate, "kube-faults", started, stopFaults);
    verdict.notes.unshift(
      `size: ${describeSize(SIZE)}; watches dropped every ${DROP_EVERY_MS} ms (${drops} times, ` +
        `${dropped} watches), history forgotten ${expiries} times (410 Expired on re-watch), ` +
        `${STATUS_CONFLICT_RATE * 100}% of status writes answered 409, API server refusing connections ${OUTAGE_MS / 1000} s`,
    );
    return verdict;
  } finally {
    await stopFaults();
    await stack.close();
  }
}
