// Where a user-assigned identity is attached: to every target of attachTo, detached from targets
// azid attached it to that are no longer declared, and from every target before the identity is
// deleted. At most one identity PATCH per target per plan. Pure.
import { armIdKey, sameId } from "../api/arm-id.js";
import { Reason } from "../api/conditions.js";
import type { AttachmentStatus, UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import * as build from "./build.js";
import { type ItemOutcome, pending } from "./conditions.js";
import {
  attachChange,
  detachChange,
  hasUserAssigned,
  lacksDefaultIdentity,
  unsupportedTargetReason,
} from "./identity-block.js";
import type { ObservedIdentity, ObservedTarget, ResourceIdentity } from "./observed.js";
import { itemViolation } from "./policy.js";
import type { PlanFrame, WriteGate } from "./skeleton.js";

export type AttachmentOutcome = AttachmentStatus & ItemOutcome;

export class Attachments {
  /** Targets already PATCHed by this plan: one identity change per target per plan. */
  private readonly patched = new Set<string>();

  constructor(
    private readonly frame: PlanFrame<UserAssignedIdentity>,
    private readonly observeOnly: boolean,
  ) {}

  /** Every target the identity may be attached to: declared now or recorded before. */
  private knownTargets(): string[] {
    const unique = new Map<string, string>();
    const declared = this.frame.resource.spec.attachTo ?? [];
    for (const id of [...declared, ...(this.frame.prev.attachments ?? []).map((a) => a.resourceId)]) {
      unique.set(armIdKey(id), id);
    }
    return [...unique.values()];
  }

  private targetOf(id: string): ObservedTarget | undefined {
    const unsupported = unsupportedTargetReason(id);
    return unsupported ? { state: "unsupported", reason: unsupported } : this.frame.obs.target(id);
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
        this.frame.owner,
        targetId,
        `detach ${identityId}`,
        change.identity,
        change.expected,
        phase,
        change.intent,
      );
      if (this.frame.tryWrite(action)) continue;
      this.patched.add(armIdKey(targetId));
    }
    return left;
  }

  /** The declared attachments, then those azid made and no longer declared. */
  plan(
    observedIdentity: ObservedIdentity | null | undefined,
    gate: WriteGate,
    identityComing: boolean,
  ): AttachmentOutcome[] {
    const declared = this.frame.resource.spec.attachTo ?? [];
    const previous = this.frame.prev.attachments ?? [];
    const ownedBefore = (id: string) => previous.find((p) => sameId(p.resourceId, id))?.owned ?? false;
    const identity = observedIdentity ?? undefined;
    const outcomes = declared.map((targetId, index) =>
      this.declared(targetId, index, ownedBefore(targetId), identity, gate, identityComing),
    );
    for (const entry of previous) {
      // A deleted identity is attached nowhere any more; an unread one may still be.
      if (!entry.owned || declared.some((id) => sameId(id, entry.resourceId)) || observedIdentity === null)
        continue;
      const outcome = this.undeclared(entry.resourceId, identity, gate);
      if (outcome) outcomes.push({ resourceId: entry.resourceId, owned: true, ...outcome });
    }
    return outcomes;
  }

  private declared(
    targetId: string,
    index: number,
    owned: boolean,
    identity: ObservedIdentity | undefined,
    gate: WriteGate,
    identityComing: boolean,
  ): AttachmentOutcome {
    const refusal = itemViolation(this.frame.context.policy, "attachTo", index);
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
      return { ...base, state: "Failed", reason: Reason.UnsupportedTarget, message: target.reason };
    }
    if (!identity) {
      return {
        ...base,
        ...pending("waiting for the identity", identityComing ? Reason.Waiting : Reason.IdentityNotFound),
      };
    }
    if (hasUserAssigned(target.identity, identity.id)) {
      return { ...base, ...readyAttachment(targetId, target.identity) };
    }
    if (this.observeOnly)
      return { ...base, state: "Drifted", reason: Reason.Drifted, message: "not attached" };
    if (this.patched.has(armIdKey(targetId)))
      return { ...base, ...pending("another change of this target comes first") };
    const change = attachChange(target.identity, identity.id);
    const action = build.patchResourceIdentity(
      this.frame.owner,
      targetId,
      `attach ${identity.id}`,
      change.identity,
      change.expected,
      "attachments",
      change.intent,
    );
    const outcome = this.frame.writeItem(action, gate, "not attached");
    if (outcome.state === "Pending" && this.frame.writes.includes(action)) {
      this.patched.add(armIdKey(targetId));
      this.warnIfNoDefault(targetId, change.expected);
    }
    return { ...base, owned: true, ...outcome };
  }

  /** Detaching from a target azid attached the identity to and no longer declared; undefined when done. */
  private undeclared(
    targetId: string,
    identity: ObservedIdentity | undefined,
    gate: WriteGate,
  ): ItemOutcome | undefined {
    const removing = (message: string) => ({
      state: "Removing" as const,
      reason: Reason.Progressing,
      message,
    });
    const target = this.targetOf(targetId);
    if (target === undefined || !identity) return removing("reading the target");
    if (target.state !== "present" || !hasUserAssigned(target.identity, identity.id)) return undefined;
    if (this.observeOnly) return { state: "Drifted", reason: Reason.Drifted, message: "no longer declared" };
    if (this.patched.has(armIdKey(targetId))) return removing("another change of this target comes first");
    const change = detachChange(target.identity, identity.id);
    const action = build.patchResourceIdentity(
      this.frame.owner,
      targetId,
      `detach ${identity.id}`,
      change.identity,
      change.expected,
      "cleanup",
      change.intent,
    );
    const outcome = this.frame.writeItem(action, gate, "no longer declared");
    if (this.frame.writes.includes(action)) this.patched.add(armIdKey(targetId));
    return outcome.state === "Pending" ? { ...outcome, state: "Removing" } : outcome;
  }

  private warnIfNoDefault(targetId: string, after: ResourceIdentity) {
    if (!lacksDefaultIdentity(after)) return;
    this.frame.notices.push({
      type: "Warning",
      reason: Reason.NoDefaultIdentity,
      message: `after attaching, ${targetId} has several user-assigned identities and no system-assigned one: IMDS has no default identity there, so clients must name the identity (client_id)`,
    });
  }
}

function readyAttachment(targetId: string, identity: ResourceIdentity | undefined): ItemOutcome {
  if (lacksDefaultIdentity(identity)) {
    return {
      state: "Ready",
      reason: Reason.NoDefaultIdentity,
      message: `${targetId} has several user-assigned identities and no system-assigned one: IMDS has no default identity there, so clients must name this one (client_id)`,
    };
  }
  return { state: "Ready", reason: Reason.Reconciled };
}
