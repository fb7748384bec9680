// The planner of a UserAssignedIdentity: from the declared spec, what Azure looks like and the
// previous status, the next actions and the status they imply. Pure.
import { armIdKey, userAssignedIdentityId } from "../api/arm-id.js";
import { ConditionType, Reason } from "../api/conditions.js";
import { DEFAULT_FEDERATED_AUDIENCE, MAX_FEDERATED_CREDENTIALS } from "../api/schemas/common.js";
import type {
  AttachmentStatus,
  FederatedCredentialSpec,
  FederatedCredentialStatus,
  UserAssignedIdentity,
  UserAssignedIdentityStatus,
} from "../api/schemas/user-assigned-identity.js";
import type { ResourceRef, WriteAction } from "./actions.js";
import * as build from "./build.js";
import { normalizeLocation } from "./build.js";
import {
  invalidSpec,
  policyCondition,
  policyNotices,
  readyCondition,
  tenantCondition,
  tokenNotices,
  unsupportedTargetReason,
} from "./common-status.js";
import {
  buildConditions,
  type ConditionState,
  type ItemOutcome,
  itemsCondition,
  statusEntry,
} from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import { planGrants } from "./grants.js";
import { attachChange, detachChange, hasUserAssigned, lacksDefaultIdentity } from "./identity-block.js";
import type { ObservedIdentity, ObservedState, ObservedTarget, ResourceIdentity } from "./observed.js";
import { Observer } from "./observer.js";
import type { Notice, PlanContext, PlanResult } from "./plan-types.js";
import { itemViolation, resourceViolations } from "./policy.js";

type Status = UserAssignedIdentityStatus;
type FicOutcome = FederatedCredentialStatus & ItemOutcome;
type AttachmentOutcome = AttachmentStatus & ItemOutcome;

const sameId = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

const pending = (message: string, reason: Reason = Reason.Progressing) => ({
  state: "Pending" as const,
  reason,
  message,
});

export function planUserAssignedIdentity(
  resource: UserAssignedIdentity,
  observed: ObservedState,
  context: PlanContext,
): PlanResult<Status> {
  return new UserAssignedPlanner(resource, observed, context).plan();
}

class UserAssignedPlanner {
  readonly owner: ResourceRef;
  readonly obs: Observer;
  readonly prev: Status;
  readonly identityId: string;
  readonly writes: WriteAction[] = [];
  readonly notices: Notice[] = [];
  /** Targets already PATCHed by this plan: one identity change per target per plan. */
  readonly patched = new Set<string>();
  readonly observeOnly: boolean;
  readonly deleting: boolean;

  constructor(
    readonly resource: UserAssignedIdentity,
    observed: ObservedState,
    readonly context: PlanContext,
  ) {
    const { metadata, spec } = resource;
    this.owner = {
      kind: "UserAssignedIdentity",
      namespace: metadata.namespace ?? "default",
      name: metadata.name,
    };
    this.obs = new Observer(observed, this.owner);
    this.prev = resource.status ?? {};
    this.identityId = userAssignedIdentityId(
      spec.subscriptionId,
      spec.resourceGroup,
      spec.name ?? metadata.name,
    );
    this.observeOnly = spec.managementPolicy === "ObserveOnly";
    this.deleting = metadata.deletionTimestamp !== undefined;
  }

