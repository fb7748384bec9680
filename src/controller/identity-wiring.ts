// The Kubernetes side of an identity's reconcile, after Azure's: its ServiceAccounts, exports
// and workload restarts (src/engine/workload-wiring.ts), and the WorkloadsWired condition that
// Ready requires, folded into the status the Azure sync decided.

import { ConditionType, getCondition, Reason, transition } from "../api/conditions.js";
import type { Condition } from "../api/schemas/common.js";
import { type WiredIdentity, wireWorkloads } from "../engine/workload-wiring.js";
import { CONFIG_MAPS, type KubeObject, SECRETS, SERVICE_ACCOUNTS } from "../kube/resources.js";
import { ownWiringWrites, WorkloadObjects } from "../kube/workload-objects.js";
import type { ReconcileContext } from "../queue/index.js";
import type { ControllerRuntime } from "./reconciler.js";

/**
 * The Kubernetes side, after Azure's: the identity's ServiceAccounts, exports and restarts, with
 * the WorkloadsWired condition, which Ready requires, added to the status the sync decided.
 */
export async function wireIdentity(
  runtime: ControllerRuntime,
  current: WiredIdentity,
  status: WiredStatus,
  ctx: ReconcileContext,
): Promise<void> {
  const { caches } = runtime;
  const conditions = status.conditions ?? [];
  const azureReady = conditions.some(
    (condition) => condition.type === ConditionType.Ready && condition.status === "True",
  );
  // ObserveOnly writes nothing, in the cluster either: what is missing is reported, not sent.
  const observeOnly = current.spec.managementPolicy === "ObserveOnly";
  const wiring = await wireWorkloads(
    current,
    {
      clientId: status.clientId,
      principalId: status.principalId,
      tenantId: status.tenantId,
      resourceId: status.resourceId,
    },
    new WorkloadObjects(
      runtime.kube,
      {
        serviceAccounts: caches.of(SERVICE_ACCOUNTS),
        configMaps: caches.of(CONFIG_MAPS),
        secrets: caches.of(SECRETS),
      },
      ownWiringWrites,
    ),
    {
      event: (type, reason, action, note) =>
        runtime.events.record({ regarding: current as unknown as KubeObject, type, reason, action, note }),
      wrote: (kind, outcome) => runtime.metrics.kubeWrites.inc({ kind, outcome }),
    },
    { azureReady, dryRun: observeOnly },
  );
  if (observeOnly && wiring.condition.status === "False") {
    wiring.condition = {
      ...wiring.condition,
      reason: Reason.Drifted,
      message: `${wiring.condition.message} (ObserveOnly: azid writes nothing to the cluster; set managementPolicy Manage to wire them)`,
    };
  }
  if (wiring.writes > 0) ctx.logger.debug({ writes: wiring.writes }, "wired workloads");
  const previous = (current.status as WiredStatus | undefined)?.conditions;
  const stamp = { now: new Date(), generation: (current as unknown as KubeObject).metadata?.generation };
  const decided = conditions.filter((condition) => condition.type !== ConditionType.WorkloadsWired);
  decided.push(transition(getCondition(previous, ConditionType.WorkloadsWired), wiring.condition, stamp));
  if (azureReady && wiring.condition.status === "False" && !observeOnly) {
    // Azure is as declared, but the workloads using the identity do not have what they need.
    // (ObserveOnly reports drift without failing Ready, in the cluster as in Azure.)
    const index = decided.findIndex((condition) => condition.type === ConditionType.Ready);
    decided[index] = transition(
      getCondition(previous, ConditionType.Ready),
      {
        type: ConditionType.Ready,
        status: "False",
        reason: wiring.condition.reason,
        message: wiring.condition.message,
      },
      stamp,
    );
  }
  status.conditions = decided;
  if (wiring.serviceAccounts) status.serviceAccounts = wiring.serviceAccounts;
  else delete status.serviceAccounts;
  if (wiring.exports) status.exports = wiring.exports;
  else delete status.exports;
}

/** The part of an identity's status the wiring reads and writes. */
export interface WiredStatus {
  conditions?: Condition[];
  clientId?: string;
  principalId?: string;
  tenantId?: string;
  resourceId?: string;
  serviceAccounts?: unknown[];
  exports?: unknown[];
}
