// What `azid demo` reports after the repair: each resource before and after (principal ids, what
// was re-created and re-granted), the time taken against the floor ARM's limits force, the ARM
// calls and 429s, and whether Azure is exactly as declared. The same facts make the HTML page of
// `azid remediate` (--report FILE.html).
import { ConditionType } from "../../api/conditions.js";
import type { MigrationPlan, TenantMigrationStatus } from "../../api/schemas/tenant-migration.js";
import type { ActionKind, LimitClass } from "../../plan/actions.js";
import { ARM_BUCKETS } from "../../plan/limits.js";
import { plural } from "../../util/text.js";
import type { PlannedAction, RemediationReport, ResourceReport } from "../remediation-report.js";
import { formatSeconds } from "../remediation-report.js";
import type { TimelinePoint } from "../request-log.js";
import type { Declared } from "./exact-state.js";

/** The sandbox's ARM counters (`GET /_sandbox/stats`), from the start of the repair. */
/** Below this floor (ARM seconds) ARM's limits do not bind: the repair's own call chain does. */
const SMALL_REPAIR_ARM_SECONDS = 60;

export interface ArmStats {
  requests: { read: number; write: number; delete: number };
  throttled: number;
  byStatus: Record<string, number>;
  /** One point per real second with traffic. */
  timeline: Array<{
    second: number;
    read: number;
    write: number;
    delete: number;
    identityCreate: number;
    ficWrite: number;
    throttled: number;
  }>;
}

export interface DemoFacts {
  subscriptionId: string;
  fromTenantId: string;
  toTenantId: string;
  timeScale: number;
  startedAt: string;
  finishedAt: string;
  /** Real seconds from approval to Succeeded. */
  repairSeconds: number;
  migration: TenantMigrationStatus;
  /** The resources (with statuses) when all were Ready before the move, and after the repair. */
  before: Declared;
  after: Declared;
  /** What the move deleted in Azure. */
  deleted: { roleAssignments: number; customRoles: number };
  arm: ArmStats;
  /** How Azure differs from the declaration after the repair (empty: exact). */
  differences: string[];
}

type Resource =
  | Declared["userAssigned"][number]
  | Declared["systemAssigned"][number]
  | Declared["customRoles"][number];

const refOf = (resource: Resource) =>
  `${resource.kind}/${resource.metadata.namespace ?? ""}/${resource.metadata.name}`;
const all = (declared: Declared): Resource[] => [
  ...declared.customRoles,
  ...declared.userAssigned,
  ...declared.systemAssigned,
];
const principalOf = (resource: Resource | undefined) =>
  (resource?.status as { principalId?: string; clientId?: string; tenantId?: string } | undefined) ?? {};
const isReady = (resource: Resource | undefined) =>
  (resource?.status?.conditions ?? []).some((c) => c.type === ConditionType.Ready && c.status === "True");

/** What the repair did to one resource, in words, from the actions the plan gave it. */
function whatWasDone(
  resource: Resource,
  actions: readonly MigrationPlan["actions"][number][],
  deletedRoles: number,
) {
  const count = (kind: ActionKind, verb?: string) =>
    actions.filter((a) => a.kind === kind && (!verb || a.description.startsWith(verb))).length;
  if (resource.kind === "CustomRole") {
    return count("PutRoleDefinition") > 0 || deletedRoles > 0
      ? "restored (the move deleted it; a definition deletes nothing, so azid writes it back as soon as its credential works)"
      : "unchanged";
  }
  const parts: string[] = [];
  if (count("CreateIdentity") > 0) parts.push("deleted and re-created");
  if (count("PatchResourceIdentity", "disable") > 0) parts.push("turned off and on again");
  if (count("PutFederatedCredential") > 0) parts.push(plural(count("PutFederatedCredential"), "credential"));
  if (count("PatchResourceIdentity", "attach") > 0)
    parts.push(`re-attached to ${plural(count("PatchResourceIdentity", "attach"), "VM")}`);
  if (count("PutRoleAssignment") > 0) parts.push(`${plural(count("PutRoleAssignment"), "role")} re-granted`);
  if (count("GrantAppRole") > 0) parts.push(`${plural(count("GrantAppRole"), "Graph app role")} re-granted`);
  return parts.join("; ") || "nothing to do";
}

/** The workloads restarted for the identity's current client id (status.serviceAccounts). */
function restartedWorkloads(resource: { status?: unknown }): string[] {
  const status = resource.status as
    | { clientId?: string; serviceAccounts?: Array<{ restartedFor?: string; restarted?: string[] }> }
    | undefined;
  return (status?.serviceAccounts ?? [])
    .filter((account) => account.restartedFor !== undefined && account.restartedFor === status?.clientId)
    .flatMap((account) => account.restarted ?? []);
}

