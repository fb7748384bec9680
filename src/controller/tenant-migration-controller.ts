// The TenantMigration controller: one repair run for one subscription after a tenant move, in
// Manual mode. It computes the plan (reads only), shows it, waits for approval, then lets the
// identity controllers repair (custom roles first, then identities: they look for an applying
// migration of their subscription), follows their progress from their statuses, and reports.
// Everything it knows is in Kubernetes (the migration's status and the resources' statuses), so a
// crashed controller picks up where it was, and nothing is done twice: the repair itself is the
// identity controllers' idempotent reconciles.

import { ConditionType, MigrationCondition, MigrationEvent, MigrationReason } from "../api/conditions.js";
import { type ManagedResource, subscriptionOfResource } from "../api/managed-resource.js";
import type { Condition } from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { IdentityPolicy } from "../api/schemas/identity-policy.js";
import type { TenantMigration, TenantMigrationStatus } from "../api/schemas/tenant-migration.js";
import { ActionExecutor } from "../azure/executor.js";
import { judge, judgeAll, nextFor, type Verdict } from "../engine/error-policy.js";
import { plannerOf } from "../engine/kinds.js";
import { observeForPlan } from "../engine/observe-for-plan.js";
import {
  CUSTOM_ROLES,
  IDENTITY_POLICIES,
  type Kind,
  type KubeObject,
  NAMESPACES,
  SYSTEM_ASSIGNED_IDENTITIES,
  TENANT_MIGRATIONS,
  USER_ASSIGNED_IDENTITIES,
} from "../kube/resources.js";
import * as build from "../plan/build.js";
import { emptyObserved, subscriptionKey } from "../plan/observed.js";
import { evaluatePolicy } from "../plan/policy.js";
import { planRemediation, type RemediationInput, toMigrationPlan } from "../plan/remediation.js";
import { customRoleDefinitionGuid } from "../plan/roles.js";
import { restartedFor, type WiredIdentityView, wiringSteps } from "../plan/workload-wiring.js";
import type { ReconcileResult } from "../queue/index.js";
import { formatDuration, plural } from "../util/text.js";
import {
  type ControllerDefinition,
  type ControllerRuntime,
  issuerOf,
  type Reconciler,
} from "./reconciler.js";
import { isApproved, progressOf } from "./tenant-migration-state.js";

const MIGRATIONS = TENANT_MIGRATIONS;
const UAIS = USER_ASSIGNED_IDENTITIES;
const SAIS = SYSTEM_ASSIGNED_IDENTITIES;
const POLICIES = IDENTITY_POLICIES;

/** How often an applying migration looks at its resources' progress. */
const PROGRESS_INTERVAL_MS = 2_000;

export function tenantMigrationController(): ControllerDefinition {
  return {
    name: "tenantmigration",
    resource: MIGRATIONS,
    reads: [UAIS, SAIS, CUSTOM_ROLES, POLICIES, NAMESPACES],
    setup: (runtime) => ({ reconcile: migrationReconciler(runtime) }),
  };
}

