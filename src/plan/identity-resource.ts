// The user-assigned identity resource itself: created where declared, its tags kept as declared
// (removing only tags azid set), its region checked, and the fields status reports of it. Pure.
import { Reason } from "../api/conditions.js";
import type {
  UserAssignedIdentity,
  UserAssignedIdentityStatus,
} from "../api/schemas/user-assigned-identity.js";
import * as build from "./build.js";
import { normalizeLocation } from "./build.js";
import { type ItemOutcome, pending, type TenantMismatch } from "./conditions.js";
import type { ObservedIdentity } from "./observed.js";
import type { PlanFrame, WriteGate } from "./skeleton.js";

type Status = UserAssignedIdentityStatus;

/** The identity's own outcome: read, created, tags updated, or a region Azure cannot change. */
export function planIdentityResource(
  frame: PlanFrame<UserAssignedIdentity>,
  identityId: string,
  identity: ObservedIdentity | null | undefined,
  observeOnly: boolean,
  gate: WriteGate,
): ItemOutcome {
  const { spec } = frame.resource;
  if (identity === undefined) return pending("reading the identity");
  if (identity === null) {
    if (observeOnly) {
      return {
        state: "Failed",
        reason: Reason.IdentityNotFound,
        message: `identity ${identityId} does not exist`,
      };
    }
    const action = build.createIdentity(frame.owner, identityId, spec.location, spec.tags ?? {});
    return frame.writeItem(action, gate, "missing");
  }
  if (normalizeLocation(identity.location) !== normalizeLocation(spec.location)) {
    return {
      state: "Failed",
      reason: Reason.LocationMismatch,
      message: `the identity is in ${identity.location}, not ${spec.location}; Azure cannot move an identity between regions`,
    };
  }
  const tags = desiredTags(frame, identity);
  if (!sameTags(tags, identity.tags)) {
    if (observeOnly) return { state: "Drifted", reason: Reason.Drifted, message: "tags differ" };
    return frame.writeItem(build.updateIdentityTags(frame.owner, identityId, tags), gate, "tags differ");
  }
  return { state: "Ready", reason: Reason.Reconciled, message: "as declared" };
}

/** The tags the identity should carry: its own, minus tags azid set before, plus the declared ones. */
function desiredTags(frame: PlanFrame<UserAssignedIdentity>, identity: ObservedIdentity) {
  const declared = frame.resource.spec.tags ?? {};
  const tags = { ...identity.tags };
  for (const key of frame.prev.managedTags ?? []) if (!(key in declared)) delete tags[key];
  return { ...tags, ...declared };
}

/** Tag names azid set: the declared ones, and earlier ones until they are gone from Azure. */
export function managedTags(
  resource: UserAssignedIdentity,
  identity: ObservedIdentity | null | undefined,
): string[] {
  const keys = new Set(Object.keys(resource.spec.tags ?? {}));
  for (const key of resource.status?.managedTags ?? []) {
    if (identity === undefined || (identity && key in identity.tags)) keys.add(key);
  }
  return [...keys].sort();
}

/**
 * resourceId, principalId, clientId and tenantId for status. Until the identity is read they
 * stay as they were; during a tenant mismatch the tenant stays the one the identity came from.
 * `coming`: a missing identity is being created (or will be once writes are allowed).
 */
export function identityFields(
  prev: Status,
  identityId: string,
  identity: ObservedIdentity | null | undefined,
  coming: boolean,
  mismatch: TenantMismatch | undefined,
): Pick<Status, "resourceId" | "principalId" | "clientId" | "tenantId"> {
  if (identity === undefined) {
    const { resourceId, principalId, clientId, tenantId } = prev;
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
  return coming ? { resourceId: identityId } : {};
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}
