// Sends what src/plan/workload-wiring.ts plans for one identity: observes its ServiceAccounts and
// exports through a WiringPort (the controller's reads its caches; the CLI's asks the API server),
// plans, applies, restarts, and reports the items, the WorkloadsWired condition and events.
// Kubernetes failures become a Failed item with reason KubernetesError: the Azure side's result is
// never lost to them. The controller and `azid apply --kubeconfig` share it.
import { Reason } from "../api/conditions.js";
import type { ExportStatus, Exports, ServiceAccountStatus } from "../api/schemas/workload-wiring.js";
import type { PlannedCondition } from "../plan/conditions.js";
import {
  CLIENT_ID_ANNOTATION,
  EXPORTED_FIELDS,
  type ExportKind,
  type ObservedExport,
  type ObservedServiceAccount,
  planWiring,
  restartPatch,
  type WiringAction,
  type WiringIds,
  type WiringItem,
  type WorkloadView,
  wiringCondition,
  workloadsToRestart,
} from "../plan/workload-wiring.js";

/** The identity's reference, for ownerReferences (uid "" when it has none) and the owner annotation. */
export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  key: string;
}

/** The Kubernetes reads and writes the wiring needs (src/kube/workload-objects.ts implements it). */
export interface WiringPort {
  /** The ServiceAccount's annotations, or undefined when it does not exist. */
  serviceAccount(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** The field managers that set the ServiceAccount's client-id annotation, besides azid's. */
  clientIdManagers(namespace: string, name: string): Promise<string[]>;
  /**
   * The export's decoded data and its owners (the uids of its ownerReferences, and the
   * `Kind/namespace/name` azid recorded on it), or undefined when it does not exist.
   */
  exportObject(
    kind: ExportKind,
    namespace: string,
    name: string,
  ): Promise<{ data: Record<string, string>; owners: string[] } | undefined>;
  /** Server-side apply of nothing under azid's field manager: the annotations it owned are removed. */
  unwireServiceAccount(namespace: string, name: string): Promise<void>;
  /** Server-side apply of the two annotations under azid's field manager (forced). */
  applyServiceAccount(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  /**
   * Server-side apply of the export: the data, labelled managed-by=azid, annotated with the
   * owner's `Kind/namespace/name`, and owned by it (ownerReference) when it has a uid (the CLI's
   * identities may exist only as manifests).
   */
  applyExport(
    kind: ExportKind,
    namespace: string,
    name: string,
    data: Record<string, string>,
    owner: OwnerRef,
  ): Promise<void>;
  /** The Deployments, StatefulSets and DaemonSets of the namespace. */
  listWorkloads(namespace: string): Promise<WorkloadView[]>;
  /** A merge patch of one workload (its pod template). */
  patchWorkload(kind: string, namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
}

/** Where the wiring says what it did: events on the identity, and the write counter. */
export interface WiringReporter {
  event(type: "Normal" | "Warning", reason: string, action: string, note: string): void;
  wrote(kind: string, outcome: "ok" | "error"): void;
}

/** What the wiring reads of an identity: its kind, reference, spec and last status. */
export interface WiredIdentity {
  apiVersion?: string;
  kind: "UserAssignedIdentity" | "SystemAssignedIdentity";
  metadata: { name: string; namespace?: string; uid?: string };
  spec: {
    serviceAccounts?: { name: string; restartWorkloads?: boolean }[];
    exports?: Exports;
    managementPolicy?: "Manage" | "ObserveOnly";
  };
  status?: { serviceAccounts?: ServiceAccountStatus[] };
}

export interface WiringOutcome {
  serviceAccounts: ServiceAccountStatus[] | undefined;
  exports: ExportStatus[] | undefined;
  condition: PlannedCondition;
  writes: number;
  /** The actions planned (before they were sent): what the CLI prints. */
  planned: WiringAction[];
}

export interface WiringOptions {
  /** Restarts wait for it: pods restarted before the identity works in Azure would fail. */
  azureReady: boolean;
  /** Plan only (the CLI without a cluster to write to, or a dry run). */
  dryRun?: boolean;
  now?: () => Date;
}

/** Wires the identity into its namespace. `ids` are what the Azure sync reported. */
export async function wireWorkloads(
  identity: WiredIdentity,
  ids: WiringIds,
  port: WiringPort,
  reporter: WiringReporter,
  options: WiringOptions,
): Promise<WiringOutcome> {
  const namespace = identity.metadata.namespace ?? "";
  const declared = identity.kind === "UserAssignedIdentity" ? (identity.spec.serviceAccounts ?? []) : [];
  const previous = identity.status?.serviceAccounts;

  const serviceAccounts = new Map<string, ObservedServiceAccount | undefined>();
  // The declared ones, and those azid wired before and may have to unwire.
  const names = new Set([
    ...declared.map((account) => account.name),
    ...(previous ?? []).filter((entry) => entry.clientId).map((entry) => entry.name),
  ]);
  for (const name of names) {
    const annotations = await port.serviceAccount(namespace, name);
    if (!annotations) {
      serviceAccounts.set(name, undefined);
      continue;
    }
    const lastSet = previous?.find((entry) => entry.name === name)?.clientId;
    const carried = annotations[CLIENT_ID_ANNOTATION];
    // Who set a value other than azid's is only in managedFields, which caches drop: read it then.
    const suspect =
      lastSet !== undefined && lastSet === ids.clientId && carried !== undefined && carried !== lastSet;
    const managers = suspect ? await port.clientIdManagers(namespace, name).catch(() => []) : [];
    serviceAccounts.set(name, {
      annotations,
      ...(managers.length > 0 ? { clientIdManager: managers.join(", ") } : {}),
    });
  }
  const exports: Partial<Record<ExportKind, ObservedExport>> = {};
  for (const [kind, target] of [
    ["ConfigMap", identity.spec.exports?.configMap],
    ["Secret", identity.spec.exports?.secret],
  ] as const) {
    if (!target) continue;
    const found = await port.exportObject(kind, namespace, target.name);
    const owned =
      found !== undefined &&
      (found.owners.includes(ownerKey(identity)) ||
        (identity.metadata.uid !== undefined && found.owners.includes(identity.metadata.uid)));
    exports[kind] = found ? { exists: true, owned, data: found.data } : { exists: false };
  }

  const plan = planWiring({
    ids,
    fields: EXPORTED_FIELDS[identity.kind],
    serviceAccounts: declared,
    exports: identity.spec.exports,
    previous,
    observed: { serviceAccounts, exports },
  });
  for (const item of plan.serviceAccounts) {
    // Repeats of this event fold into one series (the recorder's): once per fight, not per resync.
    if (item.reason === Reason.ServiceAccountConflict) {
      reporter.event(
        "Warning",
        Reason.ServiceAccountConflict,
        "WireServiceAccount",
        item.entry.message ?? "",
      );
    }
  }
  const saItems = new Map(plan.serviceAccounts.map((item) => [item.entry.name, item]));
  const exportItems = new Map(plan.exports.map((item) => [`${item.entry.kind}/${item.entry.name}`, item]));
  let writes = 0;
  const failed = new Set<string>();
  for (const action of options.dryRun ? [] : plan.actions) {
    const key = action.kind === "ApplyExport" ? `${action.target}/${action.name}` : serviceAccountOf(action);
    const item = (action.kind === "ApplyExport" ? exportItems : saItems).get(key) as AnyItem;
    if (failed.has(key)) continue;
    if (action.kind === "RestartWorkloads" && !options.azureReady) {
      setItem(
        item,
        "Pending",
        Reason.Waiting,
        "workload restart waits for the identity to be Ready in Azure",
      );
      continue;
    }
    try {
      writes += await send(action, identity, namespace, port, reporter, item, options);
    } catch (error) {
      failed.add(key);
      reporter.wrote(kindOf(action), "error");
      setItem(item, "Failed", Reason.KubernetesError, (error as Error).message);
      reporter.event("Warning", "WiringFailed", action.kind, (error as Error).message);
    }
  }
  // Items whose actions all succeeded are wired now; those unwired are gone.
  let accounts = plan.serviceAccounts;
  if (!options.dryRun) {
    for (const [key, item] of [...saItems, ...exportItems]) {
      if (failed.has(key) || item.entry.state !== "Pending" || item.reason !== Reason.Progressing) continue;
      setItem(item, "Ready", Reason.Reconciled);
    }
    accounts = accounts.filter((item) => item.entry.state !== "Removing" || failed.has(item.entry.name));
  }
  return {
    serviceAccounts: accounts.length > 0 ? accounts.map((item) => item.entry) : undefined,
    exports: plan.exports.length > 0 ? plan.exports.map((item) => item.entry) : undefined,
    condition: wiringCondition([...accounts, ...plan.exports]),
    writes,
    planned: plan.actions,
  };
}

/** How azid names an export's owner on the export itself: `Kind/namespace/name`. */
export function ownerKey(identity: WiredIdentity): string {
  return `${identity.kind}/${identity.metadata.namespace ?? ""}/${identity.metadata.name}`;
}

type AnyItem = WiringItem<{ state: string; message?: string }>;

function serviceAccountOf(action: Exclude<WiringAction, { kind: "ApplyExport" }>): string {
  return action.kind === "RestartWorkloads" ? action.serviceAccount : action.name;
}

function kindOf(action: WiringAction): string {
  if (action.kind === "ApplyExport") return action.target;
  return action.kind === "RestartWorkloads" ? "Workload" : "ServiceAccount";
}

function setItem(
  item: AnyItem,
  state: "Ready" | "Pending" | "Failed",
  reason: Reason,
  message?: string,
): void {
  const { message: _old, ...entry } = item.entry;
  item.entry = { ...entry, state, ...(message ? { message } : {}) };
  item.reason = reason;
}

/** Sends one action; returns the writes made. */
async function send(
  action: WiringAction,
  identity: WiredIdentity,
  namespace: string,
  port: WiringPort,
  reporter: WiringReporter,
  item: AnyItem,
  options: WiringOptions,
): Promise<number> {
  const accountItem = item as WiringItem<ServiceAccountStatus>;
  switch (action.kind) {
    case "ApplyServiceAccount": {
      // Forced: azid takes the two annotations when their value is a new one to set; a value set
      // back after that is a fight the planner reports instead of writing again.
      await port.applyServiceAccount(namespace, action.name, action.annotations);
      reporter.wrote("ServiceAccount", "ok");
      // Until the restart is done, the status remembers that one is owed.
      accountItem.entry = {
        ...accountItem.entry,
        clientId: action.annotations[CLIENT_ID_ANNOTATION],
        ...(action.from && action.restartOwed ? { restartPendingFrom: action.from } : {}),
      };
      if (action.from) {
        reporter.event(
          "Normal",
          "ClientIdChanged",
          "WireServiceAccount",
          `ServiceAccount ${action.name}: client id ${action.from} -> ${action.annotations[CLIENT_ID_ANNOTATION]}`,
        );
      }
      return 1;
    }
    case "UnwireServiceAccount": {
      await port.unwireServiceAccount(namespace, action.name);
      reporter.wrote("ServiceAccount", "ok");
      reporter.event(
        "Normal",
        "ServiceAccountUnwired",
        "UnwireServiceAccount",
        `ServiceAccount ${action.name} is no longer in spec.serviceAccounts: azid removed its client-id and tenant-id annotations`,
      );
      return 1;
    }
    case "RestartWorkloads": {
      const restart = workloadsToRestart(
        await port.listWorkloads(namespace),
        action.serviceAccount,
        action.to,
      );
      const now = (options.now?.() ?? new Date()).toISOString();
      for (const workload of restart) {
        await port.patchWorkload(workload.kind, namespace, workload.name, restartPatch(action.to, now));
        reporter.wrote(workload.kind, "ok");
      }
      const names = restart.map((workload) => `${workload.kind}/${workload.name}`);
      const { restartPendingFrom: _done, ...entry } = accountItem.entry;
      accountItem.entry = { ...entry, restartedFor: action.to, restarted: names.slice(0, 100) };
      if (names.length > 0) {
        reporter.event(
          "Normal",
          "WorkloadsRestarted",
          "RestartWorkloads",
          `client id of ServiceAccount ${action.serviceAccount} changed from ${action.from} to ${action.to}: ` +
            `restarted ${names.join(", ")}`,
        );
      }
      return restart.length;
    }
    case "ApplyExport": {
      await port.applyExport(action.target, namespace, action.name, action.data, {
        apiVersion: identity.apiVersion ?? "azid.dev/v1alpha1",
        kind: identity.kind,
        name: identity.metadata.name,
        uid: identity.metadata.uid ?? "",
        key: ownerKey(identity),
      });
      reporter.wrote(action.target, "ok");
      return 1;
    }
  }
}