  plan(): PlanResult<Status> {
    const { spec } = this.resource;
    const invalid = invalidSpec(this.resource);
    if (invalid) {
      const message = `the spec is invalid, nothing is done in Azure: ${invalid}`;
      return this.finish(
        { ...this.prev },
        [{ type: ConditionType.Ready, status: "False", reason: Reason.InvalidSpec, message }],
        this.deleting,
      );
    }
    const blockers = resourceViolations(this.context.policy);
    if (blockers.length > 0) return this.refusedByPolicy();
    if (this.deleting && (spec.deletionPolicy === "Orphan" || this.observeOnly)) {
      return this.finish(
        { ...this.prev },
        [
          {
            type: ConditionType.Ready,
            status: "False",
            reason: Reason.Orphaned,
            message: "deleted; Azure is left as it is",
          },
        ],
        true,
      );
    }
    const subscription = this.obs.subscription(spec.subscriptionId);
    const identity = this.obs.identity(this.identityId);
    const previousIds = this.previousIdentityIds();
    const previous = previousIds.map((id) => ({ id, identity: this.obs.identity(id) }));
    const tenantMoved =
      subscription && identity
        ? !sameId(identity.tenantId, subscription.tenantId) ||
          (this.prev.tenantId !== undefined &&
            !sameId(this.prev.tenantId, subscription.tenantId) &&
            sameId(this.prev.principalId, identity.principalId))
        : false;
    const mismatch =
      tenantMoved && subscription && identity
        ? {
            from: sameId(identity.tenantId, subscription.tenantId)
              ? (this.prev.tenantId as string)
              : identity.tenantId,
            to: subscription.tenantId,
          }
        : undefined;
    if (mismatch) {
      this.notices.push({
        type: "Warning",
        reason: Reason.TenantMoved,
        message: `subscription ${spec.subscriptionId} moved from tenant ${mismatch.from} to ${mismatch.to}`,
      });
    }
    if (this.deleting) return this.planDeletion(identity, previous, mismatch !== undefined);
    if (mismatch && this.context.allowTenantRepair && !this.observeOnly) {
      return this.planRepair(identity as ObservedIdentity, mismatch);
    }
    return this.planConverge(subscription !== undefined, identity, previous, mismatch);
  }

  /** Identities this resource made before a change of resource group or name, still to delete. */
  previousIdentityIds(): string[] {
    if (this.observeOnly) return [];
    const ids = [...(this.prev.previousIdentities ?? []).map((p) => p.resourceId)];
    if (this.prev.resourceId) ids.push(this.prev.resourceId);
    const unique = new Map<string, string>();
    for (const id of ids) if (armIdKey(id) !== armIdKey(this.identityId)) unique.set(armIdKey(id), id);
    return [...unique.values()];
  }

  /** Every target the identity may be attached to: declared now or recorded before. */
  knownTargets(): string[] {
    const unique = new Map<string, string>();
    const declared = this.resource.spec.attachTo ?? [];
    for (const id of [...declared, ...(this.prev.attachments ?? []).map((a) => a.resourceId)]) {
      unique.set(armIdKey(id), id);
    }
    return [...unique.values()];
  }

  targetOf(id: string): ObservedTarget | undefined {
    return unsupportedTargetReason(id)
      ? { state: "unsupported", reason: unsupportedTargetReason(id) as string }
      : this.obs.target(id);
  }

  /** PATCHes detaching `identityId` from every known target that has it; how many targets still might. */
  detachEverywhere(identityId: string, phase: "teardown" | "cleanup"): number {
    let left = 0;
    for (const targetId of this.knownTargets()) {
      const target = this.targetOf(targetId);
      if (target === undefined) {
        left++;
        continue;
      }
      if (target.state !== "present" || !hasUserAssigned(target.identity, identityId)) continue;
      left++;
      if (this.patched.has(armIdKey(targetId))) continue;
      const change = detachChange(target.identity, identityId);
      const action = build.patchResourceIdentity(
        this.owner,
        targetId,
        `detach ${identityId}`,
        change.identity,
        change.expected,
        phase,
        change.intent,
      );
      if (this.obs.failureOf(action.key)) continue;
      this.patched.add(armIdKey(targetId));
      this.writes.push(action);
    }
    return left;
  }

