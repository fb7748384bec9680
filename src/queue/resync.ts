import type { Queue } from "bullmq";
import type { ResyncOptions } from "./types.js";

/** The one job scheduler per queue whose jobs fan every known key out through the normal add path. */
export const RESYNC_SCHEDULER_ID = "resync";
export const RESYNC_JOB = "resync";

const FAN_OUT_BATCH = 500;

/**
 * Creates or updates the queue's single resync scheduler (idempotent: every replica may call it,
 * and an unchanged period keeps the next run where it was), or removes it when resync is off.
 *
 * Where it has to create the scheduler, its first run is a period away when the caller is a
 * starting replica, whose informers' initial lists add every key anyway (a run at once would
 * reconcile everything twice), and at once when Redis came back without its data while the
 * informers went on: then nothing else brings back the keys that were queued.
 */
export async function ensureResyncScheduler(
  queue: Queue,
  periodMs: number | undefined,
  firstRun: "now" | "after-a-period",
): Promise<void> {
  if (periodMs === undefined) {
    await queue.removeJobScheduler(RESYNC_SCHEDULER_ID);
    return;
  }
  await queue.upsertJobScheduler(
    RESYNC_SCHEDULER_ID,
    firstRun === "now" ? { every: periodMs } : { every: periodMs, startDate: Date.now() + periodMs },
    { name: RESYNC_JOB, data: {}, opts: { removeOnComplete: true, removeOnFail: true } },
  );
}

/** Hands every key from `listKeys` to `addBatch`, in batches; returns how many keys it saw. */
export async function fanOutKeys(
  listKeys: ResyncOptions["listKeys"],
  addBatch: (keys: string[]) => Promise<void>,
): Promise<number> {
  let batch: string[] = [];
  let count = 0;
  for await (const key of await listKeys()) {
    batch.push(key);
    count++;
    if (batch.length >= FAN_OUT_BATCH) {
      await addBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await addBatch(batch);
  return count;
}
