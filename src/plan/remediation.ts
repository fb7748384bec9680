// The whole repair of a subscription after a tenant move, planned ahead: every resource's
// planner is run to its fixpoint against an imagined Azure in which every write succeeds, the
// actions are put in repair order (custom roles, teardown, identities, attachments, grants,
// cleanup) and counted, and ARM's buckets give the least time the repair can take. This is
// what `azid remediate` prints and a TenantMigration shows before approval.
import { armIdKey, userAssignedIdentityId } from "../api/arm-id.js";
import { ConditionType, getCondition, Reason } from "../api/conditions.js";
import type { ManagedResource } from "../api/managed-resource.js";
import type { Condition } from "../api/schemas/common.js";
import { MICROSOFT_GRAPH_APP_ID } from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { SystemAssignedIdentity } from "../api/schemas/system-assigned-identity.js";
import type { MigrationPlan } from "../api/schemas/tenant-migration.js";
import type { UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import type { ClusterIssuer } from "../api/workload-identity.js";
import {
  type Action,
  type ActionKind,
  formatRef,
  isRead,
  PHASE_ORDER,
  type ReadAction,
  type ResourceRef,
  type WriteAction,
  writesOf,
} from "./actions.js";
import type { ActionResult } from "./apply-result.js";
import * as build from "./build.js";
import { type Floor, floorOf } from "./limits.js";
import {
  listingKey,
  type ObservedState,
  principalKey,
  servicePrincipalKey,
  subscriptionKey,
  type VaultPermissions,
} from "./observed.js";
import type { PlannerOf } from "./plan-types.js";
import type { PolicyDecision } from "./policy.js";
import { simulate } from "./simulate.js";

export interface DeclaredResources {
  userAssigned: readonly UserAssignedIdentity[];
  systemAssigned: readonly SystemAssignedIdentity[];
  customRoles: readonly CustomRole[];
}

export interface RemediationInput {
  subscriptionId: string;
  /** The resources declared for this subscription. */
  declared: DeclaredResources;
  /** Azure as read now (complete: see remediationReads). */
  observed: ObservedState;
  now: string;
  policy: (resource: UserAssignedIdentity | SystemAssignedIdentity | CustomRole) => PolicyDecision;
  /**
   * Whether a resource's tenant move may be repaired (default: yes, a remediation). `azid plan`
   * passes what apply would do: only where a policy asks for automatic repair.
   */
  allowTenantRepair?: (resource: UserAssignedIdentity | SystemAssignedIdentity | CustomRole) => boolean;
  /** Each resource's planner: the engine's kind registry (plannerOf of src/engine/kinds.ts). */
  plannerOf: PlannerOf;
  /** The cluster's service-account issuer: the ServiceAccounts' credentials are re-created with it. */
  serviceAccountIssuer?: ClusterIssuer;
}

export interface RemediationPlan {
  subscriptionId: string;
  /** Tenants the declared identities still belong to. */
  fromTenantIds: string[];
  /**
   * Resources (attach targets) whose own system-assigned identity is still of another tenant but
   * that no SystemAssignedIdentity declares: azid does not manage it, so no repair changes it;
   * say so once, as a warning, instead of counting it as pending.
   */
  undeclaredSystemIdentities: Array<{ resourceId: string; tenantId: string }>;
  /**
   * Resources the plan stops before any write for a fault of their own spec (a role that exists
   * nowhere, an invalid spec, a target that does not exist): not silently left out of the plan.
   */
  blocked: Array<{ resource: ResourceRef; reason: string; message: string }>;
  toTenantId?: string;
  /**
   * Every write, in repair order. Principal ids not known before the repair read "(new principal
   * of ...)". What to do is exact; request bodies are indicative where resources share a target
   * (execution re-plans each resource from Azure as it goes).
   */
  actions: WriteAction[];
  counts: Partial<Record<ActionKind, number>>;
  /** Resources with at least one action. */
  affected: ResourceRef[];
  floor: Floor;
  /** What the plan had to assume because it was not read (it should be empty). */
  assumptions: string[];
  /**
   * Key Vaults whose tenant the repair resets, with the entries of other principals than azid's
   * that it removes: they name the old tenant's objects and must be granted again by hand.
   */
  vaults: VaultRepair[];
}

export interface VaultRepair {
  vaultId: string;
  fromTenantId: string;
  toTenantId: string;
  /** Entries of principals azid does not manage, removed with the old tenant. */
  foreignEntries: Array<{ objectId: string; tenantId: string; permissions: VaultPermissions }>;
}

function refOf(resource: ManagedResource): ResourceRef {
  return {
    kind: resource.kind,
    namespace: resource.metadata.namespace ?? "default",
    name: resource.metadata.name,
  };
}

function planOf(resource: ManagedResource, input: RemediationInput) {
  const namespace = resource.metadata.namespace ?? "default";
  return input.plannerOf(resource, {
    now: input.now,
    policy: input.policy(resource),
    customRoles: input.declared.customRoles.filter(
      (role) => (role.metadata.namespace ?? "default") === namespace,
    ),
    allowTenantRepair: input.allowTenantRepair?.(resource) ?? true,
    ...(input.serviceAccountIssuer ? { serviceAccountIssuer: input.serviceAccountIssuer } : {}),
  });
}

const ordered = (input: RemediationInput): ManagedResource[] => [
  ...input.declared.customRoles,
  ...input.declared.userAssigned,
  ...input.declared.systemAssigned,
];

/**
 * The reads the repair plan still needs; run them, fold them in with applyResult, and ask
 * again until none is left. Beyond what the planners ask for now, it reads what they will ask
 * for once new principals exist: the Graph service principals of the new tenant, and the grants
 * still recorded for the old principals (normally gone with the move; if not, the plan removes them).
 */
export function remediationReads(input: RemediationInput): ReadAction[] {
  const reads = new Map<string, ReadAction>();
  for (const resource of ordered(input)) {
    for (const action of planOf(resource, input)(input.observed, resource.status).actions) {
      if (isRead(action)) reads.set(action.key, action);
    }
  }
  const tenantId = input.observed.subscriptions[subscriptionKey(input.subscriptionId)]?.tenantId;
  if (!tenantId) return [...reads.values()];
  const { observed } = input;
  for (const resource of [...input.declared.userAssigned, ...input.declared.systemAssigned]) {
    const owner = refOf(resource);
    const want = (action: ReadAction, known: unknown) => {
      if (known === undefined) reads.set(action.key, action);
    };
    for (const role of resource.spec.graphAppRoles ?? []) {
      const appId = role.resourceAppId ?? MICROSOFT_GRAPH_APP_ID;
      want(
        build.readServicePrincipal(owner, tenantId, appId),
        observed.servicePrincipals[servicePrincipalKey(tenantId, appId)],
      );
    }
    for (const entry of resource.status?.roleAssignments ?? []) {
      if (!entry.owned || !entry.principalId) continue;
      const listing = build.listingScopeFor(entry.scope);
      want(
        build.listRoleAssignments(owner, listing, entry.principalId),
        observed.roleAssignments[listingKey(listing, entry.principalId)],
      );
    }
    // Key Vaults (issue 14): read up front, the plan lists what a tenant repair changes on each.
    for (const { vaultId } of [
      ...(resource.spec.keyVaultAccessPolicies ?? []),
      ...(resource.status?.keyVaultAccessPolicies ?? []),
    ]) {
      want(build.readVault(owner, vaultId), observed.vaults[armIdKey(vaultId)]);
    }
    for (const entry of resource.status?.graphAppRoles ?? []) {
      if (!entry.owned || !entry.principalId) continue;
      want(
        build.listAppRoleAssignments(owner, tenantId, entry.principalId),
        observed.appRoleAssignments[principalKey(entry.principalId)],
      );
    }
  }
  return [...reads.values()];
}

const placeholder = (what: string, owner: ResourceRef) => `(new ${what} of ${formatRef(owner)})`;

/** Azure as the plan imagines it: every write succeeds; what was never read is absent or empty. */
function imagine(tenantId: string, assumptions: Set<string>) {
  const created = new Set<string>();
  return (action: Action): ActionResult => {
    switch (action.kind) {
      case "CreateIdentity": {
        created.add(armIdKey(action.identityId));
        const name = action.identityId.split("/").pop() as string;
        return {
          identity: {
            id: action.identityId,
            name,
            location: action.location,
            tags: action.tags,
            principalId: placeholder("principal", action.owner),
            clientId: placeholder("client id", action.owner),
            tenantId,
          },
        };
      }
      case "PatchResourceIdentity": {
        const enablesSystem =
          action.expected.type.startsWith("SystemAssigned") && !action.expected.principalId;
        return {
          resourceIdentity: enablesSystem
            ? { ...action.expected, principalId: placeholder("principal", action.owner), tenantId }
            : action.expected,
        };
      }
      case "GrantAppRole":
        return {
          appRoleAssignment: {
            id: placeholder(`app role assignment ${action.appRoleId}`, action.owner),
            principalId: action.principalId,
            resourceId: action.resourceServicePrincipalId,
            appRoleId: action.appRoleId,
          },
        };
      // Lists of a principal or identity the repair creates are empty; anything else is an assumption.
      case "ListFederatedCredentials":
        if (!created.has(armIdKey(action.identityId))) assumptions.add(action.description);
        return { federatedCredentials: [] };
      case "ListRoleAssignments":
        assumeUnlessNew(action, assumptions);
        return { roleAssignments: [] };
      case "ListAppRoleAssignments":
        assumeUnlessNew(action, assumptions);
        return { appRoleAssignments: [] };
      case "ReadSubscription":
      case "ReadIdentity":
      case "ReadTarget":
      case "ReadRoleDefinition":
      case "FindRoleDefinitions":
      case "ReadServicePrincipal":
      case "ReadVault":
        assumptions.add(action.description);
        return { failure: { code: "NotFound", message: "not read before planning", status: 404 } };
      default:
        return {};
    }
  };
}

function assumeUnlessNew(action: Action, assumptions: Set<string>) {
  if (!action.key.includes("(new ")) assumptions.add(action.description);
}

export function planRemediation(input: RemediationInput): RemediationPlan {
  const subscription = input.observed.subscriptions[subscriptionKey(input.subscriptionId)];
  const toTenantId = subscription?.tenantId;
  const assumptions = new Set<string>();
  const answer = imagine(toTenantId ?? "(unknown tenant)", assumptions);
  const steps: Array<{ order: number; action: WriteAction }> = [];
  // Each resource plays against its own slice of Azure (copying the whole state on every
  // imagined write would cost O(resources) each); what it changes is merged back for the next.
  const world = mutableCopy(input.observed);
  const byPrincipal = listingsByPrincipal(input.observed);
  const blocked: RemediationPlan["blocked"] = [];
  for (const resource of ordered(input)) {
    const slice = sliceFor(resource, world, byPrincipal);
    const run = simulate(planOf(resource, input), slice, answer, { initialStatus: resource.status });
    mergeInto(world, run.observed);
    const ready = readyOf(run.final.status);
    if (ready?.status === "False" && BLOCKING.has(ready.reason ?? "")) {
      blocked.push({ resource: refOf(resource), reason: ready.reason ?? "", message: ready.message ?? "" });
    }
    for (const { action } of run.steps) {
      if (!isRead(action)) steps.push({ order: steps.length, action: action as WriteAction });
    }
  }
  const phase = (action: WriteAction) => PHASE_ORDER.indexOf(action.phase);
  const actions = steps
    .sort((a, b) => phase(a.action) - phase(b.action) || a.order - b.order)
    .map((step) => step.action);
  const counts: Partial<Record<ActionKind, number>> = {};
  for (const action of actions) counts[action.kind] = (counts[action.kind] ?? 0) + 1;
  const affected = new Map<string, ResourceRef>();
  for (const action of actions) affected.set(formatRef(action.owner), action.owner);
  return {
    subscriptionId: input.subscriptionId,
    fromTenantIds: fromTenants(input, toTenantId),
    undeclaredSystemIdentities: undeclaredSystemIdentities(input, toTenantId),
    blocked,
    ...(toTenantId ? { toTenantId } : {}),
    actions,
    counts,
    affected: [...affected.values()],
    floor: floorOf(writesOf(actions)),
    assumptions: [...assumptions],
    vaults: vaultRepairs(input, actions),
  };
}

/** Each vault a SetVaultTenant changes, and the foreign entries the repair removes from it. */
function vaultRepairs(input: RemediationInput, actions: readonly WriteAction[]): VaultRepair[] {
  const ours = new Set<string>();
  for (const identity of Object.values(input.observed.identities))
    if (identity) ours.add(principalKey(identity.principalId));
  for (const resource of [...input.declared.userAssigned, ...input.declared.systemAssigned]) {
    const { status } = resource;
    for (const id of [
      status?.principalId,
      ...(status?.keyVaultAccessPolicies ?? []).map((e) => e.principalId),
      ...(status?.roleAssignments ?? []).map((e) => e.principalId),
    ]) {
      if (id) ours.add(principalKey(id));
    }
  }
  const repairs: VaultRepair[] = [];
  for (const action of actions) {
    if (action.kind !== "SetVaultTenant") continue;
    const vault = input.observed.vaults[armIdKey(action.vaultId)];
    // The repair clears every entry of the old tenant; those of principals azid does not manage
    // must be granted again by hand.
    const foreignEntries = (vault?.accessPolicies ?? [])
      .filter((entry) => entry.tenantId.toLowerCase() !== action.tenantId.toLowerCase())
      .filter((entry) => !ours.has(principalKey(entry.objectId)))
      .map((entry) => ({
        objectId: entry.objectId,
        tenantId: entry.tenantId,
        permissions: entry.permissions,
      }));
    repairs.push({
      vaultId: action.vaultId,
      fromTenantId: action.fromTenantId,
      toTenantId: action.tenantId,
      foreignEntries,
    });
  }
  return repairs;
}

type Field = keyof ObservedState;
const SHARED: readonly Field[] = [
  "subscriptions",
  "roleDefinitions",
  "roleDefinitionsByName",
  "servicePrincipals",
  "vaults",
  "failures",
];

function mutableCopy(observed: ObservedState): ObservedState {
  return Object.fromEntries(
    Object.entries(observed).map(([field, map]) => [field, { ...map }]),
  ) as unknown as ObservedState;
}

function mergeInto(world: ObservedState, changed: ObservedState) {
  for (const [field, map] of Object.entries(changed) as Array<[Field, Record<string, unknown>]>) {
    Object.assign(world[field], map);
  }
}

/** Role assignment listing keys (`scope|principal`) by principal. */
function listingsByPrincipal(observed: ObservedState): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const key of Object.keys(observed.roleAssignments)) {
    const principal = key.slice(key.lastIndexOf("|") + 1);
    index.set(principal, [...(index.get(principal) ?? []), key]);
  }
  return index;
}