  planDeletion(
    identity: ObservedIdentity | null | undefined,
    previous: Array<{ id: string; identity: ObservedIdentity | null | undefined }>,
    tenantMoved: boolean,
  ): PlanResult<Status> {
    const all = [{ id: this.identityId, identity }, ...previous];
    // After a tenant move the old principal's grants are gone (role assignments) or out of reach
    // (Graph, in the old tenant): only detaching and deleting are left to do.
    const grants = planGrants({
      obs: this.obs,
      ...(identity && !tenantMoved
        ? { principal: { id: identity.principalId, tenantId: identity.tenantId } }
        : {}),
      roleAssignments: [],
      graphAppRoles: [],
      previous: tenantMoved ? {} : this.prev,
      customRoles: this.context.customRoles,
      mode: "delete",
      writable: true,
      refused: () => undefined,
      cleanupEarlierPrincipals: true,
      removalPhase: "teardown",
    });
    this.writes.push(...grants.writes);
    const grantsLeft = grants.roleAssignments.length + grants.graphAppRoles.length;
    let remaining = 0;
    let adoptedKept = false;
    for (const { id, identity: current } of all) {
      if (current === null) continue;
      // An identity azid found rather than made is left in Azure: only what azid made goes.
      const adopted = id === this.identityId && !this.prev.identityOwned;
      if (!adopted) remaining++;
      if (current === undefined) continue;
      const attachedSomewhere = this.detachEverywhere(id, "teardown");
      if (adopted) {
        if (attachedSomewhere > 0) remaining++;
        adoptedKept = true;
        continue;
      }
      if (attachedSomewhere === 0 && grantsLeft === 0) {
        const action = build.deleteIdentity(this.owner, id, "teardown");
        const failure = this.obs.failureOf(action.key);
        if (!failure) this.writes.push(action);
      }
    }
    if (adoptedKept && remaining === 0 && grantsLeft === 0) {
      this.notices.push({
        type: "Normal",
        reason: Reason.Deleting,
        message: `identity ${this.identityId} stays in Azure: azid adopted it and did not create it`,
      });
    }
    const message =
      remaining === 0
        ? "everything azid made in Azure is gone"
        : "detaching, revoking owned grants, then deleting the identity";
    const status: Status = {
      ...this.prev,
      roleAssignments: grants.roleAssignments.map(statusEntry),
      graphAppRoles: grants.graphAppRoles.map(statusEntry),
    };
    const failure = this.obs.failures[0] ?? Object.values(this.obs.observed.failures)[0];
    return this.finish(
      status,
      [
        {
          type: ConditionType.Ready,
          status: "False",
          reason: failure ? reasonForFailure(failure) : Reason.Deleting,
          message: failure ? `${message}; ${describeFailure(failure)}` : message,
        },
      ],
      remaining === 0 && grantsLeft === 0,
    );
  }

  /** The tenant moved and repair is allowed: detach everywhere and delete; the next plans re-create. */
  planRepair(identity: ObservedIdentity, mismatch: { from: string; to: string }): PlanResult<Status> {
    const left = this.detachEverywhere(this.identityId, "teardown");
    if (left === 0) {
      const action = build.deleteIdentity(this.owner, this.identityId, "teardown");
      if (!this.obs.failureOf(action.key)) this.writes.push(action);
    }
    const message = `repairing after the move to tenant ${mismatch.to}: the identity is deleted and re-created`;
    return this.finish({ ...this.prev, resourceId: identity.id }, [
      { type: ConditionType.Ready, status: "False", reason: Reason.Repairing, message },
      { type: ConditionType.IdentityReady, status: "False", reason: Reason.Repairing, message },
      tenantCondition(mismatch),
      policyCondition(this.context.policy),
    ]);
  }

