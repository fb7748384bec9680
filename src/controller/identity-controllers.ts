// The controllers of the kinds that make azid write to Azure: UserAssignedIdentity,
// SystemAssignedIdentity and CustomRole. One reconcile: read the object from the cache, hold
// the finalizer while Azure may still need cleaning, sync with Azure (policy, plan, act), write
// the status, record the notices as events, let the object go once Azure is clean, and hand
// the error policy's verdict to the queue.
import { ConditionType, MigrationCondition, Reason } from "../api/conditions.js";
import { type ManagedResource, subscriptionOfResource } from "../api/managed-resource.js";
import type { Condition } from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { IdentityPolicy } from "../api/schemas/identity-policy.js";
import type { TenantMigration } from "../api/schemas/tenant-migration.js";
import { CredentialTenantError } from "../azure/errors.js";
import { ActionExecutor } from "../azure/executor.js";
import { IdentityPatches } from "../azure/identity-patches.js";
import { judgeSync } from "../engine/error-policy.js";
import { ObservationCache } from "../engine/observation-cache.js";
import { PermissionGuard } from "../engine/permission-guard.js";
import { syncResource } from "../engine/resource-sync.js";
import type { WiredIdentity } from "../engine/workload-wiring.js";
import { AZID_FINALIZER, isBeingDeleted, withFinalizer } from "../kube/finalizers.js";
import {
  CUSTOM_ROLES,
  IDENTITY_POLICIES,
  type Kind,
  type KubeObject,
  keyOf,
  NAMESPACES,
  SYSTEM_ASSIGNED_IDENTITIES,
  TENANT_MIGRATIONS,
  USER_ASSIGNED_IDENTITIES,
} from "../kube/resources.js";
import type { Action, ActionKind } from "../plan/actions.js";
import * as build from "../plan/build.js";
import type { PolicyDecision } from "../plan/policy.js";
import type { ReconcileContext, ReconcileResult } from "../queue/index.js";
import { type WiredStatus, wireIdentity } from "./identity-wiring.js";
import {
  type Caches,
  type ControllerDefinition,
  type ControllerRuntime,
  type IndexDefinition,
  issuerOf,
  type ObjectChange,
  type Reconciler,
  type SecondaryWatch,
} from "./reconciler.js";
import { identityDependencies } from "./secondary-watches.js";
import { isApplying } from "./tenant-migration-state.js";

/** The kinds reconciled against Azure, with their objects' type. */
type ManagedKind = Kind<ManagedResource & KubeObject>;

/** The event reason for each write Azure accepted: what the controller did, in the past tense. */
const EVENT_REASONS: Partial<Record<ActionKind, string>> = {
  CreateIdentity: "IdentityCreated",
  UpdateIdentityTags: "TagsUpdated",
  DeleteIdentity: "IdentityDeleted",
  PutFederatedCredential: "CredentialWritten",
  DeleteFederatedCredential: "CredentialDeleted",
  PutRoleAssignment: "RoleGranted",
  DeleteRoleAssignment: "RoleRevoked",
  PatchResourceIdentity: "IdentityBlockChanged",
  PutRoleDefinition: "RoleDefinitionWritten",
  DeleteRoleDefinition: "RoleDefinitionDeleted",
  GrantAppRole: "AppRoleGranted",
  RevokeAppRole: "AppRoleRevoked",
  SetVaultTenant: "VaultTenantReset",
};

/**
 * How long a vault read is shared by the reconciles of one kind: 90% of the resync period, so
 * that one resync round reads each vault once however long the round takes (thousands of
 * identities spread it over minutes), while the next round reads afresh and sees drift. Without
 * resyncs, 30 s. A write to the vault forgets it at once.
 */
export function vaultReadTtlFor(resyncPeriodMs: number): number {
  return resyncPeriodMs > 0 ? Math.floor(resyncPeriodMs * 0.9) : 30_000;
}

