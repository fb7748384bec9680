// ARM faults: a tenant move repaired in Auto mode, then a change of every user-assigned identity
// and the deletion of a third of them, while ARM answers 10% of requests with 500, 5% with 429, drops 2% of connections before the
// work and loses 2% of answers after it, with latency spikes, and every identity PATCH a long-running operation (the only one the emulator
// models). The faults end once every resource is Ready; then Azure must be exactly as declared,
// nothing duplicated.
import { setInterval } from "node:timers";
import { setTimeout as sleep } from "node:timers/promises";
import type { FaultRule } from "@azid/arm-emulator/internal/settings.js";
import { moveSubscription, type WorldSize, writeCredentials } from "../e2e/tenant-move-world.js";
import { describeSize, readyEstate, retag, settle } from "./estate.js";
import type { Verdict } from "./verdict.js";

const SIZE: WorldSize = { customRoles: 4, userAssigned: 30, systemAssigned: 8, sharedVms: 8 };
/** 2% of the requests carried out lose their answer too: retries meet what the first attempt did. */
const RULE: FaultRule = {
  errorRate: 0.1,
  errorStatuses: [500],
  throttleRate: 0.05,
  dropRate: 0.02,
  lostResponseRate: 0.02,
};
/** Every 4 s, 1 s of 10 ARM seconds added to every answer (0.5 s at the suite's time scale 20). */
const SPIKE = { everyMs: 4000, forMs: 1000, latencyMs: 10_000 };

export async function armFaults(): Promise<Verdict> {
  const started = Date.now();
  const estate = await readyEstate("arm-faults", SIZE);
  const { stack } = estate;
  const arm = stack.arm.arm;
  const faults = (latencyMs: number) => {
    const rule = { ...RULE, latencyMs };
    arm.setFaults({ read: rule, write: rule, delete: rule });
  };
  let spikes = 0;
  let spikeEnd: NodeJS.Timeout | undefined;
  const spiking = setInterval(() => {
    spikes++;
    faults(SPIKE.latencyMs);
    spikeEnd = setTimeout(() => faults(0), SPIKE.forMs);
  }, SPIKE.everyMs);
  const stopFaults = () => {
    clearInterval(spiking);
    clearTimeout(spikeEnd);
    arm.setFaults({});
    arm.updateSettings({ lro: { enabled: false } });
  };
  try {
    arm.updateSettings({ lro: { enabled: true } });
    faults(0);
    arm.resetStats();
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    await sleep(5000);
    await stack.apply(...retag(estate.world, "arm-faults"));
    // And a third of them deleted: detached, revoked and deleted through the same faults.
    const { world } = estate;
    const doomed = world.userAssigned.filter((_, i) => i % 3 === 2);
    world.userAssigned = world.userAssigned.filter((_, i) => i % 3 !== 2);
    const names = doomed.map((identity) => (identity as { metadata: { name: string } }).metadata.name);
    await stack.must([
      "delete",
      "userassignedidentities.azid.dev",
      ...names,
      "-n",
      world.namespace,
      "--wait=false",
    ]);
    let injected = "";
    const verdict = await settle(estate, "arm-faults", started, () => {
      const stats = arm.stats();
      injected =
        `faults injected: ${stats.faults.errors} 500s, ${stats.faults.throttles} 429s, ` +
        `${stats.faults.drops} dropped connections, ${stats.faults.lost} answers lost after the work, ${spikes} latency spikes, ` +
        `${stats.byStatus["202"] ?? 0} long-running PATCHes (202) in ${JSON.stringify(stats.requests)} ARM requests`;
      stopFaults();
    });
    verdict.notes.unshift(
      `size: ${describeSize(SIZE)}, ${names.length} of the identities deleted under faults; faults on every ARM request class: ${JSON.stringify(RULE)}, ` +
        `spikes of ${SPIKE.latencyMs} ARM ms for ${SPIKE.forMs} ms every ${SPIKE.everyMs} ms, lro on`,
      injected,
    );
    // The deleted identities count as runs too: converged when gone from the cluster and nothing
    // of theirs is left in Azure (anything left would be an undeclared identity or grant above).
    const gone: string[] = [];
    for (const name of names)
      if ((await stack.get("userassignedidentity", name, world.namespace)) === undefined) gone.push(name);
    verdict.runs += names.length;
    if (verdict.duplicates === 0) verdict.converged += gone.length;
    return verdict;
  } finally {
    stopFaults();
    await stack.close();
  }
}