function migrationReconciler(runtime: ControllerRuntime): Reconciler {
  const executor = new ActionExecutor({ clients: runtime.azure.clients, gate: runtime.azure.gate });
  const { caches } = runtime;

  const declaredIn = (subscription: string) => {
    const of = <T extends ManagedResource & KubeObject>(kind: Kind<T>) =>
      caches
        .of(kind)
        .list()
        .filter((resource) => subscriptionOfResource(resource) === subscription);
    return {
      userAssigned: of(UAIS),
      systemAssigned: of(SAIS),
      customRoles: of(CUSTOM_ROLES),
    };
  };

  const decide = (resource: ManagedResource) =>
    evaluatePolicy(resource, {
      namespaceLabels:
        caches.of(NAMESPACES).get("", resource.metadata.namespace ?? "")?.metadata?.labels ?? {},
      policies: caches.of<IdentityPolicy & KubeObject>(POLICIES).list(),
      customRoles: caches.of<CustomRole & KubeObject>(CUSTOM_ROLES).list(resource.metadata.namespace),
      ...issuerOf(runtime),
    });

  async function computePlan(
    migration: TenantMigration,
  ): Promise<{ status: TenantMigrationStatus } | { verdict: Verdict }> {
    const subscription = migration.spec.subscriptionId.toLowerCase();
    const declared = declaredIn(subscription);
    const input: RemediationInput = {
      subscriptionId: subscription,
      declared,
      observed: emptyObserved(),
      now: new Date().toISOString(),
      policy: decide,
      plannerOf,
      ...issuerOf(runtime),
    };
    const observation = await observeForPlan(input, executor);
    const verdict = judgeAll(observation.failures.map((failure) => failure.error));
    if (verdict) return { verdict };
    const plan = planRemediation({ ...input, observed: observation.observed });
    const toTenantId = observation.observed.subscriptions[subscriptionKey(subscription)]?.tenantId;
    const moved = plan.fromTenantIds.length > 0;
    // Both kinds: a system-assigned identity turned off and on gets a new principal too.
    const identities = [
      ...declared.userAssigned,
      ...declared.systemAssigned,
    ] as unknown as WiredIdentityView[];
    const principals = identities.map((identity) => ({
      resource: `${identity.kind}/${identity.metadata.namespace}/${identity.metadata.name}`,
      ...(identity.status?.principalId ? { oldPrincipalId: identity.status.principalId } : {}),
      ...(identity.status?.clientId ? { oldClientId: identity.status.clientId } : {}),
    }));
    const wiring = wiringSteps(identities);
    const status: TenantMigrationStatus = {
      ...(migration.status ?? {}),
      phase: !moved ? "NotNeeded" : migration.spec.mode === "Apply" ? "AwaitingApproval" : "Planned",
      ...(plan.fromTenantIds[0] ? { fromTenantId: plan.fromTenantIds[0] } : {}),
      ...(toTenantId ? { toTenantId } : {}),
      plan: { ...toMigrationPlan(plan, input.now), ...(wiring.length > 0 ? { wiring } : {}) },
      conditions: [
        condition(
          ConditionType.Planned,
          "True",
          moved ? MigrationReason.PlanReady : MigrationReason.NothingToRepair,
          moved
            ? `${plan.actions.length} actions; ARM's limits allow it in ${plan.floor.seconds.toFixed(0)} s at best`
            : "the identities already belong to the subscription's tenant",
        ),
      ],
      report: { actionsDone: 0, actionsFailed: 0, principals, summary: "not started" },
    };
    return { status };
  }

  /** Custom roles first: true once every declared CustomRole's definition exists in Azure again. */
  async function customRolesRestored(subscription: string, roles: readonly CustomRole[]): Promise<boolean> {
    for (const role of roles) {
      const owner = {
        kind: "CustomRole" as const,
        namespace: role.metadata.namespace ?? "",
        name: role.metadata.name,
      };
      const read = build.readRoleDefinition(owner, subscription, customRoleDefinitionGuid(role));
      const outcome = await executor.execute(read, subscription);
      if (outcome.error) throw outcome.error;
      if (!outcome.result.roleDefinition) return false;
    }
    return true;
  }

  /** The subscription's tenant now, as the Subscriptions API says. */
  async function currentTenant(subscription: string): Promise<string | undefined> {
    const owner = { kind: "TenantMigration" as const, namespace: "", name: subscription };
    const outcome = await executor.execute(build.readSubscription(owner, subscription), subscription);
    if (outcome.error) throw outcome.error;
    return outcome.result.subscription?.tenantId;
  }

  /** Planning needs reads; when they fail the migration says why and the queue tries again. */
  async function planOrReport(
    migration: TenantMigration & KubeObject,
  ): Promise<{ status: TenantMigrationStatus } | { verdict: Verdict }> {
    const planned = await computePlan(migration).catch((error: unknown) => ({ verdict: judge(error) }));
    if ("status" in planned) return planned;
    const { verdict } = planned;
    const message = `planning needs reads that failed: ${verdict.reason}: ${verdict.message}`;
    // A plan made for another tenant is no plan for this one.
    const { plan: _stale, ...before } = migration.status ?? {};
    const status: TenantMigrationStatus = {
      ...before,
      phase: "Pending",
      conditions: setIn(
        migration.status?.conditions,
        condition(ConditionType.Planned, "False", MigrationReason.PlanFailed, message),
      ),
    };
    await runtime.status.write(MIGRATIONS, migration, status as Record<string, unknown>);
    runtime.events.record({
      regarding: migration,
      type: "Warning",
      reason: MigrationEvent.PlanFailed,
      action: "Plan",
      note: message,
    });
    return { verdict };
  }

  /** Applying met a failure: a condition and a Warning say why; the queue acts on the verdict. */
  async function reportApplyFailure(
    migration: TenantMigration & KubeObject,
    status: TenantMigrationStatus,
    verdict: Verdict,
  ): Promise<ReconcileResult> {
    const message = `checking the custom roles needs reads that failed: ${verdict.message}`;
    const next: TenantMigrationStatus = {
      ...status,
      conditions: setIn(
        status.conditions,
        condition(MigrationCondition.CustomRolesRestored, "False", verdict.reason, message),
      ),
    };
    await runtime.status.write(MIGRATIONS, migration, next as Record<string, unknown>);
    runtime.events.record({
      regarding: migration,
      type: "Warning",
      reason: verdict.reason,
      action: "Apply",
      note: message,
    });
    return nextFor(verdict, runtime.azure.timeScale);
  }

  return async (request, ctx) => {
    const migration = caches.of<TenantMigration & KubeObject>(MIGRATIONS).get("", request.name);
    if (!migration) return;
    const generation = migration.metadata.generation;
    const planned =
      migration.status?.observedGeneration === generation && migration.status?.plan !== undefined;
    let status: TenantMigrationStatus = migration.status ?? {};
    const phase = status.phase ?? "Pending";
    if (phase === "Succeeded" || phase === "Failed") return;
    const subscription = migration.spec.subscriptionId.toLowerCase();
    // Nothing to repair was true of one tenant: a later move of the subscription makes a plan again.
    const stillNotNeeded =
      phase === "NotNeeded" &&
      planned &&
      // A failed read plans again, and the plan says what failed.
      sameTenant(await currentTenant(subscription).catch(() => undefined), status.toTenantId);
    if (stillNotNeeded) return;

    if ((!planned || phase === "NotNeeded") && phase !== "Applying") {
      const planning = await planOrReport(migration);
      if ("verdict" in planning) return nextFor(planning.verdict, runtime.azure.timeScale);
      status = planning.status;
      runtime.events.record({
        regarding: migration,
        type: "Normal",
        reason: MigrationEvent.Planned,
        action: "Plan",
        note: status.conditions?.[0]?.message ?? "planned",
      });
    }

    if (status.phase === "AwaitingApproval" && migration.spec.mode === "Apply" && isApproved(migration)) {
      status = {
        ...status,
        phase: "Applying",
        report: {
          ...(status.report ?? emptyReport()),
          startedAt: new Date().toISOString(),
          summary: "applying",
        },
        conditions: setIn(
          status.conditions,
          condition(
            MigrationCondition.CustomRolesRestored,
            "False",
            MigrationReason.Restoring,
            "re-creating custom roles first",
          ),
        ),
      };
      runtime.events.record({
        regarding: migration,
        type: "Normal",
        reason: MigrationEvent.Approved,
        action: "Apply",
        note: "repair started",
      });
    }

    if (status.phase === "Applying") {
      const declared = declaredIn(subscription);
      // Unreadable (a credential of the old tenant after a second move): progress goes on being counted.
      const tenantNow = await currentTenant(subscription).catch(() => undefined);
      if (tenantNow && status.toTenantId && !sameTenant(tenantNow, status.toTenantId)) {
        // Moved again while repairing: the identity controllers now repair towards the new tenant.
        runtime.events.record({
          regarding: migration,
          type: "Warning",
          reason: MigrationEvent.TenantChanged,
          action: "Apply",
          note: `the subscription moved again, from ${status.toTenantId} to ${tenantNow}: the repair now targets it`,
        });
        status = { ...status, toTenantId: tenantNow };
      }
      const restoredCondition = status.conditions?.find(
        (c) => c.type === MigrationCondition.CustomRolesRestored,
      );
      if (restoredCondition?.status !== "True") {
        const check = await customRolesRestored(subscription, declared.customRoles).then(
          (restored) => ({ restored }),
          (error: unknown) => ({ verdict: judge(error) }),
        );
        if ("verdict" in check) {
          // The approved phase stays: the check says why it cannot go on and is made again.
          return reportApplyFailure(migration, status, check.verdict);
        }
        const next = check.restored
          ? condition(
              MigrationCondition.CustomRolesRestored,
              "True",
              MigrationReason.Restored,
              "identities are being repaired",
            )
          : condition(
              MigrationCondition.CustomRolesRestored,
              "False",
              MigrationReason.Restoring,
              "re-creating custom roles first",
            );
        if (restoredCondition?.reason !== next.reason)
          status = { ...status, conditions: setIn(status.conditions, next) };
      }
      const resources = [...declared.customRoles, ...declared.userAssigned, ...declared.systemAssigned];
      const toTenantId = status.toTenantId ?? "";
      const progress = progressOf(status.plan ?? emptyPlan(), resources, toTenantId);
      status = { ...status, progress: progress.progress, failures: progress.failures };
      if (progress.pending === 0) {
        const failed = progress.failed > 0;
        status = {
          ...status,
          phase: failed ? "Failed" : "Succeeded",
          report: finalReport(
            status,
            [...declared.userAssigned, ...declared.systemAssigned] as unknown as WiredIdentityView[],
            progress,
            failed,
          ),
        };
        runtime.events.record({
          regarding: migration,
          type: failed ? "Warning" : "Normal",
          reason: failed ? MigrationEvent.RepairFailed : MigrationEvent.RepairSucceeded,
          action: "Apply",
          note: status.report?.summary ?? "",
        });
      }
    }

    await runtime.status.write(MIGRATIONS, migration, status as Record<string, unknown>);
    ctx.logger.debug({ phase: status.phase }, "tenant migration reconciled");
    return status.phase === "Applying" ? { requeueAfterMs: PROGRESS_INTERVAL_MS } : undefined;
  };
}

