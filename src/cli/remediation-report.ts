// What `azid remediate` reports: the plan, what was done per resource (principal ids before and
// after, what was re-created and re-granted), the time taken against the floor ARM's buckets
// force, the ARM calls and 429s, and the per-second timeline. The same data feeds the text,
// the JSON and the HTML page.
import { armIdKey, userAssignedIdentityId } from "../api/arm-id.js";
import type { ActionKind, LimitClass, WriteAction } from "../plan/actions.js";
import { formatRef } from "../plan/actions.js";
import { describePermissions } from "../plan/build.js";
import { ARM_BUCKETS } from "../plan/limits.js";
import type { ObservedState } from "../plan/observed.js";
import { type RemediationPlan, targetOf, type VaultRepair } from "../plan/remediation.js";
import { formatDuration, plural } from "../util/text.js";
import { type ClusterWiring, formatClusterWiring } from "./cluster-wiring.js";
import type { ManagedResource } from "./manifests.js";
import type { ResourceOutcome } from "./reconcile.js";
import type { RequestTotals, TimelinePoint } from "./request-log.js";
import { reasoned } from "./summary.js";

export interface PrincipalSnapshot {
  principalId?: string;
  /** User-assigned identities: what workloads authenticate with (a re-created identity has a new one). */
  clientId?: string;
  tenantId?: string;
}

/** Whether Azure ended as declared, and if not, what differs: the first thing a reader looks for. */
export interface Verdict {
  asDeclared: boolean;
  /** What was checked ("every resource is Ready", "Azure's estate compared with the manifests"). */
  basis: string;
  differences: string[];
}

export interface ResourceReport {
  resource: string;
  state: ResourceOutcome["state"];
  reason?: string;
  message?: string;
  before: PrincipalSnapshot;
  after: PrincipalSnapshot;
  /** Writes done, by action kind. */
  done: Partial<Record<ActionKind, number>>;
  writes: Array<{ kind: ActionKind; description: string }>;
  errors: Array<{ code: string; message: string }>;
}

export interface PlannedAction {
  resource: string;
  kind: ActionKind;
  phase: string;
  target: string;
  description: string;
}

export interface RemediationReport {
  subscriptionId: string;
  toTenantId?: string;
  fromTenantIds: string[];
  startedAt: string;
  finishedAt?: string;
  /** The sandbox's time scale (1 against Azure): the floor and limits below are in real seconds. */
  timeScale: number;
  plan: {
    total: number;
    counts: Partial<Record<ActionKind, number>>;
    floorSeconds: number;
    floorByClass: Array<{ class: LimitClass; calls: number; floorSeconds: number }>;
    actions: PlannedAction[];
  };
  applied: boolean;
  /** Set once the plan was applied. */
  verdict?: Verdict;
  seconds?: number;
  resources: ResourceReport[];
  arm?: RequestTotals;
  /** Calls per ARM second (real seconds times the time scale) from the command's start. */
  timeline?: TimelinePoint[];
  /** The ARM second of the timeline at which the repair started (before it: the plan's reads). */
  repairStartSecond?: number;
  /** Documented refill per second of each class (ARM seconds, like the timeline). */
  limitsPerSecond: Record<LimitClass, number>;
  /**
   * Key Vaults whose tenant the repair resets, each with the entries of principals azid does not
   * manage that go with the old tenant: to grant again by hand (issue 14).
   */
  vaults?: VaultRepair[];
  /** What the repair changed in the cluster for the identities' workloads (or would, without --kubeconfig). */
  clusterWiring?: ClusterWiring[];
  /** Whether clusterWiring was applied (--kubeconfig) or is what a cluster needs. */
  clusterApplied?: boolean;
}

export function planReport(
  subscriptionId: string,
  plan: RemediationPlan,
  timeScale: number,
  startedAt: Date,
): RemediationReport {
  return {
    subscriptionId,
    ...(plan.toTenantId ? { toTenantId: plan.toTenantId } : {}),
    fromTenantIds: plan.fromTenantIds,
    startedAt: startedAt.toISOString(),
    timeScale,
    plan: {
      total: plan.actions.length,
      counts: plan.counts,
      floorSeconds: plan.floor.seconds / timeScale,
      floorByClass: plan.floor.byClass.map((c) => ({ ...c, floorSeconds: c.floorSeconds / timeScale })),
      actions: plan.actions.map(plannedAction),
    },
    applied: false,
    resources: [],
    vaults: plan.vaults,
    limitsPerSecond: Object.fromEntries(
      Object.entries(ARM_BUCKETS).map(([cls, bucket]) => [cls, bucket.perSecond]),
    ) as Record<LimitClass, number>,
  };
}

function plannedAction(action: WriteAction): PlannedAction {
  return {
    resource: formatRef(action.owner),
    kind: action.kind,
    phase: action.phase,
    target: targetOf(action),
    description: action.description,
  };
}

/** A resource's principal as Azure showed it before the run. */
export function principalBefore(resource: ManagedResource, observed: ObservedState): PrincipalSnapshot {
  if (resource.kind === "UserAssignedIdentity") {
    const { spec, metadata } = resource;
    const id = userAssignedIdentityId(spec.subscriptionId, spec.resourceGroup, spec.name ?? metadata.name);
    const identity = observed.identities[armIdKey(id)];
    return identity
      ? { principalId: identity.principalId, clientId: identity.clientId, tenantId: identity.tenantId }
      : {};
  }
  if (resource.kind === "SystemAssignedIdentity") {
    const target = observed.targets[armIdKey(resource.spec.resourceId)];
    const identity = target?.state === "present" ? target.identity : undefined;
    return identity?.principalId ? { principalId: identity.principalId, tenantId: identity.tenantId } : {};
  }
  return {};
}

