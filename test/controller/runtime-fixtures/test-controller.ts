// The test reconciler the runtime tests plug into the manager: it reads an identity from the cache,
// "works" a while, writes a Ready condition naming the tag value it saw, and reports the start and
// end of every run so that tests can check ordering, overlap and spread.
import { setTimeout as sleep } from "node:timers/promises";
import type {
  ControllerDefinition,
  ControllerRuntime,
  Reconciler,
} from "../../../src/controller/reconciler.js";
import { identityDependencies } from "../../../src/controller/secondary-watches.js";
import {
  AZID_FINALIZER,
  ensureFinalizer,
  isBeingDeleted,
  removeFinalizer,
} from "../../../src/kube/finalizers.js";
import { AZID_RESOURCES } from "../../../src/kube/resources.js";
import type { ReconcileContext } from "../../../src/queue/index.js";
import type { Identity } from "../../kube/support/cluster.js";

export const IDENTITIES = AZID_RESOURCES.UserAssignedIdentity!;
export const CONTROLLER_NAME = "userassignedidentity";

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one host. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export type RunReport =
  | { type: "start"; pid: number; key: string; at: number; attempt: number; generation?: number }
  | { type: "end"; pid: number; key: string; at: number; outcome: "done" | "gone" | "failed" };

export interface TestControllerOptions {
  report(run: RunReport): void;
  /** How long each reconcile works (ms); default none. */
  workMs?: () => number;
  /** Called inside each reconcile after its start is reported, with what the cache had: may throw, or wait. */
  hook?: (key: string, ctx: ReconcileContext, object: Identity | undefined) => void | Promise<void>;
  /** Watch what identities depend on (namespace labels, IdentityPolicies, CustomRoles), as the real controllers do. */
  watchDependencies?: boolean;
  /** Holds azid's finalizer on the identities and lets them go when deleted, as the real reconcilers do. */
  finalizer?: boolean;
  /** Records an Event for every reconcile. */
  events?: boolean;
  /** Leader duty, if any; it may enqueue through the runtime it is given. */
  whileLeading?: (signal: AbortSignal, runtime: ControllerRuntime) => void | Promise<void>;
}

export function testController(options: TestControllerOptions): ControllerDefinition {
  return {
    name: CONTROLLER_NAME,
    resource: IDENTITIES,
    ...(options.watchDependencies ? identityDependencies(IDENTITIES) : {}),
    setup(runtime) {
      const identities = runtime.caches.of<Identity>(IDENTITIES);
      const reconcile: Reconciler = async (request, ctx) => {
        const object = identities.get(request.namespace, request.name);
        options.report({
          type: "start",
          pid: process.pid,
          key: request.key,
          at: now(),
          attempt: ctx.attempt,
          generation: object?.metadata?.generation,
        });
        let outcome: "done" | "gone" | "failed" = "failed";
        try {
          await options.hook?.(request.key, ctx, object);
          if (!object) {
            outcome = "gone";
            return;
          }
          if (options.finalizer && isBeingDeleted(object)) {
            await removeFinalizer(runtime.kube, IDENTITIES, object, AZID_FINALIZER);
            outcome = "gone";
            return;
          }
          // The finalizer goes on before anything is done for the object (elsewhere: in Azure).
          const current = options.finalizer
            ? await ensureFinalizer(runtime.kube, IDENTITIES, object, AZID_FINALIZER)
            : object;
          if (options.events) {
            runtime.events.record({
              regarding: object,
              type: "Normal",
              reason: "Reconciled",
              action: "Reconcile",
              note: `v=${object.spec.tags?.v ?? ""}`,
            });
          }
          const work = options.workMs?.() ?? 0;
          if (work > 0) await sleep(work, undefined, { signal: ctx.signal });
          await runtime.status.write(IDENTITIES, current, {
            conditions: [
              {
                type: "Ready",
                status: "True",
                reason: "Reconciled",
                message: `v=${object.spec.tags?.v ?? ""}`,
              },
            ],
          });
          outcome = "done";
        } finally {
          options.report({ type: "end", pid: process.pid, key: request.key, at: now(), outcome });
        }
      };
      const duty = options.whileLeading;
      return { reconcile, ...(duty ? { whileLeading: (signal: AbortSignal) => duty(signal, runtime) } : {}) };
    },
  };
}