export function formatDemoReport(facts: DemoFacts): string {
  const plan = facts.migration.plan;
  const actionsOf = (ref: string) => (plan?.actions ?? []).filter((a) => a.resource === ref);
  const before = new Map(all(facts.before).map((r) => [refOf(r), r]));
  const rows = all(facts.after).map((resource) => {
    const ref = refOf(resource);
    const old = principalOf(before.get(ref)).principalId;
    const now = principalOf(resource).principalId;
    const oldClient = principalOf(before.get(ref)).clientId;
    const newClient = principalOf(resource).clientId;
    const clients = oldClient || newClient ? `\n      client ${oldClient ?? "-"} -> ${newClient ?? "-"}` : "";
    const principals =
      resource.kind === "CustomRole" ? "" : `\n      principal ${old ?? "-"} -> ${now ?? "-"}${clients}`;
    const restarted = restartedWorkloads(resource);
    const workloads = restarted.length > 0 ? `\n      workloads restarted: ${restarted.join(", ")}` : "";
    const state = isReady(resource) ? "Ready" : "NOT Ready";
    const done = whatWasDone(resource, actionsOf(ref), facts.deleted.customRoles);
    return `  ${resource.kind} ${resource.metadata.name} (${state})${principals}${workloads}\n      ${done}`;
  });
  const floor = (plan?.floorSeconds ?? 0) / facts.timeScale;
  // A repair of a few resources is a chain of dependent calls (detach, delete, create, attach,
  // grant): their round trips, not ARM's buckets, set its time. Say so rather than let the ratio alarm.
  const smallRepair = (plan?.floorSeconds ?? 0) < SMALL_REPAIR_ARM_SECONDS;
  const ratio =
    floor > 0
      ? ` (${(facts.repairSeconds / floor).toFixed(1)}x the floor${smallRepair ? "; a repair this small waits on the round trips of its dependent steps, not on ARM's limits" : ""})`
      : "";
  const { read, write, delete: deletes } = facts.arm.requests;
  const exact =
    facts.differences.length === 0
      ? `exactly as declared: ${summary(facts.after)}`
      : `NOT as declared (${plural(facts.differences.length, "difference")}):\n${facts.differences.map((d) => `    ${d}`).join("\n")}`;
  return [
    `Before and after the repair (tenant ${facts.fromTenantId} -> ${facts.toTenantId}):`,
    ...rows,
    "",
    `Repair: ${plural(plan?.total ?? 0, "action")} in ${formatSeconds(facts.repairSeconds, facts.timeScale)}; ` +
      `ARM's documented limits allow ${formatSeconds(floor, facts.timeScale)} at best${ratio}`,
    `ARM calls during the repair: ${read + write + deletes} (${read} reads, ${write} writes, ${deletes} deletes), ` +
      `${facts.arm.throttled} answered 429`,
    `Azure now: ${exact}`,
  ].join("\n");
}

function summary(declared: Declared): string {
  const identities = declared.userAssigned.length + declared.systemAssigned.length;
  // A credential per ServiceAccount too, when the issuer is known (the exact-state check wants them).
  const perServiceAccount = declared.serviceAccountIssuer === undefined ? 0 : 1;
  const credentials = declared.userAssigned.reduce(
    (n, r) =>
      n +
      (r.spec.federatedCredentials?.length ?? 0) +
      perServiceAccount * (r.spec.serviceAccounts?.length ?? 0),
    0,
  );
  const attachments = declared.userAssigned.reduce((n, r) => n + (r.spec.attachTo?.length ?? 0), 0);
  const grants = [...declared.userAssigned, ...declared.systemAssigned].reduce(
    (n, r) => n + (r.spec.roleAssignments?.length ?? 0),
    0,
  );
  const appRoles = [...declared.userAssigned, ...declared.systemAssigned].reduce(
    (n, r) => n + (r.spec.graphAppRoles?.length ?? 0),
    0,
  );
  return [
    plural(identities, "identity", "identities"),
    plural(credentials, "federated credential"),
    plural(attachments, "attachment"),
    plural(grants, "role assignment"),
    plural(declared.customRoles.length, "custom role"),
    plural(appRoles, "Graph app role"),
  ].join(", ");
}

