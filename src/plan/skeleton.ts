// The skeleton every planner shares: the owner of its actions, the reads it asks for, the
// previous status, the gates that stop a plan before it looks at Azure (an invalid spec, a
// policy refusal, a deletion that leaves Azure alone), the tenant check and the result. Pure.
import { parseScope, sameId } from "../api/arm-id.js";
import { builtinRoleByName } from "../api/builtin-roles.js";
import { Reason, replaceConditions } from "../api/conditions.js";
import type { Condition, RoleAssignmentSpec } from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { SystemAssignedIdentity } from "../api/schemas/system-assigned-identity.js";
import type { UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import { type AzidResource, validateResource } from "../api/validate.js";
import type { ResourceRef, WriteAction } from "./actions.js";
import {
  type ItemOutcome,
  type PlannedCondition,
  pending,
  policyCondition,
  readyCondition,
  type TenantMismatch,
} from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import type { ActionFailure, ObservedState } from "./observed.js";
import { Observer } from "./observer.js";
import type { Notice, PlanContext, PlanResult } from "./plan-types.js";
import { type PolicyDecision, resourceViolations } from "./policy.js";
import { didYouMean, similarRoleNames } from "./roles.js";

/** The kinds a planner plans. */
export type PlannedResource = UserAssignedIdentity | SystemAssignedIdentity | CustomRole;
type StatusOf<R extends PlannedResource> = NonNullable<R["status"]> & {
  observedGeneration?: number;
  conditions?: Condition[];
};

/** Whether this plan may write, and why not. */
export interface WriteGate {
  writable: boolean;
  blockedBecause: string;
}

/** What decides whether a plan stops before it looks at Azure. */
export interface OpeningInput {
  /** Why the spec must not be acted on (invalidSpec), if it must not. */
  invalid: string | undefined;
  policy: PolicyDecision;
  deleting: boolean;
  /** Whether a deletion leaves Azure as it is: deletionPolicy Orphan, or observing only. */
  orphans: boolean;
  /** What the Orphaned condition says stays in Azure. */
  orphanMessage?: string;
}

/** A plan stopped by an opening gate: its Ready condition, whether the finalizer may go, its events. */
export interface OpeningStop {
  ready: PlannedCondition;
  deleted: boolean;
  notices: Notice[];
}

/**
 * The first opening gate, in order, that stops the plan: an invalid spec, a policy refusing the
 * whole resource (a refused item only blocks writes), a deletion that orphans. Undefined: go on.
 */
export function openingStop(input: OpeningInput): OpeningStop | undefined {
  const { policy, deleting } = input;
  if (input.invalid !== undefined) {
    const message = `the spec is invalid, nothing is done in Azure: ${input.invalid}`;
    return { ready: readyCondition("False", Reason.InvalidSpec, message), deleted: deleting, notices: [] };
  }
  if (resourceViolations(policy).length > 0) {
    const what = deleting ? "deleted without touching Azure" : "nothing is written to Azure";
    const message = `refused by policy, ${what}: ${policy.violations[0]?.message ?? ""}`;
    return {
      ready: readyCondition("False", Reason.PolicyDenied, message),
      deleted: deleting,
      notices: policyNotices(policy),
    };
  }
  if (deleting && input.orphans) {
    const message = input.orphanMessage ?? "deleted; Azure is left as it is";
    return { ready: readyCondition("False", Reason.Orphaned, message), deleted: true, notices: [] };
  }
  return undefined;
}

/** Who the principal is now and what the previous status recorded, against the subscription. */
export interface TenantInput {
  subscriptionTenantId: string;
  /** The tenant Azure reports for the principal, when it reports one. */
  principalTenantId: string | undefined;
  principalId: string | undefined;
  previous: { tenantId?: string | undefined; principalId?: string | undefined };
}

/**
 * The tenant move a principal shows, if any: its tenant is not the subscription's, or (Azure
 * keeps the old principal until it is re-created) the status recorded the same principal in
 * another tenant than the subscription's now.
 */
export function tenantMismatch(input: TenantInput): TenantMismatch | undefined {
  const { subscriptionTenantId: to, principalTenantId, previous } = input;
  const movedNow = principalTenantId !== undefined && !sameId(principalTenantId, to);
  const movedBefore =
    previous.tenantId !== undefined &&
    !sameId(previous.tenantId, to) &&
    sameId(previous.principalId, input.principalId);
  if (movedNow) return { from: principalTenantId, to };
  if (movedBefore) return { from: previous.tenantId as string, to };
  return undefined;
}

/**
 * One plan of one resource: the reads it asks for, the writes and notices it collects, and the
 * result it returns. Each planner makes one, runs `open()`, then plans its own kind.
 */
export class PlanFrame<R extends PlannedResource> {
  readonly owner: ResourceRef;
  readonly obs: Observer;
  readonly prev: StatusOf<R>;
  readonly writes: WriteAction[] = [];
  readonly notices: Notice[] = [];
  readonly deleting: boolean;

  constructor(
    readonly resource: R,
    observed: ObservedState,
    readonly context: Pick<PlanContext, "now" | "policy">,
  ) {
    const { kind, metadata } = resource;
    this.owner = { kind, namespace: metadata.namespace ?? "default", name: metadata.name };
    this.obs = new Observer(observed, this.owner);
    this.prev = (resource.status ?? {}) as StatusOf<R>;
    this.deleting = metadata.deletionTimestamp !== undefined;
  }

  /** The finished plan when an opening gate stops it (keeping the previous status), or undefined. */
  open(rules: Pick<OpeningInput, "orphans" | "orphanMessage">): PlanResult<StatusOf<R>> | undefined {
    const { policy } = this.context;
    const stop = openingStop({
      invalid: invalidSpec(this.resource),
      policy,
      deleting: this.deleting,
      ...rules,
    });
    if (!stop) return undefined;
    this.notices.push(...stop.notices);
    return this.finish({ ...this.prev }, [stop.ready, policyCondition(policy)], stop.deleted);
  }

  /**
   * Stops the plan before any write while a role named in roleAssignments is neither built-in
   * nor a declared CustomRole and Azure has not yet said that it exists (one lookup per name,
   * cached like any role lookup), or when Azure says it does not: RoleNotFound with the closest
   * names. A mistyped role writes nothing, instead of the identity and the other grants first.
   */
  unknownRoles(
    assignments: readonly RoleAssignmentSpec[] | undefined,
    customRoles: readonly CustomRole[],
  ): PlanResult<StatusOf<R>> | undefined {
    const missing: string[] = [];
    let lookingUp: string | undefined;
    for (const { role, scope } of assignments ?? []) {
      if (!role || builtinRoleByName(role)) continue;
      if (customRoles.some((custom) => custom.spec.roleName.toLowerCase() === role.toLowerCase())) continue;
      const parsed = parseScope(scope);
      // A name cannot be looked up at a management group: the grant says so (use roleDefinitionId).
      if (parsed.kind === "managementGroup") continue;
      const found = this.obs.roleDefinitionsByName(parsed.subscriptionId, role);
      if (found === undefined) lookingUp ??= role;
      else if (found.length === 0) {
        const hint = didYouMean(similarRoleNames(role, customRoles));
        missing.push(`role "${role}" does not exist in subscription ${parsed.subscriptionId}${hint}`);
      }
    }
    const { policy } = this.context;
    if (missing.length > 0) {
      const message = `${missing.join("; ")}; nothing is written to Azure until the role is fixed`;
      return this.finish({ ...this.prev }, [
        readyCondition("False", Reason.RoleNotFound, message),
        policyCondition(policy),
      ]);
    }
    if (lookingUp) {
      const message = `looking up role "${lookingUp}" before anything is written`;
      return this.finish({ ...this.prev }, [
        readyCondition("False", Reason.Progressing, message),
        policyCondition(policy),
      ]);
    }
    return undefined;
  }

  /** Warns that the subscription moved (an event). */
  noticeTenantMove(mismatch: TenantMismatch, subscriptionId?: string) {
    this.notices.push({
      type: "Warning",
      reason: Reason.TenantMoved,
      message: `subscription ${subscriptionId ? `${subscriptionId} ` : ""}moved from tenant ${mismatch.from} to ${mismatch.to}`,
    });
  }

  /** Queues a write unless it failed earlier in this reconcile; returns that failure then. */
  tryWrite(action: WriteAction): ActionFailure | undefined {
    const failure = this.obs.failureOf(action.key);
    if (!failure) this.writes.push(action);
    return failure;
  }

  /** The outcome of an item that needs `action`: waiting while writes are blocked, failed, or queued. */
  writeItem(action: WriteAction, gate: WriteGate, drift: string): ItemOutcome {
    if (!gate.writable) return pending(`${drift}; ${gate.blockedBecause}`, Reason.Waiting);
    const failure = this.tryWrite(action);
    if (failure)
      return { state: "Failed", reason: reasonForFailure(failure), message: describeFailure(failure) };
    return pending(action.description);
  }

  /** The plan: the reads asked for, then the writes; the status stamped; the notices. */
  finish(status: StatusOf<R>, conditions: PlannedCondition[], deleted = false): PlanResult<StatusOf<R>> {
    const generation = this.resource.metadata.generation;
    this.notices.push(...tokenNotices(this.writes));
    return {
      actions: [...this.obs.reads, ...this.writes],
      status: {
        ...status,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
        conditions: replaceConditions(this.prev.conditions, conditions, {
          now: this.context.now,
          generation,
        }),
      },
      notices: this.notices,
      deleted,
    };
  }
}

/** The events a policy refusal asks for: one warning naming every refused field and its rule. */
export function policyNotices(policy: PolicyDecision): Notice[] {
  if (policy.allowed) return [];
  return [
    {
      type: "Warning",
      reason: Reason.PolicyDenied,
      message: policy.violations.map((v) => `${v.field}: ${v.message} (${v.rule})`).join("; "),
    },
  ];
}

/**
 * Revocations and deletions do not reach tokens already issued: say so rather than pretend the
 * change took effect at once (managed identity tokens are cached for about 24 hours).
 */
export function tokenNotices(writes: readonly WriteAction[]): Notice[] {
  const notices: Notice[] = [];
  if (writes.some((w) => w.kind === "DeleteRoleAssignment" || w.kind === "RevokeAppRole")) {
    notices.push({
      type: "Normal",
      reason: Reason.TokenCaching,
      message:
        "revoking grants: tokens already issued keep them until they expire (managed identity tokens are cached for about 24 hours)",
    });
  }
  for (const write of writes) {
    if (write.kind === "DeleteIdentity") {
      notices.push({
        type: "Normal",
        reason: Reason.TokenCaching,
        message: `deleting ${write.identityId}: tokens already issued to it stay valid until they expire`,
      });
    }
  }
  return notices;
}

/**
 * Why a resource's spec must not be acted on, or undefined. The API server checks the same
 * schema at admission; this guards every other way in (files, an older CRD, a bypass), since
 * spec fields end up in ARM URLs.
 */
export function invalidSpec(resource: AzidResource): string | undefined {
  const { apiVersion, kind, metadata, spec } = resource;
  // A reconcile plans the same spec object many times: check it once.
  const known = checked.get(spec);
  if (known && known.name === metadata.name) return known.problem;
  const result = validateResource({ apiVersion, kind, metadata, spec });
  const problem = result.ok
    ? undefined
    : result.issues.map((issue) => `${issue.field}: ${issue.message}`).join("; ");
  checked.set(spec, { name: metadata.name, problem });
  return problem;
}

const checked = new WeakMap<object, { name: string; problem: string | undefined }>();
