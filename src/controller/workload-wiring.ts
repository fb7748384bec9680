// Sends what src/plan/workload-wiring.ts plans for one identity: observes its ServiceAccounts and
// exports (from the caches; a GET only where the cache cannot tell), plans, applies, restarts,
// and reports the items, the WorkloadsWired condition and events. Kubernetes failures become a
// Failed item with reason KubernetesError: the Azure side's result is never lost to them.
import { Reason } from "../api/conditions.js";
import type { ExportStatus, ServiceAccountStatus } from "../api/schemas/workload-wiring.js";
import type { KubeClient } from "../kube/client.js";
import { FIELD_MANAGER } from "../kube/client.js";
import type { EventRecorder } from "../kube/events.js";
import {
  CONFIG_MAPS,
  type KubeObject,
  MANAGED_BY_AZID,
  MANAGED_BY_LABEL,
  type ResourceType,
  SECRETS,
  SERVICE_ACCOUNTS,
  WORKLOAD_KINDS,
} from "../kube/resources.js";
import type { Metrics } from "../observability/metrics.js";
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
import type { Caches } from "./reconciler.js";

/** What the wiring reads of an identity: its kind, spec and the ids the Azure side reported. */
export interface WiredIdentity extends KubeObject {
  kind: "UserAssignedIdentity" | "SystemAssignedIdentity";
  spec: {
    serviceAccounts?: { name: string; restartWorkloads?: boolean }[];
    exports?: import("../api/schemas/workload-wiring.js").Exports;
  };
  status?: { serviceAccounts?: ServiceAccountStatus[] };
}

export interface WiringDeps {
  kube: KubeClient;
  caches: Caches;
  events: EventRecorder;
  metrics: Metrics;
  now?: () => Date;
}

export interface WiringOutcome {
  serviceAccounts: ServiceAccountStatus[] | undefined;
  exports: ExportStatus[] | undefined;
  condition: PlannedCondition;
  writes: number;
}

/**
 * Wires the identity into its namespace. `ids` are what this reconcile's Azure sync reported;
 * `azureReady` holds restarts back until the identity works in Azure (restarted pods would fail).
 */
export async function wireWorkloads(
  identity: WiredIdentity,
  ids: WiringIds,
  azureReady: boolean,
  deps: WiringDeps,
): Promise<WiringOutcome> {
  const namespace = identity.metadata?.namespace ?? "";
  const declared = identity.kind === "UserAssignedIdentity" ? (identity.spec.serviceAccounts ?? []) : [];
  const previous = identity.status?.serviceAccounts;
  const fields = EXPORTED_FIELDS[identity.kind];

  const serviceAccounts = new Map<string, ObservedServiceAccount | undefined>();
  for (const { name } of declared) {
    const cached = deps.caches.of(SERVICE_ACCOUNTS).get(namespace, name);
    if (!cached) {
      serviceAccounts.set(name, undefined);
      continue;
    }
    const annotations = cached.metadata?.annotations ?? {};
    const lastSet = previous?.find((entry) => entry.name === name)?.clientId;
    const carried = annotations[CLIENT_ID_ANNOTATION];
    // A value other than the one azid set: who set it is only in managedFields, which the cache drops.
    const suspect =
      lastSet !== undefined && lastSet === ids.clientId && carried !== undefined && carried !== lastSet;
    const manager = suspect ? await annotationManager(deps.kube, namespace, name) : undefined;
    serviceAccounts.set(name, { annotations, ...(manager ? { clientIdManager: manager } : {}) });
  }
  const exports: Partial<Record<ExportKind, ObservedExport>> = {};
  for (const [kind, target] of [
    ["ConfigMap", identity.spec.exports?.configMap],
    ["Secret", identity.spec.exports?.secret],
  ] as const) {
    if (target) exports[kind] = await observeExport(kind, namespace, target.name, identity, deps);
  }

  const plan = planWiring({
    ids,
    fields,
    serviceAccounts: declared,
    exports: identity.spec.exports,
    previous,
    observed: { serviceAccounts, exports },
  });
  for (const item of plan.serviceAccounts) {
    // Repeats of this event fold into one series (the recorder's): once per fight, not per resync.
    if (item.reason === Reason.ServiceAccountConflict) {
      deps.events.record({
        regarding: identity,
        type: "Warning",
        reason: Reason.ServiceAccountConflict,
        action: "WireServiceAccount",
        note: item.entry.message ?? "",
      });
    }
  }
  const saItems = new Map(plan.serviceAccounts.map((item) => [item.entry.name, item]));
  const exportItems = new Map(plan.exports.map((item) => [`${item.entry.kind}/${item.entry.name}`, item]));
  let writes = 0;
  const failed = new Set<string>();
  for (const action of plan.actions) {
    const key = action.kind === "ApplyExport" ? `${action.target}/${action.name}` : serviceAccountOf(action);
    const items = action.kind === "ApplyExport" ? exportItems : saItems;
    const item = items.get(key) as WiringItem<{ state: string; message?: string }>;
    if (failed.has(key)) continue;
    if (action.kind === "RestartWorkloads" && !azureReady) {
      setItem(
        item,
        "Pending",
        Reason.Waiting,
        "workload restart waits for the identity to be Ready in Azure",
      );
      continue;
    }
    try {
      writes += await send(action, identity, namespace, deps, item);
    } catch (error) {
      failed.add(key);
      deps.metrics.kubeWrites.inc({ kind: kindOf(action), outcome: "error" });
      setItem(item, "Failed", Reason.KubernetesError, (error as Error).message);
      deps.events.record({
        regarding: identity,
        type: "Warning",
        reason: "WiringFailed",
        action: action.kind,
        note: (error as Error).message,
      });
    }
  }
  // Items whose actions all succeeded are wired now.
  for (const [key, item] of [...saItems, ...exportItems]) {
    if (failed.has(key) || item.entry.state !== "Pending" || item.reason !== Reason.Progressing) continue;
    setItem(item, "Ready", Reason.Reconciled);
  }
  const items = [...plan.serviceAccounts, ...plan.exports];
  return {
    serviceAccounts:
      identity.kind === "UserAssignedIdentity" && declared.length > 0
        ? plan.serviceAccounts.map((item) => item.entry)
        : undefined,
    exports: plan.exports.length > 0 ? plan.exports.map((item) => item.entry) : undefined,
    condition: wiringCondition(items),
    writes,
  };
}