/**
 * The part of Azure a resource's planner looks at: the small shared maps whole, and of the
 * large ones the entries of its identities, targets and principals. Anything missed is read
 * by the planner and answered "absent" by imagine(), which lists it as an assumption.
 */
function sliceFor(
  resource: ManagedResource,
  world: ObservedState,
  byPrincipal: Map<string, string[]>,
): ObservedState {
  const slice = Object.fromEntries(SHARED.map((field) => [field, world[field]])) as unknown as ObservedState;
  const identities: string[] = [];
  const targets: string[] = [];
  const principals = new Set<string>();
  if (resource.kind === "UserAssignedIdentity") {
    const { spec, metadata, status } = resource;
    identities.push(
      userAssignedIdentityId(spec.subscriptionId, spec.resourceGroup, spec.name ?? metadata.name),
    );
    if (status?.resourceId) identities.push(status.resourceId);
    for (const previous of status?.previousIdentities ?? []) identities.push(previous.resourceId);
    targets.push(...(spec.attachTo ?? []), ...(status?.attachments ?? []).map((a) => a.resourceId));
  } else if (resource.kind === "SystemAssignedIdentity") {
    targets.push(resource.spec.resourceId);
    const target = world.targets[armIdKey(resource.spec.resourceId)];
    if (target?.state === "present" && target.identity?.principalId)
      principals.add(target.identity.principalId);
  }
  if (resource.kind !== "CustomRole") {
    const { status } = resource;
    if (status?.principalId) principals.add(status.principalId);
    for (const entry of [...(status?.roleAssignments ?? []), ...(status?.graphAppRoles ?? [])]) {
      if (entry.principalId) principals.add(entry.principalId);
    }
  }
  const pick = <T>(map: Record<string, T>, keys: Iterable<string>) => {
    const picked: Record<string, T> = {};
    for (const key of keys) if (key in map) picked[key] = map[key] as T;
    return picked;
  };
  const identityKeys = identities.map(armIdKey);
  for (const key of identityKeys) {
    const identity = world.identities[key];
    if (identity) principals.add(identity.principalId);
  }
  const principalKeys = [...principals].map(principalKey);
  slice.identities = pick(world.identities, identityKeys);
  slice.federatedCredentials = pick(world.federatedCredentials, identityKeys);
  slice.targets = pick(world.targets, targets.map(armIdKey));
  slice.appRoleAssignments = pick(world.appRoleAssignments, principalKeys);
  slice.roleAssignments = pick(
    world.roleAssignments,
    principalKeys.flatMap((p) => byPrincipal.get(p) ?? []),
  );
  return slice;
}