  planConverge(
    subscriptionKnown: boolean,
    identity: ObservedIdentity | null | undefined,
    previous: Array<{ id: string; identity: ObservedIdentity | null | undefined }>,
    mismatch: { from: string; to: string } | undefined,
  ): PlanResult<Status> {
    const { spec } = this.resource;
    const policy = this.context.policy;
    // A target that can never carry an identity makes the whole spec impossible: nothing is
    // written (not even the identity) until it is removed, as for a SystemAssignedIdentity.
    const impossible = (spec.attachTo ?? []).find((id) => unsupportedTargetReason(id) !== undefined);
    const writable = !this.observeOnly && subscriptionKnown && policy.allowed && !mismatch && !impossible;
    const blockedBecause = mismatch
      ? `the subscription moved to tenant ${mismatch.to}: the repair waits for approval`
      : !policy.allowed
        ? "an IdentityPolicy refuses part of this resource"
        : impossible
          ? `attachTo names ${impossible}, which cannot carry a managed identity: nothing is written until it is removed`
          : "reading the subscription";

    const identityOutcome = this.planIdentity(identity, writable, blockedBecause);
    const present = identity ?? undefined;
    const credentials = this.planCredentials(identity, writable, blockedBecause);
    const attachments = this.planAttachments(
      identity,
      writable,
      blockedBecause,
      identityOutcome.state === "Pending",
    );
    const grantsWith = (cleanupEarlierPrincipals: boolean) =>
      planGrants({
        obs: this.obs,
        ...(present && !mismatch
          ? { principal: { id: present.principalId, tenantId: present.tenantId } }
          : {}),
        roleAssignments: spec.roleAssignments ?? [],
        graphAppRoles: spec.graphAppRoles ?? [],
        previous: this.prev,
        customRoles: this.context.customRoles,
        mode: this.observeOnly ? "observe" : "manage",
        writable,
        blockedBecause,
        refused: (list, index) => itemViolation(policy, list, index),
        cleanupEarlierPrincipals,
        removalPhase: "cleanup",
      });
    const grants = grantsWith(false);
    const convergedHere =
      identityOutcome.state === "Ready" &&
      credentials.every((c) => c.state === "Ready") &&
      attachments.every((a) => a.state === "Ready") &&
      grants.converged;
    // Grants of earlier principals and earlier identities go only once the new one is complete.
    const cleanup = convergedHere ? grantsWith(true) : grants;
    this.writes.push(...cleanup.writes);
    const previousLeft = this.retirePrevious(
      previous,
      convergedHere && writable,
      cleanup.earlierPrincipalsLeft,
    );

    const creating = this.writes.some(
      (action) =>
        action.kind === "CreateIdentity" && armIdKey(action.identityId) === armIdKey(this.identityId),
    );
    const status: Status = {
      observedGeneration: this.resource.metadata.generation,
      ...this.identityFields(identity, identityOutcome, mismatch),
      ...(this.prev.identityOwned || creating ? { identityOwned: true } : {}),
      roleAssignments: cleanup.roleAssignments.map(statusEntry),
      federatedCredentials: credentials.map(statusEntry),
      attachments: attachments.map(statusEntry),
      graphAppRoles: cleanup.graphAppRoles.map(statusEntry),
      managedTags: this.managedTags(identity),
      ...(previousLeft.length > 0 ? { previousIdentities: previousLeft } : {}),
    };
    const details: ConditionState[] = [
      {
        type: ConditionType.IdentityReady,
        status: identityOutcome.state === "Ready" ? "True" : "False",
        reason: identityOutcome.reason,
        message: identityOutcome.message ?? "as declared",
      },
      itemsCondition(ConditionType.CredentialsReady, credentials, "federated credentials"),
      itemsCondition(ConditionType.RolesGranted, cleanup.roleAssignments, "role assignments"),
      itemsCondition(ConditionType.Attached, attachments, "attachments"),
      itemsCondition(ConditionType.GraphRolesGranted, cleanup.graphAppRoles, "Graph app roles"),
    ];
    const attached = details[3] as ConditionState;
    if (attached.status === "True" && attachments.some((a) => a.reason === Reason.NoDefaultIdentity)) {
      attached.reason = Reason.NoDefaultIdentity;
      attached.message = (attachments.find((a) => a.reason === Reason.NoDefaultIdentity) as AttachmentOutcome)
        .message as string;
    }
    const ready: ConditionState =
      impossible && policy.allowed && !mismatch
        ? {
            type: ConditionType.Ready,
            status: "False",
            reason: Reason.UnsupportedTarget,
            message: `${unsupportedTargetReason(impossible)}: nothing is written to Azure while attachTo names ${impossible}`,
          }
        : readyCondition({
            details,
            writes: this.writes.length,
            policy,
            mismatch,
            observeOnly: this.observeOnly,
            readFailures: this.obs.failures,
            extraPending: previousLeft.length > 0 ? "deleting the identity this one replaces" : undefined,
          });
    this.notices.push(...policyNotices(policy));
    return this.finish(status, [ready, ...details, tenantCondition(mismatch), policyCondition(policy)]);
  }

