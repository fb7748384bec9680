// Reconcile once, without a cluster: what the controller does for each resource (plan, act,
// fold, plan again: converge()), with custom roles first and then identities, many resources at
// a time, retryable failures retried after their Retry-After or a backoff, and each status kept
// in the state store before the writes it announces are sent.

import { ConditionType, Reason } from "../api/conditions.js";
import type { Condition } from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { ClusterIssuer } from "../api/workload-identity.js";
import type { AzureError } from "../azure/errors.js";
import type { ActionExecutor } from "../azure/executor.js";
import { converge } from "../engine/converge.js";
import { judgeAll, type Verdict } from "../engine/error-policy.js";
import { plannerOf } from "../engine/kinds.js";
import { isRead, type WriteAction } from "../plan/actions.js";
import { emptyObserved, type ObservedState } from "../plan/observed.js";
import type { Notice } from "../plan/plan-types.js";
import type { PolicyDecision } from "../plan/policy.js";
import type { ErrorCode } from "../util/errors.js";
import { pool } from "../util/pool.js";
import { type ManagedResource, resourceKey } from "./manifests.js";
import { subscriptionOfResource } from "./resources.js";
import type { StateStore } from "./state-file.js";

export type ResourceState = "ready" | "failed" | "awaitingRepair";

export interface ResourceOutcome {
  key: string;
  resource: ManagedResource;
  state: ResourceState;
  /** The Ready condition the resource ended with. */
  ready?: Condition;
  status: unknown;
  /** Writes sent to Azure, in order, across attempts. */
  writes: WriteAction[];
  /** The failures of the last attempt. */
  /** Azure's code, azid's stable code (src/util/errors.ts) and the message of each. */
  errors: Array<{ code: string; errorCode: ErrorCode; message: string }>;
  notices: Notice[];
  attempts: number;
  startedAt: number;
  finishedAt: number;
  /** Azure as the last attempt left it (what later resources may start from). */
  observed: ObservedState;
}

