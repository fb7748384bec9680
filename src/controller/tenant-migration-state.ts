// What a TenantMigration's spec and status say, read the same way by the migration controller
// and by the identity controllers (which repair only while a migration of their subscription
// is applying). Pure.
import { ConditionType } from "../api/conditions.js";
import type { ManagedResource } from "../api/managed-resource.js";
import type { Condition } from "../api/schemas/common.js";
import type {
  ActionProgress,
  MigrationFailure,
  MigrationPlan,
  TenantMigration,
} from "../api/schemas/tenant-migration.js";

/** The annotation that approves a migration, for tools that cannot change the spec. */
export const APPROVAL_ANNOTATION = "azid.dev/approved";

export function isApproved(migration: TenantMigration): boolean {
  return migration.spec.approved === true || migration.metadata.annotations?.[APPROVAL_ANNOTATION] === "true";
}

export function isApplying(migration: TenantMigration): boolean {
  return migration.spec.mode === "Apply" && isApproved(migration) && migration.status?.phase === "Applying";
}

export function conditionOf(resource: { status?: unknown }, type: string): Condition | undefined {
  return (resource.status as { conditions?: Condition[] } | undefined)?.conditions?.find(
    (c) => c.type === type,
  );
}

/** Where one declared resource stands in the repair. */
export type RepairState = "done" | "failed" | "pending";

/**
 * Ready reasons that no retry fixes: the repair of that resource needs a person. Not among them:
 * CredentialTenantMismatch, which concerns azid's credential rather than the resource (a second
 * move while applying refuses it until the operator switches it); the run waits for that.
 */
const TERMINAL_REASONS = new Set([
  "AzurePolicyDenied",
  "MissingPermission",
  "PolicyDenied",
  "InvalidSpec",
  "RoleAssignmentLimitExceeded",
  "UnsupportedTarget",
  // The Azure side is repaired but the workloads cannot get the new ids until a person acts:
  // the repair ends and says so rather than waiting for ever.
  "ServiceAccountNotFound",
  "ServiceAccountConflict",
  "ExportConflict",
]);

/**
 * An identity is repaired when its status names the subscription's new tenant and it is Ready;
 * a custom role when it is Ready (it has no tenant of its own). A resource Ready=False for a
 * reason no retry fixes has failed.
 */
export function repairStateOf(resource: ManagedResource, toTenantId: string): RepairState {
  const ready = conditionOf(resource, ConditionType.Ready);
  const tenant = (resource.status as { tenantId?: string } | undefined)?.tenantId;
  const repaired =
    ready?.status === "True" &&
    (resource.kind === "CustomRole" || tenant?.toLowerCase() === toTenantId.toLowerCase());
  if (repaired) return "done";
  return ready?.status === "False" && TERMINAL_REASONS.has(ready.reason) ? "failed" : "pending";
}

export interface MigrationProgress {
  progress: ActionProgress[];
  failures: MigrationFailure[];
  done: number;
  failed: number;
  pending: number;
}

/**
 * Progress per action kind, counted per resource: a resource's planned actions are done when the
 * resource is repaired. Derived from the resources' statuses alone, so that it survives any crash.
 */
export function progressOf(
  plan: MigrationPlan,
  resources: readonly ManagedResource[],
  toTenantId: string,
): MigrationProgress {
  const states = new Map<string, { state: RepairState; resource: ManagedResource }>();
  for (const resource of resources) {
    const ref = `${resource.kind}/${resource.metadata.namespace ?? ""}/${resource.metadata.name}`;
    states.set(ref, { state: repairStateOf(resource, toTenantId), resource });
  }
  const totals = new Map<string, { done: number; total: number }>();
  for (const action of plan.actions) {
    const entry = totals.get(action.kind) ?? { done: 0, total: 0 };
    entry.total++;
    if (states.get(action.resource)?.state === "done") entry.done++;
    totals.set(action.kind, entry);
  }
  const failures: MigrationFailure[] = [];
  for (const [ref, { state, resource }] of states) {
    if (state !== "failed") continue;
    const ready = conditionOf(resource, ConditionType.Ready);
    failures.push({
      kind: resource.kind,
      resource: ref,
      target: ref,
      reason: ready?.reason ?? "Unknown",
      message: ready?.message ?? "",
    });
  }
  const count = (wanted: RepairState) => [...states.values()].filter(({ state }) => state === wanted).length;
  return {
    progress: [...totals.entries()].map(([kind, { done, total }]) => ({ kind, done, total })),
    failures,
    done: count("done"),
    failed: count("failed"),
    pending: count("pending"),
  };
}