  planIdentity(
    identity: ObservedIdentity | null | undefined,
    writable: boolean,
    blockedBecause: string,
  ): ItemOutcome {
    const { spec } = this.resource;
    if (identity === undefined) return pending("reading the identity");
    if (identity === null) {
      if (this.observeOnly) {
        return {
          state: "Failed",
          reason: Reason.IdentityNotFound,
          message: `identity ${this.identityId} does not exist`,
        };
      }
      const action = build.createIdentity(this.owner, this.identityId, spec.location, spec.tags ?? {});
      return this.write(action, writable, blockedBecause, "missing");
    }
    if (normalizeLocation(identity.location) !== normalizeLocation(spec.location)) {
      return {
        state: "Failed",
        reason: Reason.LocationMismatch,
        message: `the identity is in ${identity.location}, not ${spec.location}; Azure cannot move an identity between regions`,
      };
    }
    const tags = this.desiredTags(identity);
    if (!sameTags(tags, identity.tags)) {
      if (this.observeOnly) return { state: "Drifted", reason: Reason.Drifted, message: "tags differ" };
      return this.write(
        build.updateIdentityTags(this.owner, this.identityId, tags),
        writable,
        blockedBecause,
        "tags differ",
      );
    }
    return { state: "Ready", reason: Reason.Reconciled, message: "as declared" };
  }

  /** The tags the identity should carry: its own, minus tags azid set before, plus the declared ones. */
  desiredTags(identity: ObservedIdentity): Record<string, string> {
    const declared = this.resource.spec.tags ?? {};
    const tags = { ...identity.tags };
    for (const key of this.prev.managedTags ?? []) if (!(key in declared)) delete tags[key];
    return { ...tags, ...declared };
  }

  /** Tag names azid set: the declared ones, and earlier ones until they are gone from Azure. */
  managedTags(identity: ObservedIdentity | null | undefined): string[] {
    const keys = new Set(Object.keys(this.resource.spec.tags ?? {}));
    for (const key of this.prev.managedTags ?? []) {
      if (identity === undefined || (identity && key in identity.tags)) keys.add(key);
    }
    return [...keys].sort();
  }

  /**
   * resourceId, principalId, clientId and tenantId for status. Until the identity is read they
   * stay as they were; during a tenant mismatch the tenant stays the one the identity came from.
   */
  identityFields(
    identity: ObservedIdentity | null | undefined,
    outcome: ItemOutcome,
    mismatch: { from: string } | undefined,
  ): Pick<Status, "resourceId" | "principalId" | "clientId" | "tenantId"> {
    if (identity === undefined) {
      const { resourceId, principalId, clientId, tenantId } = this.prev;
      return { resourceId, principalId, clientId, tenantId };
    }
    if (identity) {
      return {
        resourceId: identity.id,
        principalId: identity.principalId,
        clientId: identity.clientId,
        tenantId: mismatch ? mismatch.from : identity.tenantId,
      };
    }
    return outcome.state === "Pending" && !this.observeOnly ? { resourceId: this.identityId } : {};
  }

  write(action: WriteAction, writable: boolean, blockedBecause: string, drift: string): ItemOutcome {
    if (!writable) return pending(`${drift}; ${blockedBecause}`, Reason.Waiting);
    const failure = this.obs.failureOf(action.key);
    if (failure)
      return { state: "Failed", reason: reasonForFailure(failure), message: describeFailure(failure) };
    this.writes.push(action);
    return pending(action.description);
  }