/** Ready reasons that mean the spec itself must change before anything is written. */
const BLOCKING = new Set<string>([
  Reason.RoleNotFound,
  Reason.InvalidSpec,
  Reason.TargetNotFound,
  Reason.UnsupportedTarget,
]);

function readyOf(status: unknown) {
  return getCondition((status as { conditions?: Condition[] } | undefined)?.conditions, ConditionType.Ready);
}

function fromTenants(input: RemediationInput, toTenantId: string | undefined): string[] {
  const tenants = new Set<string>();
  for (const identity of Object.values(input.observed.identities)) {
    if (identity && identity.tenantId.toLowerCase() !== toTenantId?.toLowerCase())
      tenants.add(identity.tenantId.toLowerCase());
  }
  for (const { tenantId } of systemIdentitiesOfOtherTenants(input, toTenantId, true)) tenants.add(tenantId);
  for (const tenantId of vaultsOfOtherTenants(input, toTenantId)) tenants.add(tenantId);
  return [...tenants].sort();
}

/**
 * Tenants of Key Vaults that are not the subscription's and still hold an entry of a principal
 * azid granted there, or that an identity already in the subscription's tenant is declared on:
 * a move left them behind, even once the identities are repaired.
 */
function vaultsOfOtherTenants(input: RemediationInput, toTenantId: string | undefined): string[] {
  const found: string[] = [];
  for (const resource of [...input.declared.userAssigned, ...input.declared.systemAssigned]) {
    for (const entry of resource.status?.keyVaultAccessPolicies ?? []) {
      const vault = input.observed.vaults[armIdKey(entry.vaultId)];
      if (!vault || !entry.principalId || vault.tenantId.toLowerCase() === toTenantId?.toLowerCase())
        continue;
      const holds = vault.accessPolicies.some(
        (e) => e.objectId.toLowerCase() === entry.principalId?.toLowerCase(),
      );
      const repairedIdentity = resource.status?.tenantId?.toLowerCase() === toTenantId?.toLowerCase();
      if (holds || repairedIdentity) found.push(vault.tenantId.toLowerCase());
    }
  }
  return found;
}