export interface ReconcileOptions {
  executor: ActionExecutor;
  state: StateStore;
  decide: (resource: ManagedResource) => PolicyDecision;
  /** Whether a resource's tenant move may be repaired in this run (remediate: yes; apply: Auto policies). */
  allowTenantRepair: (resource: ManagedResource, decision: PolicyDecision) => boolean;
  /** The CustomRoles declared in a namespace (customRoleRef and custom role names resolve to them). */
  customRolesOf: (namespace: string) => readonly CustomRole[];
  /** The cluster's service-account issuer, for the serviceAccounts' federated credentials. */
  serviceAccountIssuer?: ClusterIssuer;
  /** Resources reconciled at once. */
  concurrency: number;
  /** Runs of converge() per resource while failures are retryable. */
  maxAttempts: number;
  /** The first retry's delay; doubles per attempt (scaled down for a fast sandbox). */
  baseDelayMs: number;
  /**
   * Azure as just read for the whole run (remediate's plan): the first attempt of each resource
   * starts from it instead of reading everything again; later attempts read afresh.
   */
  initialObserved?: ObservedState;
  onDone?: (outcome: ResourceOutcome) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** Custom roles first (assignments need them), then identities; returns one outcome per resource. */
export async function reconcileAll(
  resources: readonly ManagedResource[],
  options: ReconcileOptions,
): Promise<ResourceOutcome[]> {
  const roles = resources.filter((r) => r.kind === "CustomRole");
  const identities = resources.filter((r) => r.kind !== "CustomRole");
  const outcomes = await pool(roles, options.concurrency, (r) => reconcileResource(r, options));
  // Identities start from what the custom roles left: the role definitions just written.
  const seed = options.initialObserved && withRoleDefinitionsOf(options.initialObserved, outcomes);
  const identityOptions = seed ? { ...options, initialObserved: seed } : options;
  outcomes.push(
    ...(await pool(identities, options.concurrency, (r) => reconcileResource(r, identityOptions))),
  );
  return outcomes;
}

function withRoleDefinitionsOf(observed: ObservedState, outcomes: readonly ResourceOutcome[]): ObservedState {
  const roleDefinitions = { ...observed.roleDefinitions };
  const roleDefinitionsByName = { ...observed.roleDefinitionsByName };
  for (const outcome of outcomes) {
    Object.assign(roleDefinitions, outcome.observed.roleDefinitions);
    Object.assign(roleDefinitionsByName, outcome.observed.roleDefinitionsByName);
  }
  return { ...observed, roleDefinitions, roleDefinitionsByName };
}

export async function reconcileResource(
  resource: ManagedResource,
  options: ReconcileOptions,
): Promise<ResourceOutcome> {
  const key = resourceKey(resource);
  const startedAt = Date.now();
  const decision = options.decide(resource);
  const namespace = resource.metadata.namespace ?? "default";
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  let status: unknown = options.state.status(key) ?? resource.status;
  const writes: WriteAction[] = [];
  const notices: Notice[] = [];
  let errors: AzureError[] = [];
  let attempts = 0;
  let lastObserved: ObservedState = emptyObserved();
  while (attempts < options.maxAttempts) {
    attempts++;
    const planner = plannerOf(resource, {
      now: new Date().toISOString(),
      policy: decision,
      customRoles: options.customRolesOf(namespace),
      allowTenantRepair: options.allowTenantRepair(resource, decision),
      ...(options.serviceAccountIssuer ? { serviceAccountIssuer: options.serviceAccountIssuer } : {}),
    });
    let latest: unknown = status;
    const run = await converge<unknown>(
      (observed, previous) => {
        const result = planner(observed, previous);
        latest = result.status;
        return result;
      },
      attempts === 1 && options.initialObserved ? options.initialObserved : emptyObserved(),
      {
        executor: options.executor,
        subscriptionId: subscriptionOfResource(resource),
        initialStatus: status,
        // What the writes are about to create must be on record before they are sent.
        beforeWrites: () => options.state.save(key, latest),
      },
    );
    status = run.final.status;
    await options.state.save(key, status);
    writes.push(...run.executed.filter((action): action is WriteAction => !isRead(action)));
    for (const notice of run.notices) {
      if (!notices.some((n) => n.message === notice.message)) notices.push(notice);
    }
    errors = run.errors;
    lastObserved = run.observed;
    // The controller's error policy: what it retries (with backoff, or after Retry-After) is
    // retried here; what it stops on (a terminal verdict) ends this resource's run.
    const verdict = judgeAll(errors);
    // Still waiting for something (a principal, a custom role, a long-running change) without
    // any failure: look again with fresh reads.
    const waiting = !verdict && WAITING.has(readyOf(status).ready?.reason ?? "");
    const again = waiting || (verdict !== undefined && verdict.kind !== "terminal");
    if (!again || attempts >= options.maxAttempts) break;
    await sleep(retryDelay(verdict, attempts, options.baseDelayMs));
  }
  const outcome: ResourceOutcome = {
    key,
    resource,
    state: stateOf(status),
    ...readyOf(status),
    status,
    writes,
    errors: errors.map((error) => ({ code: error.code, errorCode: error.errorCode, message: error.message })),
    notices,
    attempts,
    startedAt,
    finishedAt: Date.now(),
    observed: lastObserved,
  };
  options.onDone?.(outcome);
  return outcome;
}

function conditionsOf(status: unknown): Condition[] {
  return ((status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];
}

function readyOf(status: unknown): { ready?: Condition } {
  const ready = conditionsOf(status).find((c) => c.type === ConditionType.Ready);
  return ready ? { ready } : {};
}

function stateOf(status: unknown): ResourceState {
  const conditions = conditionsOf(status);
  if (conditions.find((c) => c.type === ConditionType.Ready)?.status === "True") return "ready";
  const mismatch = conditions.find((c) => c.type === ConditionType.TenantMismatch);
  return mismatch?.status === "True" ? "awaitingRepair" : "failed";
}

/** Ready reasons of a resource that is still on its way, not stopped. */
const WAITING = new Set<string>([Reason.Progressing, Reason.Waiting]);

/** Backoff doubling per attempt, or the wait a throttle asked for when it is longer. */
function retryDelay(verdict: Verdict | undefined, attempt: number, baseDelayMs: number): number {
  const backoff = Math.min(baseDelayMs * 2 ** (attempt - 1), 30 * baseDelayMs);
  return Math.max(backoff, verdict?.kind === "throttled" ? verdict.retryAfterMs : 0);
}