  planCredentials(
    identity: ObservedIdentity | null | undefined,
    writable: boolean,
    blockedBecause: string,
  ): FicOutcome[] {
    const declared = (this.resource.spec.federatedCredentials ?? []) as FederatedCredentialSpec[];
    const previous = this.prev.federatedCredentials ?? [];
    const ownedBefore = (name: string) => previous.find((p) => sameId(p.name, name))?.owned ?? false;
    const existing = identity ? this.obs.federatedCredentials(identity.id) : undefined;
    if (!identity || existing === undefined) {
      // Until the credentials are read, owned ones no longer declared are kept in status
      // (forgetting them would lose the right to remove them); a missing identity has none.
      const why =
        identity === undefined
          ? "reading the identity"
          : identity
            ? "reading federated credentials"
            : "waiting for the identity";
      const undeclared =
        identity === null
          ? []
          : previous.filter((p) => p.owned && !declared.some((d) => sameId(d.name, p.name)));
      return [
        ...declared.map((fic) => ({
          name: fic.name,
          owned: ownedBefore(fic.name),
          ...pending(why, identity ? Reason.Progressing : Reason.Waiting),
        })),
        ...undeclared.map((p) => ({
          name: p.name,
          owned: true,
          state: "Removing" as const,
          reason: Reason.Progressing,
          message: why,
        })),
      ];
    }
    const outcomes: FicOutcome[] = [];
    const declaredNames = new Set(declared.map((fic) => fic.name.toLowerCase()));
    const removed = new Set<string>();
    for (const fic of existing) {
      if (declaredNames.has(fic.name.toLowerCase()) || !ownedBefore(fic.name)) continue;
      if (this.observeOnly) {
        outcomes.push({
          name: fic.name,
          owned: true,
          state: "Drifted",
          reason: Reason.Drifted,
          message: "no longer declared",
        });
        continue;
      }
      removed.add(fic.name.toLowerCase());
      const outcome = this.write(
        build.deleteFederatedCredential(this.owner, identity.id, fic.name),
        writable,
        blockedBecause,
        "no longer declared",
      );
      outcomes.push({
        name: fic.name,
        owned: true,
        ...outcome,
        ...(outcome.state === "Pending" ? { state: "Removing" as const } : {}),
      });
    }
    const others = existing.filter(
      (fic) => !declaredNames.has(fic.name.toLowerCase()) && !removed.has(fic.name.toLowerCase()),
    );
    for (const fic of declared) {
      const audiences = fic.audiences ?? [DEFAULT_FEDERATED_AUDIENCE];
      const current = existing.find((candidate) => sameId(candidate.name, fic.name));
      const owned = current ? ownedBefore(fic.name) : true;
      const clash = others.find((other) => other.issuer === fic.issuer && other.subject === fic.subject);
      if (clash) {
        outcomes.push({
          name: fic.name,
          owned,
          state: "Failed",
          reason: Reason.AzureError,
          message: `issuer and subject are already used by federated credential ${clash.name}, which azid does not manage`,
        });
        continue;
      }
      if (!current && others.length + declared.length > MAX_FEDERATED_CREDENTIALS) {
        outcomes.push({
          name: fic.name,
          owned,
          state: "Failed",
          reason: Reason.AzureError,
          message: `an identity holds at most ${MAX_FEDERATED_CREDENTIALS} federated credentials; ${others.length} others exist`,
        });
        continue;
      }
      const same =
        current &&
        current.issuer === fic.issuer &&
        current.subject === fic.subject &&
        current.audiences.length === audiences.length &&
        current.audiences.every((audience, i) => audience === audiences[i]);
      if (same) {
        outcomes.push({ name: fic.name, owned, state: "Ready", reason: Reason.Reconciled });
        continue;
      }
      if (this.observeOnly) {
        outcomes.push({
          name: fic.name,
          owned,
          state: "Drifted",
          reason: Reason.Drifted,
          message: current ? "differs" : "missing",
        });
        continue;
      }
      const action = build.putFederatedCredential(this.owner, identity.id, {
        name: fic.name,
        issuer: fic.issuer,
        subject: fic.subject,
        audiences,
      });
      outcomes.push({
        name: fic.name,
        owned,
        ...this.write(action, writable, blockedBecause, current ? "differs" : "missing"),
      });
    }
    return outcomes;
  }

