// The Kubernetes side of an identity, planned without I/O: from the identity's ids (its status),
// its spec.serviceAccounts and spec.exports, what azid recorded last time and the objects it
// observes, which ServiceAccounts to annotate, which exports to write and which workloads to
// restart. Nothing is planned when the cluster already holds it: the steady state writes nothing.
import { ConditionType, Reason } from "../api/conditions.js";
import type { ItemState } from "../api/schemas/common.js";
import type {
  ExportKeys,
  ExportStatus,
  Exports,
  ServiceAccountSpec,
  ServiceAccountStatus,
} from "../api/schemas/workload-wiring.js";
import { plural } from "../util/text.js";
import type { PlannedCondition } from "./conditions.js";

/** What Azure Workload Identity's webhook reads from a ServiceAccount when a pod is created. */
export const CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id";
export const TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id";
/** The pod label that makes the webhook inject the identity (so restarting helps only those pods). */
export const USE_LABEL = "azure.workload.identity/use";
/** On a pod template azid restarted: the client id it restarted for, which makes a restart happen once. */
export const RESTARTED_FOR_ANNOTATION = "azid.dev/restarted-for-client-id";
/** What `kubectl rollout restart` sets; a change of the pod template rolls the pods. */
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

export type IdField = keyof ExportKeys;
export type WiringIds = Partial<Record<IdField, string>>;

/** The fields each kind exports: a system-assigned identity has no client id a workload could use. */
export const EXPORTED_FIELDS = {
  UserAssignedIdentity: ["clientId", "principalId", "tenantId", "resourceId"],
  SystemAssignedIdentity: ["principalId", "tenantId"],
} as const satisfies Record<string, readonly IdField[]>;

export interface ObservedServiceAccount {
  annotations: Readonly<Record<string, string>>;
  /** The field manager that set the client-id annotation: read only when azid suspects a fight. */
  clientIdManager?: string;
}

/** An export as observed: absent, or present with its (decoded) data and whether this identity owns it. */
export type ObservedExport =
  | { exists: false }
  | { exists: true; owned: boolean; data: Record<string, string> };

export type ExportKind = ExportStatus["kind"];

export interface WiringInput {
  ids: WiringIds;
  fields: readonly IdField[];
  serviceAccounts: readonly ServiceAccountSpec[];
  exports: Exports | undefined;
  /** What the last reconcile recorded (status.serviceAccounts). */
  previous: readonly ServiceAccountStatus[] | undefined;
  observed: {
    /** By name; undefined when the ServiceAccount does not exist. */
    serviceAccounts: ReadonlyMap<string, ObservedServiceAccount | undefined>;
    exports: Partial<Record<ExportKind, ObservedExport>>;
  };
}

export type WiringAction =
  | {
      kind: "ApplyServiceAccount";
      name: string;
      annotations: Record<string, string>;
      /** The client id the ServiceAccount carried before, when it carried another one. */
      from?: string;
      /** Whether the workloads using it are to be restarted for this change. */
      restartOwed: boolean;
    }
  /** A ServiceAccount no longer in spec.serviceAccounts: azid gives up the two annotations it owned. */
  | { kind: "UnwireServiceAccount"; name: string }
  | { kind: "ApplyExport"; target: ExportKind; name: string; data: Record<string, string> }
  | { kind: "RestartWorkloads"; serviceAccount: string; from: string; to: string };

/** A status entry with the reason its condition reports when it is the worst. */
export interface WiringItem<S> {
  entry: S;
  reason: Reason;
}

export interface WiringPlan {
  actions: WiringAction[];
  serviceAccounts: WiringItem<ServiceAccountStatus>[];
  exports: WiringItem<ExportStatus>[];
}

export function planWiring(input: WiringInput): WiringPlan {
  const actions: WiringAction[] = [];
  const serviceAccounts = input.serviceAccounts.map((declared) => {
    const previous = input.previous?.find((entry) => entry.name === declared.name);
    const planned = planServiceAccount(declared, previous, input);
    actions.push(...planned.actions);
    return planned.item;
  });
  for (const earlier of input.previous ?? []) {
    if (input.serviceAccounts.some((declared) => declared.name === earlier.name)) continue;
    const annotations = input.observed.serviceAccounts.get(earlier.name)?.annotations;
    // Only what azid set, and only while it is still there: its pods keep working until they restart.
    if (!earlier.clientId || annotations?.[CLIENT_ID_ANNOTATION] !== earlier.clientId) continue;
    actions.push({ kind: "UnwireServiceAccount", name: earlier.name });
    serviceAccounts.push({
      entry: { name: earlier.name, state: "Removing", clientId: earlier.clientId },
      reason: Reason.Progressing,
    });
  }
  const exports: WiringItem<ExportStatus>[] = [];
  for (const target of ["ConfigMap", "Secret"] as const) {
    const declared = target === "ConfigMap" ? input.exports?.configMap : input.exports?.secret;
    if (!declared) continue;
    const planned = planExport(target, declared.name, exportData(input, declared.keys), input);
    if (planned.action) actions.push(planned.action);
    exports.push(planned.item);
  }
  return { actions, serviceAccounts, exports };
}

