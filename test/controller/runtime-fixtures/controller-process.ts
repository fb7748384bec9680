// A controller replica for the multi-process tests: `azid controller` itself (the same command,
// flags and signal handling) with the test reconciler instead of the production list. It reports
// every run to the parent over IPC.
//   node controller-process.js '<settings JSON>' <azid controller flags>
import { openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import { registerControllerCommand } from "../../../src/cli/commands/controller.js";
import { TEST_TUNING } from "./harness.js";
import { type RunReport, testController } from "./test-controller.js";

export interface ProcessSettings {
  /** Each reconcile works a random time between these (ms). */
  workMs: [number, number];
  lockDurationMs: number;
}

const settings = JSON.parse(process.argv[2] ?? "{}") as ProcessSettings;
const send = (report: RunReport) => process.send?.(report);

/** Exclusive creation of a marker file: true in exactly one process. */
function firstToClaim(marker: string): boolean {
  try {
    openSync(marker, "wx");
    return true;
  } catch {
    return false;
  }
}

const program = new Command().name("azid");
registerControllerCommand(program, {
  controllers: [
    testController({
      report: send,
      workMs: () => settings.workMs[0] + Math.random() * (settings.workMs[1] - settings.workMs[0]),
      hook: async (_key, ctx, object) => {
        const tags = object?.spec.tags ?? {};
        // `stuck: <file>`: the first run anywhere never ends (the parent kills its process).
        if (tags.stuck && firstToClaim(tags.stuck)) await new Promise(() => {});
        // `slow: <ms>`: this object takes that long.
        if (tags.slow) await sleep(Number(tags.slow), undefined, { signal: ctx.signal });
      },
    }),
  ],
  tuning: { ...TEST_TUNING, queue: { ...TEST_TUNING.queue, lockDurationMs: settings.lockDurationMs } },
  shutdownGracePeriodMs: 10_000,
});
await program.parseAsync(["node", "azid", "controller", ...process.argv.slice(3)]);