export function resourceReport(outcome: ResourceOutcome, before: PrincipalSnapshot): ResourceReport {
  const status = outcome.status as { principalId?: string; clientId?: string; tenantId?: string } | undefined;
  const done: Partial<Record<ActionKind, number>> = {};
  for (const write of outcome.writes) done[write.kind] = (done[write.kind] ?? 0) + 1;
  return {
    resource: outcome.key,
    state: outcome.state,
    ...(outcome.ready ? { reason: outcome.ready.reason, message: outcome.ready.message } : {}),
    before,
    after: {
      ...(status?.principalId ? { principalId: status.principalId } : {}),
      ...(status?.clientId ? { clientId: status.clientId } : {}),
      ...(status?.tenantId ? { tenantId: status.tenantId } : {}),
    },
    done,
    writes: outcome.writes.map((w) => ({ kind: w.kind, description: w.description })),
    errors: outcome.errors,
  };
}

const KIND_LABEL: Partial<Record<ActionKind, string>> = {
  DeleteIdentity: "deleted",
  CreateIdentity: "re-created",
  PutFederatedCredential: "credentials",
  PatchResourceIdentity: "identity changes",
  PutRoleAssignment: "grants",
  DeleteRoleAssignment: "grants removed",
  PutRoleDefinition: "custom roles",
  GrantAppRole: "Graph app roles",
  RevokeAppRole: "Graph app roles revoked",
};

/** Seconds, with what they stand for at Azure's pace when the sandbox runs faster. */
export function formatSeconds(value: number, timeScale: number): string {
  return timeScale === 1
    ? formatDuration(value)
    : `${formatDuration(value)} (${formatDuration(value * timeScale)} at Azure's pace)`;
}

/** The verdict of an applied run from its resources' states (the CLI reads no more of Azure after). */
export function verdictOfResources(resources: readonly ResourceReport[]): Verdict {
  const notReady = resources.filter((r) => r.state !== "ready");
  return {
    asDeclared: notReady.length === 0,
    basis: "every resource Ready after the repair",
    differences: notReady.map((r) => `${r.resource}: ${reasoned(r.reason, r.message) || r.state}`),
  };
}

export function formatPlanSummary(report: RemediationReport): string {
  const counts = Object.entries(report.plan.counts)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  const classes = report.plan.floorByClass
    .filter((c) => c.calls > 0)
    .map(
      (c) => `${c.class} ${plural(c.calls, "call")} (${formatDuration(c.floorSeconds * report.timeScale)})`,
    )
    .join(", ");
  return (
    `plan: ${plural(report.plan.total, "action")}: ${counts || "none"}\n` +
    `floor: ${formatSeconds(report.plan.floorSeconds, report.timeScale)} at ARM's documented limits` +
    `${classes ? ` · at Azure's pace: ${classes}` : ""}` +
    formatVaultRepairs(report.vaults, "the repair removes")
  );
}

/**
 * Each vault whose tenant the repair resets, and each entry of someone else it removes with the
 * old tenant: changing a vault's tenant affects every user of the vault, so they are all named.
 */
export function formatVaultRepairs(vaults: readonly VaultRepair[] | undefined, verb: string): string {
  return (vaults ?? [])
    .map((vault) => {
      const head = `\nKey Vault ${vault.vaultId}: tenant ${vault.fromTenantId} -> ${vault.toTenantId}`;
      const entries = vault.foreignEntries.map(
        (entry) =>
          `\n  ${verb} ${entry.objectId} (${describePermissions(entry.permissions)}): to grant again by hand`,
      );
      return head + entries.join("");
    })
    .join("");
}

export function formatReport(report: RemediationReport): string {
  const wiring = report.clusterWiring?.length
    ? `\n${formatClusterWiring(report.clusterWiring, report.clusterApplied ?? false)}`
    : "";
  return formatResourcesAndTotals(report) + wiring;
}

function formatResourcesAndTotals(report: RemediationReport): string {
  const lines = report.resources.map((r) => {
    const done = Object.entries(r.done)
      .map(([kind, n]) => `${KIND_LABEL[kind as ActionKind] ?? kind} ${n}`)
      .join(", ");
    const principals =
      r.before.principalId || r.after.principalId
        ? ` principal ${r.before.principalId ?? "-"} -> ${r.after.principalId ?? "-"}`
        : "";
    const clients =
      r.before.clientId || r.after.clientId
        ? `, client ${r.before.clientId ?? "-"} -> ${r.after.clientId ?? "-"}`
        : "";
    const why = r.state === "ready" ? "" : ` (${reasoned(r.reason, r.message)})`;
    return `  ${r.resource}: ${r.state}${principals}${clients}${done ? `; ${done}` : ""}${why}`;
  });
  const arm = report.arm;
  const ratio =
    report.seconds !== undefined && report.plan.floorSeconds > 0
      ? ` (${(report.seconds / report.plan.floorSeconds).toFixed(2)}x the floor)`
      : "";
  const vaults = formatVaultRepairs(report.vaults, "removed");
  return [
    `remediation of subscription ${report.subscriptionId}${report.toTenantId ? ` in tenant ${report.toTenantId}` : ""}:`,
    ...lines,
    ...(vaults ? [vaults.slice(1)] : []),
    `took ${formatSeconds(report.seconds ?? 0, report.timeScale)}, floor ${formatSeconds(report.plan.floorSeconds, report.timeScale)}${ratio}; ` +
      `${plural(arm?.calls ?? 0, "ARM call")} (reads ${arm?.byClass.read ?? 0}, writes ${arm?.byClass.write ?? 0}, ` +
      `deletes ${arm?.byClass.delete ?? 0}), ${arm?.throttled ?? 0} answered 429`,
  ].join("\n");
}