function planServiceAccount(
  declared: ServiceAccountSpec,
  previous: ServiceAccountStatus | undefined,
  input: WiringInput,
): { actions: WiringAction[]; item: WiringItem<ServiceAccountStatus> } {
  const kept: ServiceAccountStatus = {
    name: declared.name,
    state: "Pending",
    ...(previous?.clientId ? { clientId: previous.clientId } : {}),
    ...(previous?.restartedFor ? { restartedFor: previous.restartedFor } : {}),
    ...(previous?.restarted ? { restarted: previous.restarted } : {}),
    ...(previous?.restartPendingFrom ? { restartPendingFrom: previous.restartPendingFrom } : {}),
  };
  const item = (state: ItemState, reason: Reason, message?: string) => ({
    entry: { ...kept, state, ...(message ? { message } : {}) },
    reason,
  });
  const { clientId, tenantId } = input.ids;
  if (!clientId || !tenantId) {
    return { actions: [], item: item("Pending", Reason.Waiting, "waiting for the identity's client id") };
  }
  const observed = input.observed.serviceAccounts.get(declared.name);
  if (!observed) {
    return {
      actions: [],
      item: item(
        "Pending",
        Reason.ServiceAccountNotFound,
        `ServiceAccount ${declared.name} does not exist; it is wired as soon as it is created`,
      ),
    };
  }
  const carried = observed.annotations[CLIENT_ID_ANNOTATION];
  const lastSet = previous?.clientId;
  if (lastSet === clientId && carried !== undefined && carried !== clientId) {
    // azid set this value and someone set another one since: writing it again would only
    // start a loop with whatever applies theirs.
    const who = observed.clientIdManager
      ? `field manager ${observed.clientIdManager}`
      : "another field manager";
    return {
      actions: [],
      item: item(
        "Failed",
        Reason.ServiceAccountConflict,
        `${who} set ${CLIENT_ID_ANNOTATION} of ServiceAccount ${declared.name} to ${carried} after azid set ` +
          `it to ${clientId}; azid does not write it again: remove the annotation from what that manager applies`,
      ),
    };
  }
  const actions: WiringAction[] = [];
  // The value the pods may still carry: on the ServiceAccount, set by azid before, or recorded
  // when the restart for it could not happen yet.
  const from =
    [carried, lastSet].find((value) => value !== undefined && value !== clientId) ??
    (previous?.restartPendingFrom !== clientId ? previous?.restartPendingFrom : undefined);
  const restartOwed =
    from !== undefined && declared.restartWorkloads !== false && previous?.restartedFor !== clientId;
  if (carried !== clientId || observed.annotations[TENANT_ID_ANNOTATION] !== tenantId) {
    actions.push({
      restartOwed,
      kind: "ApplyServiceAccount",
      name: declared.name,
      annotations: { [CLIENT_ID_ANNOTATION]: clientId, [TENANT_ID_ANNOTATION]: tenantId },
      ...(from ? { from } : {}),
    });
  }
  // A restart is owed for a change of client id until it is done for this client id.
  if (from && restartOwed) {
    actions.push({ kind: "RestartWorkloads", serviceAccount: declared.name, from, to: clientId });
  }
  if (actions.length > 0) return { actions, item: item("Pending", Reason.Progressing) };
  return { actions, item: { entry: { ...kept, state: "Ready", clientId }, reason: Reason.Reconciled } };
}

function exportData(input: WiringInput, keys: ExportKeys | undefined): Record<string, string> | undefined {
  const data: Record<string, string> = {};
  for (const field of input.fields) {
    const value = input.ids[field];
    if (!value) return undefined;
    data[keys?.[field] ?? field] = value;
  }
  return data;
}

function planExport(
  target: ExportKind,
  name: string,
  data: Record<string, string> | undefined,
  input: WiringInput,
): { action?: WiringAction; item: WiringItem<ExportStatus> } {
  const item = (state: ItemState, reason: Reason, message?: string) => ({
    entry: { kind: target, name, state, ...(message ? { message } : {}) },
    reason,
  });
  if (!data) return { item: item("Pending", Reason.Waiting, "waiting for the identity's ids") };
  const observed = input.observed.exports[target];
  if (observed?.exists && !observed.owned) {
    return {
      item: item(
        "Failed",
        Reason.ExportConflict,
        `${target} ${name} exists and is not owned by this identity; azid does not take it over: ` +
          "delete it or export to another name",
      ),
    };
  }
  if (observed?.exists && sameData(observed.data, data)) return { item: item("Ready", Reason.Reconciled) };
  return { action: { kind: "ApplyExport", target, name, data }, item: item("Pending", Reason.Progressing) };
}

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** A workload as azid reads it: its pod template's ServiceAccount, labels and annotations. */
export interface WorkloadView {
  kind: string;
  name: string;
  serviceAccountName: string;
  podLabels: Readonly<Record<string, string>>;
  podAnnotations: Readonly<Record<string, string>>;
}