/** The event reason of a write; a vault's access-policy write says whether it granted or revoked. */
function eventReason(action: Action): string {
  if (action.kind === "UpdateVaultAccessPolicy")
    return action.operation === "remove" ? "VaultAccessRevoked" : "VaultAccessGranted";
  return EVENT_REASONS[action.kind] ?? action.kind;
}

export function userAssignedIdentityController(): ControllerDefinition {
  return managedResourceController("userassignedidentity", USER_ASSIGNED_IDENTITIES);
}

export function systemAssignedIdentityController(): ControllerDefinition {
  return managedResourceController("systemassignedidentity", SYSTEM_ASSIGNED_IDENTITIES);
}

export function customRoleController(): ControllerDefinition {
  return managedResourceController("customrole", CUSTOM_ROLES);
}

function managedResourceController(name: string, resource: ManagedKind): ControllerDefinition {
  const dependencies =
    resource === CUSTOM_ROLES
      ? { watches: [], indexes: [], reads: [NAMESPACES] }
      : identityDependencies(resource);
  return {
    name,
    resource,
    watches: [...dependencies.watches, migrationWatch(resource)],
    indexes: [...dependencies.indexes, subscriptionIndex(resource)],
    reads: [...dependencies.reads, IDENTITY_POLICIES, CUSTOM_ROLES],
    setup: (runtime) => ({
      reconcile: reconcilerFor(resource, runtime),
      whileLeading: (signal) => sweepTenants(resource, runtime, signal),
    }),
  };
}

const SUBSCRIPTION_INDEX = "subscription";

function subscriptionIndex(resource: ManagedKind): IndexDefinition {
  return {
    resource,
    name: SUBSCRIPTION_INDEX,
    index: (object) => {
      const subscription = subscriptionOrUndefined(object as ManagedResource & KubeObject);
      return subscription ? [subscription] : [];
    },
  };
}

/**
 * A TenantMigration that starts applying, or whose custom roles are restored, reconciles the
 * resources of its subscription: they may repair now.
 */
function migrationWatch(resource: ManagedKind): SecondaryWatch {
  return {
    resource: TENANT_MIGRATIONS,
    map({ before, after }: ObjectChange, caches: Caches) {
      const old = before as (TenantMigration & KubeObject) | undefined;
      const current = after as (TenantMigration & KubeObject) | undefined;
      if (!current) return [];
      const stage = (migration: TenantMigration | undefined) =>
        migration
          ? `${isApplying(migration)}|${conditionIsTrue(migration.status?.conditions, MigrationCondition.CustomRolesRestored)}`
          : "";
      if (stage(old) === stage(current)) return [];
      return caches
        .of(resource)
        .byIndex(SUBSCRIPTION_INDEX, current.spec.subscriptionId.toLowerCase())
        .map((object) => keyOf(resource.kind, object.metadata?.namespace, object.metadata?.name ?? ""));
    },
  };
}

/** How often the leader compares each subscription's tenant with the tenant its resources recorded. */
const TENANT_SWEEP_MS = 60_000;

/**
 * The leader's tenant-move detection: one read per subscription per sweep (not per resource);
 * resources whose recorded tenant differs are reconciled at once (their reconcile reports
 * TenantMismatch, or repairs when allowed), and the mismatch gauge is kept. When ARM refuses
 * azid's credential as from another tenant, the resources are reconciled at once too (they report
 * CredentialTenantMismatch).
 */