function undeclaredSystemIdentities(input: RemediationInput, toTenantId: string | undefined) {
  return systemIdentitiesOfOtherTenants(input, toTenantId, false);
}

/** Targets' system-assigned identities of another tenant than `toTenantId`, declared or not. */
function systemIdentitiesOfOtherTenants(
  input: RemediationInput,
  toTenantId: string | undefined,
  declared: boolean,
): Array<{ resourceId: string; tenantId: string }> {
  const declaredTargets = new Set(input.declared.systemAssigned.map((sai) => armIdKey(sai.spec.resourceId)));
  // Targets are keyed in lower case; name them as the manifests spell them.
  const spelled = new Map(
    input.declared.userAssigned.flatMap((uai) => (uai.spec.attachTo ?? []).map((id) => [armIdKey(id), id])),
  );
  const found: Array<{ resourceId: string; tenantId: string }> = [];
  for (const [key, target] of Object.entries(input.observed.targets)) {
    const tenant = target.state === "present" ? target.identity?.tenantId : undefined;
    if (!tenant || tenant.toLowerCase() === toTenantId?.toLowerCase()) continue;
    if (declaredTargets.has(key) !== declared) continue;
    found.push({ resourceId: spelled.get(key) ?? key, tenantId: tenant.toLowerCase() });
  }
  return found.sort((a, b) => a.resourceId.localeCompare(b.resourceId));
}