/**
 * The workloads to restart for a change of a ServiceAccount's client id: those whose pods run as
 * it and use workload identity, and that were not restarted for this client id already.
 */
export function workloadsToRestart(
  workloads: readonly WorkloadView[],
  serviceAccount: string,
  clientId: string,
): WorkloadView[] {
  return workloads.filter(
    (workload) =>
      workload.serviceAccountName === serviceAccount &&
      workload.podLabels[USE_LABEL] === "true" &&
      workload.podAnnotations[RESTARTED_FOR_ANNOTATION] !== clientId,
  );
}

/** The pod-template patch that restarts a workload, as `kubectl rollout restart` (merge patch). */
export function restartPatch(clientId: string, now: string): Record<string, unknown> {
  return {
    spec: {
      template: {
        metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: now, [RESTARTED_FOR_ANNOTATION]: clientId } },
      },
    },
  };
}

/** The WorkloadsWired condition from the items' outcomes: True when every one is Ready (or none is declared). */
export function wiringCondition(
  items: readonly WiringItem<{ state: ItemState; message?: string }>[],
): PlannedCondition {
  const type = ConditionType.WorkloadsWired;
  if (items.length === 0) {
    return {
      type,
      status: "True",
      reason: Reason.NothingDeclared,
      message: "no ServiceAccounts or exports declared",
    };
  }
  const notReady = items.filter((item) => item.entry.state !== "Ready" && item.entry.state !== "Removing");
  const count = plural(items.length, "ServiceAccount or export", "ServiceAccounts and exports");
  if (notReady.length === 0)
    return { type, status: "True", reason: Reason.Reconciled, message: `${count} wired` };
  const worst =
    notReady.find((item) => item.entry.state === "Failed") ?? (notReady[0] as (typeof notReady)[0]);
  return {
    type,
    status: "False",
    reason: worst.reason,
    message: `${notReady.length} of ${count} not wired${worst.entry.message ? `: ${worst.entry.message}` : ""}`,
  };
}

/** What the migration and the reports read of an identity for its wiring. */
export interface WiredIdentityView {
  kind: string;
  metadata: { namespace?: string; name: string };
  spec: {
    serviceAccounts?: readonly ServiceAccountSpec[];
    exports?: Exports;
  };
  status?: {
    principalId?: string;
    clientId?: string;
    serviceAccounts?: readonly ServiceAccountStatus[];
  };
}

export interface WiringStepView {
  resource: string;
  action: "AnnotateServiceAccount" | "WriteExport" | "RestartWorkloads";
  target: string;
}

/** The cluster changes a repair makes for these identities (the TenantMigration plan lists them). */
export function wiringSteps(identities: readonly WiredIdentityView[]): WiringStepView[] {
  return identities.flatMap((identity) => {
    const resource = `${identity.kind}/${identity.metadata.namespace ?? ""}/${identity.metadata.name}`;
    const accounts = identity.kind === "UserAssignedIdentity" ? (identity.spec.serviceAccounts ?? []) : [];
    return [
      ...accounts.flatMap((account) => [
        { resource, action: "AnnotateServiceAccount" as const, target: `ServiceAccount/${account.name}` },
        ...(account.restartWorkloads === false
          ? []
          : [{ resource, action: "RestartWorkloads" as const, target: `ServiceAccount/${account.name}` }]),
      ]),
      ...(identity.spec.exports?.configMap
        ? [
            {
              resource,
              action: "WriteExport" as const,
              target: `ConfigMap/${identity.spec.exports.configMap.name}`,
            },
          ]
        : []),
      ...(identity.spec.exports?.secret
        ? [
            {
              resource,
              action: "WriteExport" as const,
              target: `Secret/${identity.spec.exports.secret.name}`,
            },
          ]
        : []),
    ];
  });
}

/** The workloads restarted for the identity's current client id, as `Kind/name`. */
export function restartedFor(identity: WiredIdentityView): string[] {
  const clientId = identity.status?.clientId;
  if (!clientId) return [];
  return (identity.status?.serviceAccounts ?? [])
    .filter((account) => account.restartedFor === clientId)
    .flatMap((account) => account.restarted ?? []);
}