/** The facts as `azid remediate`'s report, for its HTML page. */
export function remediationReportOf(facts: DemoFacts): RemediationReport {
  const plan = facts.migration.plan;
  const actions = plan?.actions ?? [];
  const before = new Map(all(facts.before).map((r) => [refOf(r), r]));
  const resources: ResourceReport[] = all(facts.after).map((resource) => {
    const ref = refOf(resource);
    const mine = actions.filter((a) => a.resource === ref);
    const done: ResourceReport["done"] = {};
    for (const action of mine) done[action.kind as ActionKind] = (done[action.kind as ActionKind] ?? 0) + 1;
    const ready = resource.status?.conditions?.find((c) => c.type === ConditionType.Ready);
    return {
      resource: ref,
      state: isReady(resource) ? "ready" : "failed",
      ...(ready && ready.status !== "True" ? { reason: ready.reason, message: ready.message } : {}),
      before: principalOf(before.get(ref)),
      after: principalOf(resource),
      done,
      writes: mine.map((a) => ({ kind: a.kind as ActionKind, description: a.description })),
      errors: [],
    };
  });
  return {
    subscriptionId: facts.subscriptionId,
    toTenantId: facts.toTenantId,
    fromTenantIds: [facts.fromTenantId],
    startedAt: facts.startedAt,
    finishedAt: facts.finishedAt,
    timeScale: facts.timeScale,
    plan: {
      total: plan?.total ?? 0,
      counts: Object.fromEntries((plan?.counts ?? []).map((c) => [c.kind, c.count])),
      floorSeconds: (plan?.floorSeconds ?? 0) / facts.timeScale,
      floorByClass: (plan?.floorByClass ?? []).map((c) => ({
        class: c.class as LimitClass,
        calls: c.calls,
        floorSeconds: c.floorSeconds / facts.timeScale,
      })),
      actions: actions.map(
        (a): PlannedAction => ({
          resource: a.resource,
          kind: a.kind as ActionKind,
          phase: phaseOf(a),
          target: a.target,
          description: a.description,
        }),
      ),
    },
    applied: true,
    verdict: {
      asDeclared: facts.differences.length === 0,
      basis: "Azure's estate read after the repair and compared with the manifests",
      differences: facts.differences,
    },
    seconds: facts.repairSeconds,
    resources,
    arm: armTotals(facts.arm),
    timeline: armSeconds(facts.arm, facts.timeScale),
    repairStartSecond: 0,
    limitsPerSecond: Object.fromEntries(
      Object.entries(ARM_BUCKETS).map(([cls, bucket]) => [cls, bucket.perSecond]),
    ) as Record<LimitClass, number>,
  };
}

/** The repair phase of a planned action (a TenantMigration's plan lists them in this order). */
function phaseOf(action: { kind: string; description: string }): string {
  if (action.kind === "PutRoleDefinition") return "customRoles";
  if (action.kind === "DeleteIdentity" || /^(detach|disable)/.test(action.description)) return "teardown";
  if (action.kind === "PutRoleAssignment" || action.kind === "GrantAppRole") return "grants";
  if (action.description.startsWith("attach")) return "attachments";
  return "identities";
}

const CLASSES: readonly LimitClass[] = ["read", "write", "delete", "identityCreate", "ficWrite"];

function armTotals(arm: ArmStats): NonNullable<RemediationReport["arm"]> {
  const byClass = Object.fromEntries(
    CLASSES.map((cls) => [cls, arm.timeline.reduce((sum, point) => sum + point[cls], 0)]),
  ) as Record<LimitClass, number>;
  return {
    calls: arm.requests.read + arm.requests.write + arm.requests.delete,
    byClass,
    throttled: arm.throttled,
    byStatus: arm.byStatus,
  };
}

/**
 * The sandbox counts calls per real second; one real second stands for `timeScale` ARM seconds,
 * so its calls are spread evenly over them (whole calls, the remainder on the first ones) to
 * compare with ARM's per-second limits. Its 429s have no class: they mark every class that had
 * calls in that second.
 */
function armSeconds(arm: ArmStats, timeScale: number): TimelinePoint[] {
  const span = Math.max(1, Math.round(timeScale));
  const share = (total: number, step: number) => Math.floor(total / span) + (step < total % span ? 1 : 0);
  const bySecond = new Map(arm.timeline.map((point) => [point.second, point]));
  const last = Math.max(-1, ...arm.timeline.map((point) => point.second));
  const points: TimelinePoint[] = [];
  for (let real = 0; real <= last; real++) {
    const point = bySecond.get(real);
    for (let step = 0; step < span; step++) {
      const calls = {} as Record<LimitClass, number>;
      const throttled = {} as Record<LimitClass, number>;
      for (const cls of CLASSES) {
        calls[cls] = share(point?.[cls] ?? 0, step);
        throttled[cls] = point && point[cls] > 0 ? share(point.throttled, step) : 0;
      }
      points.push({ second: real * span + step, calls, throttled });
    }
  }
  return points;
}