async function sweepTenants(
  resource: ManagedKind,
  runtime: ControllerRuntime,
  signal: AbortSignal,
): Promise<void> {
  const executor = new ActionExecutor({ clients: runtime.azure.clients, gate: runtime.azure.gate });
  const gauge = runtime.metrics.tenantMismatch;
  let reported = new Set<string>();
  while (!signal.aborted) {
    const bySubscription = new Map<string, ManagedResource[]>();
    for (const managed of runtime.caches.of(resource).list()) {
      const subscription = subscriptionOrUndefined(managed);
      if (subscription)
        bySubscription.set(subscription, [...(bySubscription.get(subscription) ?? []), managed]);
    }
    for (const [subscription, members] of bySubscription) {
      const owner = { kind: resource.kind as ManagedResource["kind"], namespace: "", name: "tenant-sweep" };
      const outcome = await executor.execute(build.readSubscription(owner, subscription), subscription);
      if (outcome.error instanceof CredentialTenantError) {
        // The subscription moved and azid's credential is from the old tenant: have every
        // resource say so now rather than at its next resync.
        runtime.metrics.credentialTenantMismatch.set({ subscription }, 1);
        for (const member of members) {
          const ready = (member.status as { conditions?: Condition[] } | undefined)?.conditions?.find(
            (condition) => condition.type === ConditionType.Ready,
          );
          if (ready?.reason !== Reason.CredentialTenantMismatch) {
            await runtime.enqueue(keyOf(resource.kind, member.metadata.namespace, member.metadata.name));
          }
        }
        continue;
      }
      const tenant = outcome.result.subscription?.tenantId?.toLowerCase();
      let mismatched = 0;
      for (const member of members) {
        const recorded = (member.status as { tenantId?: string } | undefined)?.tenantId?.toLowerCase();
        const flagged = conditionIsTrue(
          (member.status as { conditions?: Condition[] } | undefined)?.conditions,
          ConditionType.TenantMismatch,
        );
        if (flagged) mismatched++;
        if (tenant && recorded && recorded !== tenant && !flagged) {
          await runtime.enqueue(keyOf(resource.kind, member.metadata.namespace, member.metadata.name));
        }
      }
      gauge.set({ subscription, kind: resource.kind }, mismatched);
    }
    // Subscriptions this kind no longer has resources in report nothing, rather than a stale count.
    for (const gone of reported)
      if (!bySubscription.has(gone)) gauge.remove({ subscription: gone, kind: resource.kind });
    reported = new Set(bySubscription.keys());
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, TENANT_SWEEP_MS);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }
  // Another replica leads now: only the leader's figures count.
  for (const subscription of reported) gauge.remove({ subscription, kind: resource.kind });
}

function subscriptionOrUndefined(resource: ManagedResource): string | undefined {
  try {
    return subscriptionOfResource(resource);
  } catch {
    return undefined; // an invalid resource id: its reconcile reports it
  }
}

