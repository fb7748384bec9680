// The estate every chaos scenario works on: the tenant-move tests' world (custom roles,
// user-assigned identities with grants, credentials, VM attachments and Graph app roles,
// system-assigned identities) at a size the scenario picks, behind a real controller, and the
// end-state check that turns it into a verdict.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type ControllerOptions, Stack, type StackOptions } from "../e2e/stack.js";
import {
  applyAndWaitReady,
  buildWorld,
  conditionOf,
  declaredNow,
  driftOf,
  identitiesOf,
  provision,
  type World,
  type WorldSize,
  waitUntil,
  writeCredentials,
} from "../e2e/tenant-move-world.js";
import { classify, convergedResources, type Verdict } from "./verdict.js";

export interface Estate {
  stack: Stack;
  world: World;
  options: ControllerOptions;
}

export const describeSize = (size: WorldSize): string =>
  `${size.customRoles} custom roles, ${size.userAssigned} user-assigned identities, ` +
  `${size.systemAssigned} system-assigned identities, ${size.sharedVms} shared VMs`;

/** A stack with the world applied and Ready under one controller (Auto remediation). */
export async function readyEstate(
  namespace: string,
  size: WorldSize,
  options: Partial<ControllerOptions> = {},
  stackOptions: StackOptions = {},
): Promise<Estate> {
  const stack = await Stack.start({ timeScale: 20, ...stackOptions });
  try {
    const world = buildWorld(stack, size, namespace);
    await provision(stack, world);
    const controllerOptions: ControllerOptions = {
      resyncPeriod: "5s",
      tenantRemediation: "Auto",
      credentialsFile: writeCredentials(stack, stack.arm.arm.tenantId),
      ...options,
    };
    await stack.startController(controllerOptions);
    await applyAndWaitReady(stack, world);
    return { stack, world, options: controllerOptions };
  } catch (error) {
    await stack.close().catch(() => undefined);
    throw error;
  }
}

/** The subscription's tenant now, as ARM answers it (asked again while injected faults get in the way). */
export function tenantNow(stack: Stack): Promise<string> {
  return waitUntil(
    "the subscription's tenant",
    async () => {
      const answer = await stack.arm.request(
        "GET",
        `/subscriptions/${stack.subscriptionId}?api-version=2022-12-01`,
      );
      assert.equal(answer.status, 200, answer.text);
      return answer.body.tenantId as string;
    },
    30_000,
    200,
  );
}

/**
 * Waits until every resource of the world has been Ready on its last spec with its identity in
 * the subscription's tenant (each at some moment: under injected faults a resync that fails to
 * read turns Ready off until the next one), and none is being deleted; then calls `settled`
 * (where a scenario ends its faults: the check reads Azure through the same emulator), waits
 * until all are Ready at once, and compares Azure with the declaration.
 */
export async function settle(
  estate: Estate,
  scenario: string,
  started: number,
  settled: () => void | Promise<void> = () => undefined,
  timeoutMs = 300_000,
): Promise<Verdict> {
  const { stack, world } = estate;
  const tenant = await tenantNow(stack);
  const notes: string[] = [];
  let unsettled: string | undefined;
  const seenReady = new Set<string>();
  const allReady = (remember: boolean) => async () => {
    const declared = await declaredNow(stack, world);
    const waiting: string[] = [];
    for (const resource of [...declared.customRoles, ...identitiesOf(declared)]) {
      const { metadata, status } = resource;
      const key = `${resource.kind}/${metadata.name}/${metadata.uid}/${metadata.generation}`;
      const ready = conditionOf(resource, "Ready");
      const now =
        metadata.deletionTimestamp === undefined &&
        ready?.status === "True" &&
        status?.observedGeneration === metadata.generation &&
        (resource.kind === "CustomRole" ||
          (status as { tenantId?: string } | undefined)?.tenantId === tenant);
      if (now && remember) seenReady.add(key);
      if (!(now || (remember && metadata.deletionTimestamp === undefined && seenReady.has(key))))
        waiting.push(`${metadata.name}: ${ready?.message ?? "no Ready condition"}`);
    }
    assert.deepEqual(waiting, []);
  };
  await waitUntil("every resource Ready in the subscription's tenant", allReady(true), timeoutMs).catch(
    (error: Error) => {
      unsettled = `did not settle: ${error.message}`;
    },
  );
  await settled();
  if (!unsettled)
    await waitUntil("every resource Ready at once, faults over", allReady(false), 120_000).catch(
      (error: Error) => {
        unsettled = `did not stay Ready once the faults ended: ${error.message}`;
      },
    );
  const differences = await driftOf(stack, world);
  const declared = await declaredNow(stack, world);
  const resources = [...declared.customRoles, ...identitiesOf(declared)];
  const { duplicates, lost, mismatches } = classify(differences);
  if (unsettled) mismatches.push(unsettled);
  // Only the suite kills controllers: the one running now must still be running.
  const child = stack.controllers.at(-1)?.child;
  if (child && (child.exitCode !== null || child.signalCode !== null))
    mismatches.push(`the controller exited by itself (${child.exitCode ?? child.signalCode})`);
  notes.push(`controller logs: ${logLevels(stack)}`);
  for (const line of differences.slice(0, 20)) notes.push(`difference: ${line}`);
  return {
    scenario,
    runs: world.customRoles.length + world.userAssigned.length + world.systemAssigned.length,
    converged: convergedResources(resources, differences),
    duplicates: duplicates.length,
    lost: lost.length,
    mismatches,
    notes,
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

/** ARM calls the emulator answered for one operation template (every status). */
export function callsTo(stack: Stack, method: string, templateEnd: string): number {
  return Object.entries(stack.arm.arm.stats().byOperation)
    .filter(([operation]) => operation.startsWith(`${method} `) && operation.endsWith(templateEnd))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** Sets the tag `chaos` to `value` on every user-assigned identity of the world; answers them to apply. */
export function retag(world: World, value: string): object[] {
  world.userAssigned = world.userAssigned.map((identity) => {
    const copy = structuredClone(identity) as { spec: { tags: Record<string, string> } };
    copy.spec.tags.chaos = value;
    return copy;
  });
  return world.userAssigned;
}

/**
 * How many lines of each level above info the controllers of the stack logged (pino's JSON
 * lines), with the distinct messages of the errors.
 */
function logLevels(stack: Stack): string {
  const counts = new Map<string, number>();
  const errors = new Set<string>();
  for (const controller of stack.controllers) {
    for (const line of readFileSync(controller.logFile, "utf8").split("\n")) {
      const level = /"level":"(warn|error|fatal)"/.exec(line)?.[1];
      if (!level) continue;
      counts.set(level, (counts.get(level) ?? 0) + 1);
      if (level !== "warn") errors.add(/"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 200));
    }
  }
  const tally = ["warn", "error", "fatal"].map((level) => `${counts.get(level) ?? 0} ${level}`).join(", ");
  return errors.size === 0 ? tally : `${tally} (${[...errors].join("; ")})`;
}
