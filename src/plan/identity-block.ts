// A resource's `identity` block and the PATCH bodies that change it: only the identity, keep the
// system-assigned identity and every other user-assigned identity, `{}` adds, `null` removes,
// and the type follows what is left (removing the last user-assigned identity changes it).
import { armIdKey, parseResourceId } from "../api/arm-id.js";
import type { IdentityIntent, PatchResourceIdentity } from "./actions.js";
import type { ResourceIdentity } from "./observed.js";

type IdentityType = PatchResourceIdentity["identity"]["type"];

/** Why a target can never carry a managed identity, judged from its id alone. */
export function unsupportedTargetReason(resourceId: string): string | undefined {
  let namespace: string;
  try {
    namespace = (parseResourceId(resourceId).providers[0]?.namespace ?? "").toLowerCase();
  } catch (error) {
    return (error as Error).message;
  }
  if (namespace === "microsoft.classiccompute") {
    return "Cloud Services (classic) does not support managed identities";
  }
  if (namespace.startsWith("microsoft.classic"))
    return "classic (ASM) resources do not support managed identities";
  return undefined;
}

export interface IdentityChange {
  identity: PatchResourceIdentity["identity"];
  expected: ResourceIdentity;
  intent: IdentityIntent;
}

export function hasSystemAssigned(identity: ResourceIdentity | undefined): boolean {
  return (identity?.type ?? "None").toLowerCase().replace(/\s+/g, "").split(",").includes("systemassigned");
}

/** The user-assigned identity ids on the resource, as the provider spells them. */
export function userAssignedIds(identity: ResourceIdentity | undefined): string[] {
  const type = (identity?.type ?? "None").toLowerCase().replace(/\s+/g, "").split(",");
  return type.includes("userassigned") ? Object.keys(identity?.userAssignedIdentities ?? {}) : [];
}

export function hasUserAssigned(identity: ResourceIdentity | undefined, identityId: string): boolean {
  return userAssignedIds(identity).some((id) => armIdKey(id) === armIdKey(identityId));
}

function typeFor(system: boolean, users: number): IdentityType {
  if (system && users > 0) return "SystemAssigned, UserAssigned";
  if (system) return "SystemAssigned";
  return users > 0 ? "UserAssigned" : "None";
}

function expectedBlock(
  current: ResourceIdentity | undefined,
  system: boolean,
  users: string[],
): ResourceIdentity {
  const kept = current?.userAssignedIdentities ?? {};
  return {
    type: typeFor(system, users.length),
    ...(system && current?.principalId && hasSystemAssigned(current)
      ? { principalId: current.principalId }
      : {}),
    ...(system && current?.tenantId && hasSystemAssigned(current) ? { tenantId: current.tenantId } : {}),
    ...(users.length > 0
      ? { userAssignedIdentities: Object.fromEntries(users.map((id) => [id, kept[id] ?? {}])) }
      : {}),
  };
}

/** Adds a user-assigned identity. */
export function attachChange(current: ResourceIdentity | undefined, identityId: string): IdentityChange {
  const system = hasSystemAssigned(current);
  const users = [...userAssignedIds(current), identityId];
  return {
    identity: { type: typeFor(system, users.length), userAssignedIdentities: { [identityId]: {} } },
    expected: expectedBlock(current, system, users),
    intent: { attach: identityId },
  };
}

/**
 * Removes a user-assigned identity. With others left it sends `null` for this one; when it is the
 * last, the type alone (SystemAssigned or None) removes it, as Microsoft documents for VMs.
 */
export function detachChange(current: ResourceIdentity | undefined, identityId: string): IdentityChange {
  const system = hasSystemAssigned(current);
  const users = userAssignedIds(current).filter((id) => armIdKey(id) !== armIdKey(identityId));
  const identity: PatchResourceIdentity["identity"] =
    users.length > 0
      ? { type: typeFor(system, users.length), userAssignedIdentities: { [identityId]: null } }
      : { type: typeFor(system, 0) };
  return { identity, expected: expectedBlock(current, system, users), intent: { detach: identityId } };
}

/** Turns the system-assigned identity on, keeping the user-assigned ones. */
export function enableSystemChange(current: ResourceIdentity | undefined): IdentityChange {
  const users = userAssignedIds(current);
  return {
    identity: { type: typeFor(true, users.length) },
    expected: expectedBlock(current, true, users),
    intent: { systemAssigned: true },
  };
}

/** Turns the system-assigned identity off, keeping the user-assigned ones. */
export function disableSystemChange(current: ResourceIdentity | undefined): IdentityChange {
  const users = userAssignedIds(current);
  return {
    identity: { type: typeFor(false, users.length) },
    expected: expectedBlock(current, false, users),
    intent: { systemAssigned: false },
  };
}

/**
 * The change an intent needs on the block as it is now, or undefined when the block already
 * satisfies it: a PATCH planned from an older read, rebased so that it neither undoes another
 * resource's change nor removes "the last" identity when another one has arrived since.
 */
export function changeFor(
  intent: IdentityIntent,
  current: ResourceIdentity | undefined,
): IdentityChange | undefined {
  if ("attach" in intent)
    return hasUserAssigned(current, intent.attach) ? undefined : attachChange(current, intent.attach);
  if ("detach" in intent)
    return hasUserAssigned(current, intent.detach) ? detachChange(current, intent.detach) : undefined;
  if (intent.systemAssigned === hasSystemAssigned(current)) return undefined;
  return intent.systemAssigned ? enableSystemChange(current) : disableSystemChange(current);
}

/**
 * IMDS has no default identity on a resource with several user-assigned identities and no
 * system-assigned one: clients must name the identity they want (client_id).
 */
export function lacksDefaultIdentity(identity: ResourceIdentity | undefined): boolean {
  return !hasSystemAssigned(identity) && userAssignedIds(identity).length > 1;
}
