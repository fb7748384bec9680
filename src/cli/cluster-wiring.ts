// What a cluster needs after `azid apply` (or `azid remediate`) for the identities' workloads:
// the ServiceAccount annotations and export values of spec.serviceAccounts and spec.exports. The
// CLI has no cluster of its own: without --kubeconfig it prints them; with one it applies them
// through the same wiring as the controller (server-side apply under azid's field manager,
// restarts once per changed client id).
import type { ManagedResource } from "../api/managed-resource.js";
import { type WiredIdentity, type WiringPort, wireWorkloads } from "../engine/workload-wiring.js";
import { KubeClient, loadKubeConfig } from "../kube/client.js";
import { WorkloadObjects } from "../kube/workload-objects.js";
import type { WiringAction } from "../plan/workload-wiring.js";
import type { ResourceOutcome } from "./reconcile.js";

export interface ClusterWiring {
  resource: string;
  /** What the cluster needs (without a cluster: everything declared; with one: what differed). */
  actions: WiringAction[];
  /** With a cluster: the WorkloadsWired outcome. */
  wired?: { status: string; reason: string; message: string };
  /** Events the wiring would record on the identity (ClientIdChanged, WorkloadsRestarted, ...). */
  notes: string[];
  /** With a cluster: the workloads restarted for the new client id (Kind/name). */
  restarted: string[];
}

/** A cluster where every ServiceAccount exists bare and no export exists yet: everything is needed. */
const NO_CLUSTER: WiringPort = {
  serviceAccount: async () => ({}),
  clientIdManagers: async () => [],
  exportObject: async () => undefined,
  applyServiceAccount: async () => undefined,
  unwireServiceAccount: async () => undefined,
  applyExport: async () => undefined,
  listWorkloads: async () => [],
  patchWorkload: async () => undefined,
};

function wires(resource: ManagedResource): boolean {
  const spec = resource.spec as { serviceAccounts?: unknown[]; exports?: object };
  return (
    (resource.kind === "UserAssignedIdentity" || resource.kind === "SystemAssignedIdentity") &&
    ((spec.serviceAccounts?.length ?? 0) > 0 || spec.exports !== undefined)
  );
}

/** Plans (and with a kubeconfig, applies) the wiring of every identity that declares some. */
export async function wireCluster(
  outcomes: readonly ResourceOutcome[],
  kubeconfig: string | undefined,
): Promise<ClusterWiring[]> {
  const port = kubeconfig
    ? new WorkloadObjects(new KubeClient(loadKubeConfig({ kubeconfigPath: kubeconfig })))
    : NO_CLUSTER;
  const results: ClusterWiring[] = [];
  for (const outcome of outcomes) {
    if (!wires(outcome.resource)) continue;
    const status = (outcome.status ?? {}) as Record<string, string | undefined>;
    const notes: string[] = [];
    const wiring = await wireWorkloads(
      outcome.resource as unknown as WiredIdentity,
      {
        clientId: status.clientId,
        principalId: status.principalId,
        tenantId: status.tenantId,
        resourceId: status.resourceId,
      },
      port,
      { event: (_type, reason, _action, note) => notes.push(`${reason}: ${note}`), wrote: () => undefined },
      { azureReady: outcome.ready?.status === "True", dryRun: !kubeconfig },
    );
    results.push({
      resource: outcome.key,
      actions: wiring.planned,
      ...(kubeconfig
        ? {
            wired: {
              status: wiring.condition.status,
              reason: wiring.condition.reason,
              message: wiring.condition.message,
            },
          }
        : {}),
      notes,
      restarted: (wiring.serviceAccounts ?? []).flatMap((account) =>
        account.restartedFor === status.clientId ? (account.restarted ?? []) : [],
      ),
    });
  }
  return results;
}

/** The wiring as text: per identity, the annotations and values (and what was applied). */
export function formatClusterWiring(wirings: readonly ClusterWiring[], applied: boolean): string {
  if (wirings.length === 0) return "";
  const lines = [applied ? "Cluster wiring (applied):" : "Cluster wiring (give --kubeconfig to apply it):"];
  for (const wiring of wirings) {
    const namespace = wiring.resource.split("/")[1] ?? "";
    lines.push(
      `  ${wiring.resource}${wiring.wired ? `  ${wiring.wired.reason}: ${wiring.wired.message}` : ""}`,
    );
    for (const action of wiring.actions) {
      if (action.kind === "ApplyServiceAccount") {
        const values = Object.entries(action.annotations).map(([key, value]) => `${key}=${value}`);
        lines.push(`    ServiceAccount ${namespace}/${action.name}: ${values.join(" ")}`);
      } else if (action.kind === "UnwireServiceAccount") {
        lines.push(`    ServiceAccount ${namespace}/${action.name}: remove azid's annotations`);
      } else if (action.kind === "ApplyExport") {
        const values = Object.entries(action.data).map(([key, value]) => `${key}=${value}`);
        lines.push(`    ${action.target} ${namespace}/${action.name}: ${values.join(" ")}`);
      } else {
        lines.push(
          `    restart workload-identity workloads of ServiceAccount ${namespace}/${action.serviceAccount} (client id ${action.from} -> ${action.to})`,
        );
      }
    }
    for (const note of wiring.notes) lines.push(`    ${note}`);
  }
  return lines.join("\n");
}