function serviceAccountOf(action: Exclude<WiringAction, { kind: "ApplyExport" }>): string {
  return action.kind === "ApplyServiceAccount" ? action.name : action.serviceAccount;
}

function kindOf(action: WiringAction): string {
  if (action.kind === "ApplyExport") return action.target;
  return action.kind === "ApplyServiceAccount" ? "ServiceAccount" : "Workload";
}

function setItem(
  item: WiringItem<{ state: string; message?: string }>,
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
  deps: WiringDeps,
  item: WiringItem<{ state: string; message?: string }>,
): Promise<number> {
  const entry = item.entry as ServiceAccountStatus;
  switch (action.kind) {
    case "ApplyServiceAccount": {
      // Forced: azid takes the two annotations when their value is a new one to set; a value set
      // back after that is a fight the planner reports instead of writing again.
      await deps.kube.apply(
        SERVICE_ACCOUNTS,
        namespace,
        action.name,
        { metadata: { annotations: action.annotations } },
        { force: true },
      );
      deps.metrics.kubeWrites.inc({ kind: "ServiceAccount", outcome: "ok" });
      // Until the restart is done, the status remembers that one is owed.
      (item as WiringItem<ServiceAccountStatus>).entry = {
        ...entry,
        clientId: action.annotations[CLIENT_ID_ANNOTATION],
        ...(action.from && action.restartOwed ? { restartPendingFrom: action.from } : {}),
      };
      if (action.from) {
        deps.events.record({
          regarding: identity,
          type: "Normal",
          reason: "ClientIdChanged",
          action: "WireServiceAccount",
          note: `ServiceAccount ${action.name}: client id ${action.from} -> ${action.annotations[CLIENT_ID_ANNOTATION]}`,
        });
      }
      return 1;
    }
    case "RestartWorkloads": {
      const views = (
        await Promise.all(WORKLOAD_KINDS.map((kind) => listWorkloads(deps.kube, kind, namespace)))
      ).flat();
      const restart = workloadsToRestart(views, action.serviceAccount, action.to);
      const now = (deps.now?.() ?? new Date()).toISOString();
      for (const workload of restart) {
        const kind = WORKLOAD_KINDS.find((candidate) => candidate.kind === workload.kind) as ResourceType;
        await deps.kube.mergePatch(kind, namespace, workload.name, restartPatch(action.to, now));
        deps.metrics.kubeWrites.inc({ kind: workload.kind, outcome: "ok" });
      }
      const names = restart.map((workload) => `${workload.kind}/${workload.name}`);
      const { restartPendingFrom: _done, ...entry } = item.entry as ServiceAccountStatus;
      (item as WiringItem<ServiceAccountStatus>).entry = {
        ...entry,
        restartedFor: action.to,
        restarted: names.slice(0, 100),
      };
      if (names.length > 0) {
        deps.events.record({
          regarding: identity,
          type: "Normal",
          reason: "WorkloadsRestarted",
          action: "RestartWorkloads",
          note: `client id of ServiceAccount ${action.serviceAccount} changed from ${action.from} to ${action.to}: restarted ${names.join(", ")}`,
        });
      }
      return restart.length;
    }
    case "ApplyExport": {
      const resource = action.target === "ConfigMap" ? CONFIG_MAPS : SECRETS;
      const data =
        action.target === "Secret"
          ? Object.fromEntries(
              Object.entries(action.data).map(([key, value]) => [key, Buffer.from(value).toString("base64")]),
            )
          : action.data;
      await deps.kube.apply(
        resource,
        namespace,
        action.name,
        {
          metadata: {
            labels: { [MANAGED_BY_LABEL]: MANAGED_BY_AZID },
            ownerReferences: [ownerReference(identity)],
          },
          ...(action.target === "Secret" ? { type: "Opaque" } : {}),
          data,
        } as Omit<KubeObject, "apiVersion" | "kind">,
        { force: true },
      );
      deps.metrics.kubeWrites.inc({ kind: action.target, outcome: "ok" });
      return 1;
    }
  }
}