/** The plan as a TenantMigration's status carries it (the first `maxActions` actions). */
export function toMigrationPlan(plan: RemediationPlan, now: string, maxActions = 5000): MigrationPlan {
  return {
    generatedAt: now,
    counts: Object.entries(plan.counts).map(([kind, count]) => ({ kind, count: count as number })),
    total: plan.actions.length,
    actions: plan.actions.slice(0, maxActions).map((action) => ({
      kind: action.kind,
      resource: formatRef(action.owner),
      target: targetOf(action),
      description: action.description,
    })),
    ...(plan.actions.length > maxActions ? { truncated: true } : {}),
    floorSeconds: plan.floor.seconds,
    floorByClass: plan.floor.byClass.map((entry) => ({ ...entry })),
    ...(plan.vaults.length > 0 ? { keyVaults: plan.vaults.slice(0, 500) } : {}),
  };
}

/** What an action touches in Azure, for people. */
export function targetOf(action: WriteAction): string {
  switch (action.kind) {
    case "CreateIdentity":
    case "UpdateIdentityTags":
    case "DeleteIdentity":
      return action.identityId;
    case "PutFederatedCredential":
    case "DeleteFederatedCredential":
      return `${action.identityId}/federatedIdentityCredentials/${action.name}`;
    case "PutRoleAssignment":
      return `${action.scope}/providers/Microsoft.Authorization/roleAssignments/${action.name}`;
    case "DeleteRoleAssignment":
      return action.roleAssignmentId;
    case "PatchResourceIdentity":
      return action.resourceId;
    case "PutRoleDefinition":
    case "DeleteRoleDefinition":
      return `/subscriptions/${action.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${action.guid}`;
    case "GrantAppRole":
      return `servicePrincipals/${action.principalId}/appRoleAssignments (${action.appRoleId})`;
    case "RevokeAppRole":
      return `servicePrincipals/${action.principalId}/appRoleAssignments/${action.assignmentId}`;
    case "UpdateVaultAccessPolicy":
      return `${action.vaultId}/accessPolicies (${action.entry.objectId})`;
    case "SetVaultTenant":
      return action.vaultId;
  }
}