const sameTenant = (a: string | undefined, b: string | undefined) => a?.toLowerCase() === b?.toLowerCase();

function condition(type: string, status: "True" | "False", reason: string, message: string): Condition {
  return { type, status, reason, message, lastTransitionTime: new Date().toISOString() };
}

function setIn(conditions: readonly Condition[] | undefined, next: Condition): Condition[] {
  return [...(conditions ?? []).filter((c) => c.type !== next.type), next];
}

function emptyReport() {
  return { actionsDone: 0, actionsFailed: 0, principals: [], summary: "" };
}

function emptyPlan() {
  return {
    generatedAt: new Date().toISOString(),
    counts: [],
    total: 0,
    actions: [],
    floorSeconds: 0,
    floorByClass: [],
  };
}

function finalReport(
  status: TenantMigrationStatus,
  identities: readonly WiredIdentityView[],
  progress: ReturnType<typeof progressOf>,
  failed: boolean,
): NonNullable<TenantMigrationStatus["report"]> {
  const before = new Map((status.report?.principals ?? []).map((p) => [p.resource, p]));
  const principals = identities.map((identity) => {
    const resource = `${identity.kind}/${identity.metadata.namespace}/${identity.metadata.name}`;
    const old = before.get(resource);
    const restarted = restartedFor(identity);
    return {
      resource,
      ...(old?.oldPrincipalId ? { oldPrincipalId: old.oldPrincipalId } : {}),
      ...(identity.status?.principalId ? { newPrincipalId: identity.status.principalId } : {}),
      ...(old?.oldClientId ? { oldClientId: old.oldClientId } : {}),
      ...(identity.status?.clientId ? { newClientId: identity.status.clientId } : {}),
      ...(restarted.length > 0 ? { restarted } : {}),
    };
  });
  const done = progress.progress.reduce((sum, entry) => sum + entry.done, 0);
  const total = progress.progress.reduce((sum, entry) => sum + entry.total, 0);
  const startedAt = status.report?.startedAt;
  const completedAt = new Date().toISOString();
  const seconds = startedAt ? (Date.parse(completedAt) - Date.parse(startedAt)) / 1000 : undefined;
  // Key Vaults (issue 14): others' entries that went with the old tenant.
  const vaults = (status.plan?.keyVaults ?? []).filter((vault) => vault.foreignEntries.length > 0);
  const byHand = vaults.reduce((sum, vault) => sum + vault.foreignEntries.length, 0);
  const vaultNote =
    byHand > 0
      ? `; ${plural(byHand, "Key Vault access-policy entry", "Key Vault access-policy entries")} of others to grant again by hand (report.grantAgainByHand)`
      : "";
  return {
    ...(startedAt ? { startedAt } : {}),
    completedAt,
    actionsDone: done,
    actionsFailed: total - done,
    principals,
    ...(vaults.length > 0 ? { grantAgainByHand: vaults } : {}),
    summary:
      (failed
        ? `${plural(progress.failed, "resource")} could not be repaired (see failures); ${progress.done} ${progress.done === 1 ? "was" : "were"}`
        : `${plural(progress.done, "resource")} repaired${seconds === undefined ? "" : ` in ${formatDuration(seconds)}`}; ` +
          "tokens issued to the old principals stay valid until they expire (up to about 24 h)") + vaultNote,
  };
}