function reconcilerFor(resource: ManagedKind, runtime: ControllerRuntime): Reconciler {
  const executor = new ActionExecutor({
    clients: runtime.azure.clients,
    gate: runtime.azure.gate,
    identityPatches: new IdentityPatches(runtime.azure.targetLock),
    vaultReadTtlMs: vaultReadTtlFor(runtime.settings.resyncPeriodMs ?? 0),
    metrics: runtime.metrics,
  });
  const cache = new ObservationCache();
  const permissions = new PermissionGuard(runtime.azure.clients, runtime.azure.endpoints.arm);
  // azid's own credential changed (e.g. to the new tenant's): what it saw before may be wrong.
  runtime.azure.credentials.onChange(() => {
    cache.clear();
    permissions.clear();
  });
  const { caches } = runtime;

  /** One sync with Azure and what follows it: events, the status, the queue's decision. */
  async function sync(
    current: ManagedResource & KubeObject,
    ctx: ReconcileContext,
  ): Promise<{ next: ReconcileResult; deleted: boolean }> {
    const deleting = isBeingDeleted(current);
    const managed = current;
    const namespace = current.metadata?.namespace ?? "";

    const outcome = await syncResource(managed, {
      executor,
      cache,
      policyContext: {
        namespaceLabels: caches.of(NAMESPACES).get("", namespace)?.metadata?.labels ?? {},
        policies: caches.of<IdentityPolicy & KubeObject>(IDENTITY_POLICIES).list(),
        customRoles: caches.of<CustomRole & KubeObject>(CUSTOM_ROLES).list(namespace),
        ...issuerOf(runtime),
      },
      allowTenantRepair: (policy) => repairAllowed(runtime, managed, policy),
      permissions,
    });
    ctx.logger.debug(
      { reads: outcome.reads, writes: outcome.writes, verdict: outcome.verdict?.kind },
      "synced with Azure",
    );
    if (outcome.credentialRefused || outcome.reads + outcome.writes > 0) {
      runtime.metrics.credentialTenantMismatch.set(
        { subscription: subscriptionOfResource(managed) },
        outcome.credentialRefused ? 1 : 0,
      );
    }

    // Azure took these writes whether or not the status write below succeeds (a conflict retries).
    for (const action of outcome.writesDone) {
      runtime.events.record({
        regarding: current,
        type: "Normal",
        reason: eventReason(action),
        action: action.kind,
        note: action.description,
      });
    }
    for (const notice of outcome.notices) {
      runtime.events.record({
        regarding: current,
        type: notice.type,
        reason: notice.reason,
        action: deleting ? "Delete" : "Reconcile",
        note: notice.message,
      });
    }
    if (!deleting && resource !== CUSTOM_ROLES) {
      await wireIdentity(runtime, current as unknown as WiredIdentity, outcome.status as WiredStatus, ctx);
    }
    const judgement = judgeSync({
      verdict: outcome.verdict,
      writes: outcome.writes,
      unsettled: outcome.unsettled,
      status: outcome.status,
      previous: { status: current.status, generation: current.metadata?.generation },
      deleting,
      attempt: ctx.attempt,
      timeScale: runtime.azure.timeScale,
    });
    if (judgement.writeStatus) {
      await runtime.status.write(resource, current, outcome.status as Record<string, unknown>);
    }
    if (deleting && outcome.deleted) return { next: {}, deleted: true };
    if (judgement.stopped) {
      runtime.metrics.reconcileStopped.inc({ controller: runtime.name, reason: judgement.stopped });
    }
    if (judgement.warning) {
      runtime.events.record({
        regarding: current,
        type: "Warning",
        reason: judgement.warning.reason,
        action: deleting ? "Delete" : "Reconcile",
        note: judgement.warning.message,
      });
    }
    return { next: judgement.next, deleted: false };
  }

  return async (request, ctx) => {
    const object = caches.of(resource).get(request.namespace, request.name);
    if (!object) return;
    return withFinalizer(runtime.kube, resource, object, AZID_FINALIZER, {
      apply: async (current) => (await sync(current, ctx)).next,
      cleanup: async (current) => {
        const { next, deleted } = await sync(current, ctx);
        return { done: deleted, result: next };
      },
    });
  };
}

/**
 * A tenant move is repaired only where the operator chose that: Auto for the whole controller,
 * Auto in a policy selecting the namespace, or an approved TenantMigration of the subscription
 * that is applying (custom roles first: identities wait until they are restored).
 */
function repairAllowed(
  runtime: ControllerRuntime,
  resource: ManagedResource,
  policy: PolicyDecision,
): boolean {
  if (runtime.settings.tenantRemediation === "Auto" || policy.tenantMoveRemediation === "Auto") return true;
  const subscription = subscriptionOfResource(resource);
  return runtime.caches
    .of<TenantMigration & KubeObject>(TENANT_MIGRATIONS)
    .list()
    .some(
      (migration) =>
        migration.spec.subscriptionId.toLowerCase() === subscription &&
        isApplying(migration) &&
        (resource.kind === "CustomRole" ||
          conditionIsTrue(migration.status?.conditions, MigrationCondition.CustomRolesRestored)),
    );
}

function conditionIsTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return conditions?.some((condition) => condition.type === type && condition.status === "True") ?? false;
}