  planAttachments(
    observedIdentity: ObservedIdentity | null | undefined,
    writable: boolean,
    blockedBecause: string,
    identityComing: boolean,
  ): AttachmentOutcome[] {
    const declared = this.resource.spec.attachTo ?? [];
    const previous = this.prev.attachments ?? [];
    const ownedBefore = (id: string) => previous.find((p) => sameId(p.resourceId, id))?.owned ?? false;
    const identity = observedIdentity ?? undefined;
    const outcomes: AttachmentOutcome[] = [];
    for (const [index, targetId] of declared.entries()) {
      outcomes.push(
        this.attachmentOutcome(
          targetId,
          index,
          ownedBefore(targetId),
          identity,
          writable,
          blockedBecause,
          identityComing,
        ),
      );
    }
    // Attachments azid made that are no longer declared.
    for (const entry of previous) {
      // A deleted identity is attached nowhere any more; an unread one may still be.
      if (!entry.owned || declared.some((id) => sameId(id, entry.resourceId)) || observedIdentity === null)
        continue;
      const target = this.targetOf(entry.resourceId);
      if (target === undefined || !identity) {
        outcomes.push({
          resourceId: entry.resourceId,
          owned: true,
          state: "Removing",
          reason: Reason.Progressing,
          message: "reading the target",
        });
        continue;
      }
      if (target.state !== "present" || !hasUserAssigned(target.identity, identity.id)) continue;
      if (this.observeOnly) {
        outcomes.push({
          resourceId: entry.resourceId,
          owned: true,
          state: "Drifted",
          reason: Reason.Drifted,
          message: "no longer declared",
        });
        continue;
      }
      if (this.patched.has(armIdKey(entry.resourceId))) {
        outcomes.push({
          resourceId: entry.resourceId,
          owned: true,
          state: "Removing",
          reason: Reason.Progressing,
          message: "another change of this target comes first",
        });
        continue;
      }
      const change = detachChange(target.identity, identity.id);
      const action = build.patchResourceIdentity(
        this.owner,
        entry.resourceId,
        `detach ${identity.id}`,
        change.identity,
        change.expected,
        "cleanup",
        change.intent,
      );
      const outcome = this.write(action, writable, blockedBecause, "no longer declared");
      if (this.writes.includes(action)) this.patched.add(armIdKey(entry.resourceId));
      outcomes.push({
        resourceId: entry.resourceId,
        owned: true,
        ...outcome,
        ...(outcome.state === "Pending" ? { state: "Removing" as const } : {}),
      });
    }
    return outcomes;
  }