function ownerReference(identity: WiredIdentity) {
  return {
    apiVersion: identity.apiVersion ?? "azid.dev/v1alpha1",
    kind: identity.kind,
    name: identity.metadata?.name ?? "",
    uid: identity.metadata?.uid ?? "",
    controller: true,
    blockOwnerDeletion: false,
  };
}

function ownedBy(object: KubeObject, identity: WiredIdentity): boolean {
  return (object.metadata?.ownerReferences ?? []).some((owner) => owner.uid === identity.metadata?.uid);
}

/** The export from the cache of azid's exports; a GET only when it is not there (absent, or someone else's). */
async function observeExport(
  kind: ExportKind,
  namespace: string,
  name: string,
  identity: WiredIdentity,
  deps: WiringDeps,
): Promise<ObservedExport> {
  const resource = kind === "ConfigMap" ? CONFIG_MAPS : SECRETS;
  const object =
    deps.caches.of(resource).get(namespace, name) ??
    (await deps.kube.get<KubeObject>(resource, namespace, name));
  if (!object) return { exists: false };
  const raw = ((object as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
  const data =
    kind === "Secret"
      ? Object.fromEntries(
          Object.entries(raw).map(([key, value]) => [key, Buffer.from(value, "base64").toString()]),
        )
      : raw;
  return { exists: true, owned: ownedBy(object, identity), data };
}

/** The field manager owning the ServiceAccount's client-id annotation now (managedFields of a fresh GET). */
async function annotationManager(
  kube: KubeClient,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  const object = await kube.get<KubeObject>(SERVICE_ACCOUNTS, namespace, name).catch(() => undefined);
  const owners = (object?.metadata?.managedFields ?? []).filter((entry) => {
    const annotations = (
      entry.fieldsV1 as { "f:metadata"?: { "f:annotations"?: Record<string, unknown> } } | undefined
    )?.["f:metadata"]?.["f:annotations"];
    return annotations?.[`f:${CLIENT_ID_ANNOTATION}`] !== undefined && entry.manager !== FIELD_MANAGER;
  });
  return owners.map((entry) => entry.manager).join(", ") || undefined;
}

async function listWorkloads(
  kube: KubeClient,
  kind: ResourceType,
  namespace: string,
): Promise<WorkloadView[]> {
  const views: WorkloadView[] = [];
  let next: string | undefined;
  do {
    const page = await kube.list<KubeObject>(kind, { namespace, limit: 500, continue: next });
    for (const object of page.items) {
      const template = (
        object.spec as {
          template?: { metadata?: KubeObject["metadata"]; spec?: { serviceAccountName?: string } };
        }
      )?.template;
      views.push({
        kind: kind.kind,
        name: object.metadata?.name ?? "",
        serviceAccountName: template?.spec?.serviceAccountName || "default",
        podLabels: template?.metadata?.labels ?? {},
        podAnnotations: template?.metadata?.annotations ?? {},
      });
    }
    next = page.continue;
  } while (next);
  return views;
}