  attachmentOutcome(
    targetId: string,
    index: number,
    owned: boolean,
    identity: ObservedIdentity | undefined,
    writable: boolean,
    blockedBecause: string,
    identityComing: boolean,
  ): AttachmentOutcome {
    const refusal = itemViolation(this.context.policy, "attachTo", index);
    const base = { resourceId: targetId, owned };
    if (refusal) {
      return {
        ...base,
        state: "Refused",
        reason: Reason.PolicyDenied,
        message: `${refusal.rule}: ${refusal.message}`,
      };
    }
    const target = this.targetOf(targetId);
    if (target === undefined) return { ...base, ...pending("reading the target") };
    if (target.state === "absent") {
      return {
        ...base,
        state: "Failed",
        reason: Reason.TargetNotFound,
        message: `${targetId} does not exist`,
      };
    }
    if (target.state === "unsupported") {
      return {
        ...base,
        state: "Failed",
        reason: Reason.UnsupportedTarget,
        message: target.reason,
      };
    }
    if (!identity) {
      return {
        ...base,
        ...pending("waiting for the identity", identityComing ? Reason.Waiting : Reason.IdentityNotFound),
      };
    }
    if (hasUserAssigned(target.identity, identity.id)) {
      return { ...base, ...this.readyAttachment(targetId, target.identity) };
    }
    if (this.observeOnly)
      return { ...base, state: "Drifted", reason: Reason.Drifted, message: "not attached" };
    if (this.patched.has(armIdKey(targetId)))
      return { ...base, ...pending("another change of this target comes first") };
    const change = attachChange(target.identity, identity.id);
    const action = build.patchResourceIdentity(
      this.owner,
      targetId,
      `attach ${identity.id}`,
      change.identity,
      change.expected,
      "attachments",
      change.intent,
    );
    const outcome = this.write(action, writable, blockedBecause, "not attached");
    if (outcome.state === "Pending" && this.writes.includes(action)) {
      this.patched.add(armIdKey(targetId));
      this.warnIfNoDefault(targetId, change.expected);
    }
    return { ...base, owned: true, ...outcome };
  }

  readyAttachment(targetId: string, identity: ResourceIdentity | undefined): ItemOutcome {
    if (lacksDefaultIdentity(identity)) {
      return {
        state: "Ready",
        reason: Reason.NoDefaultIdentity,
        message: `${targetId} has several user-assigned identities and no system-assigned one: IMDS has no default identity there, so clients must name this one (client_id)`,
      };
    }
    return { state: "Ready", reason: Reason.Reconciled };
  }

  warnIfNoDefault(targetId: string, after: ResourceIdentity) {
    if (!lacksDefaultIdentity(after)) return;
    this.notices.push({
      type: "Warning",
      reason: Reason.NoDefaultIdentity,
      message: `after attaching, ${targetId} has several user-assigned identities and no system-assigned one: IMDS has no default identity there, so clients must name the identity (client_id)`,
    });
  }

  /** Detach and delete identities this resource replaced; returns those still there. */
  retirePrevious(
    previous: Array<{ id: string; identity: ObservedIdentity | null | undefined }>,
    allowed: boolean,
    earlierGrantsLeft: number,
  ) {
    const left: Array<{ resourceId: string; principalId?: string }> = [];
    for (const { id, identity } of previous) {
      if (identity === null) continue;
      left.push({ resourceId: id, ...(identity?.principalId ? { principalId: identity.principalId } : {}) });
      if (!allowed || identity === undefined) continue;
      const attached = this.detachEverywhere(id, "cleanup");
      if (attached === 0 && earlierGrantsLeft === 0) {
        const action = build.deleteIdentity(this.owner, id, "cleanup");
        if (!this.obs.failureOf(action.key)) this.writes.push(action);
      }
    }
    return left;
  }

  refusedByPolicy(): PlanResult<Status> {
    const policy = this.context.policy;
    const what = this.deleting ? "deleted without touching Azure" : "nothing is written to Azure";
    this.notices.push(...policyNotices(policy));
    return this.finish(
      { ...this.prev },
      [
        {
          type: ConditionType.Ready,
          status: "False",
          reason: Reason.PolicyDenied,
          message: `refused by policy, ${what}: ${policy.violations[0]?.message ?? ""}`,
        },
        policyCondition(policy),
      ],
      this.deleting,
    );
  }

  finish(status: Status, conditions: ConditionState[], deleted = false): PlanResult<Status> {
    const generation = this.resource.metadata.generation;
    this.notices.push(...tokenNotices(this.writes));
    return {
      actions: [...this.obs.reads, ...this.writes],
      status: {
        ...status,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
        conditions: buildConditions(this.prev.conditions, conditions, this.context.now, generation),
      },
      notices: this.notices,
      deleted,
    };
  }
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}
