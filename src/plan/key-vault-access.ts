// Key Vault access policies of an identity's principal: the entry of that principal on each
// declared vault set to exactly the declared permissions, entries azid made and no longer
// declared removed, and nothing else on the vault touched. Writes go through the vault's
// access-policy operation (one entry per call), never a PUT of the whole vault. Pure.
import { armIdKey, sameId } from "../api/arm-id.js";
import { Reason } from "../api/conditions.js";
import type {
  KeyVaultAccessPolicySpec,
  KeyVaultAccessPolicyStatus,
  KeyVaultPermissions,
} from "../api/schemas/key-vault.js";
import type { SystemAssignedIdentity } from "../api/schemas/system-assigned-identity.js";
import type { UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import type { Phase, WriteAction } from "./actions.js";
import * as build from "./build.js";
import { type ItemOutcome, pending } from "./conditions.js";
import type {
  ObservedAccessPolicyEntry,
  ObservedVault,
  VaultPermissionKind,
  VaultPermissions,
} from "./observed.js";
import { itemViolation, type PolicyViolation } from "./policy.js";
import type { PlanFrame, WriteGate } from "./skeleton.js";

export type VaultAccessOutcome = KeyVaultAccessPolicyStatus & ItemOutcome;
type Frame = PlanFrame<UserAssignedIdentity> | PlanFrame<SystemAssignedIdentity>;

/** The principal whose entries are planned: its object id and the tenant it lives in. */
export interface VaultPrincipal {
  id: string;
  tenantId: string;
}

export const PERMISSION_KINDS: readonly VaultPermissionKind[] = [
  "keys",
  "secrets",
  "certificates",
  "storage",
];

export const RBAC_MODE_MESSAGE =
  "the vault uses Azure RBAC (enableRbacAuthorization: true), which ignores access policies: " +
  "grant a Key Vault role (Key Vault Secrets User, say) at the vault through roleAssignments instead; nothing is written";

/** The declared permissions as the entry azid writes: empty kinds left out. */
export function declaredPermissions(permissions: KeyVaultPermissions): VaultPermissions {
  const out: VaultPermissions = {};
  for (const kind of PERMISSION_KINDS) {
    const list = permissions[kind] ?? [];
    if (list.length > 0) out[kind] = [...list];
  }
  return out;
}

/** Same permissions, whatever the order and case (Azure's enums are modelAsString). */
export function samePermissions(a: VaultPermissions, b: VaultPermissions): boolean {
  return PERMISSION_KINDS.every((kind) => {
    const left = new Set((a[kind] ?? []).map((p) => p.toLowerCase()));
    const right = new Set((b[kind] ?? []).map((p) => p.toLowerCase()));
    return left.size === right.size && [...left].every((p) => right.has(p));
  });
}

/** The entry of `objectId` in `tenantId` on a vault (azid never writes application-bound entries). */
export function entryOf(
  vault: ObservedVault,
  objectId: string,
  tenantId: string,
): ObservedAccessPolicyEntry | undefined {
  return vault.accessPolicies.find(
    (entry) => sameId(entry.objectId, objectId) && sameId(entry.tenantId, tenantId) && !entry.applicationId,
  );
}

export interface VaultAccessInput {
  frame: Frame;
  /** Undefined while the principal is not known (or moved tenant): nothing is written. */
  principal: VaultPrincipal | undefined;
  observeOnly: boolean;
  gate: WriteGate;
  /**
   * A tenant-move repair is allowed now (an approved TenantMigration, azid remediate, Auto): a
   * vault left in the old tenant gets the principal's tenant, where a policy allows it for that vault.
   */
  repair?: boolean;
}

/**
 * The outcome of every declared entry and of every entry azid made and no longer declares (or
 * made for an earlier principal of this resource), with the writes queued on the frame.
 */
export function planKeyVaultAccess({
  frame,
  principal,
  observeOnly,
  gate,
  repair = false,
}: VaultAccessInput): VaultAccessOutcome[] {
  const declared = (frame.resource.spec.keyVaultAccessPolicies ?? []) as KeyVaultAccessPolicySpec[];
  const previous = frame.prev.keyVaultAccessPolicies ?? [];
  const outcomes: VaultAccessOutcome[] = [];
  for (const [index, item] of declared.entries()) {
    const before = previous.find((p) => sameId(p.vaultId, item.vaultId) && currentPrincipal(p, principal));
    const refusal = itemViolation(frame.context.policy, "keyVaultAccessPolicies", index);
    const outcome = declaredOutcome(
      { frame, principal, observeOnly, gate, repair },
      item,
      before?.owned ?? false,
      refusal,
    );
    outcomes.push(outcome);
  }
  // What azid made and no longer declares, or made for a principal this resource no longer has.
  for (const entry of previous) {
    if (!entry.owned) continue;
    const stillDeclared =
      declared.some((d) => sameId(d.vaultId, entry.vaultId)) && currentPrincipal(entry, principal);
    if (stillDeclared) continue;
    const removal = removeOwned(frame, entry, observeOnly, gate, "cleanup");
    if (removal) outcomes.push(removal);
  }
  return outcomes;
}

/** Removes every entry azid made (deletion with deletionPolicy Delete); returns those still there. */
export function planKeyVaultRemoval(frame: Frame, gate: WriteGate): VaultAccessOutcome[] {
  const outcomes: VaultAccessOutcome[] = [];
  for (const entry of frame.prev.keyVaultAccessPolicies ?? []) {
    if (!entry.owned) continue;
    const removal = removeOwned(frame, entry, false, gate, "teardown");
    if (removal) outcomes.push(removal);
  }
  return outcomes;
}

const currentPrincipal = (entry: KeyVaultAccessPolicyStatus, principal: VaultPrincipal | undefined) =>
  !principal || !entry.principalId || sameId(entry.principalId, principal.id);

function declaredOutcome(
  {
    frame,
    principal,
    observeOnly,
    gate,
    repair,
  }: Required<Omit<VaultAccessInput, "principal">> & Pick<VaultAccessInput, "principal">,
  item: KeyVaultAccessPolicySpec,
  ownedBefore: boolean,
  refusal: PolicyViolation | undefined,
): VaultAccessOutcome {
  const base = {
    vaultId: item.vaultId,
    owned: ownedBefore,
    ...(principal ? { principalId: principal.id } : {}),
  };
  if (refusal) {
    return {
      ...base,
      state: "Refused",
      reason: Reason.PolicyDenied,
      message: `${refusal.rule}: ${refusal.message}`,
    };
  }
  if (!principal) return { ...base, ...pending("waiting for the identity's principal", Reason.Waiting) };
  const vault = frame.obs.vault(item.vaultId);
  if (vault === undefined) return { ...base, ...pending("reading the vault") };
  if (vault === null) {
    return {
      ...base,
      state: "Failed",
      reason: Reason.VaultNotFound,
      message: `Key Vault ${item.vaultId} does not exist, or azid's credential cannot read it (Microsoft.KeyVault/vaults/read)`,
    };
  }
  const withTenant = { ...base, tenantId: vault.tenantId };
  if (vault.rbac) {
    return { ...withTenant, state: "Refused", reason: Reason.VaultInRbacMode, message: RBAC_MODE_MESSAGE };
  }
  const repairable = (frame.context.policy.vaultTenantRepair ?? []).includes(armIdKey(item.vaultId));
  if (!sameId(vault.tenantId, principal.tenantId)) {
    const moved = `the vault is in tenant ${vault.tenantId} but the principal is in tenant ${principal.tenantId}`;
    if (repair && repairable && !observeOnly) {
      // The tenant first: the principal's entry can only name the vault's tenant.
      const action = build.setVaultTenant(frame.owner, vault.id, vault.tenantId, principal.tenantId);
      return { ...withTenant, ...frame.writeItem(action, gate, moved) };
    }
    const why = !repairable
      ? "no IdentityPolicy keyVaults rule lets a tenant repair change this vault's tenant (allowTenantRepair): " +
        "set it by hand (az keyvault update --set properties.tenantId=...) or allow it"
      : "the vault's tenant is repaired with the identities by a TenantMigration or azid remediate";
    return {
      ...withTenant,
      state: "Failed",
      reason: Reason.VaultTenantMismatch,
      message: `${moved}: ${why}; nothing is written`,
    };
  }
  const desired = declaredPermissions(item.permissions);
  const current = entryOf(vault, principal.id, vault.tenantId);
  if (current && samePermissions(current.permissions, desired)) {
    return { ...withTenant, state: "Ready", reason: Reason.Reconciled };
  }
  const drift = current
    ? `permissions differ (${build.describePermissions(current.permissions)})`
    : "missing";
  if (observeOnly) return { ...withTenant, state: "Drifted", reason: Reason.Drifted, message: drift };
  const action = build.updateVaultAccessPolicy(
    frame.owner,
    vault.id,
    "replace",
    { tenantId: vault.tenantId, objectId: principal.id, permissions: desired },
    "grants",
  );
  const outcome = frame.writeItem(action, gate, drift);
  // An entry azid adds is azid's to remove; one that was there before (adopted) stays on removal.
  const owned = ownedBefore || (!current && outcome.state === "Pending" && gate.writable);
  return { ...withTenant, owned, ...outcome };
}

/** The removal of one entry azid made, or undefined once it is gone. */
function removeOwned(
  frame: Frame,
  entry: KeyVaultAccessPolicyStatus,
  observeOnly: boolean,
  gate: WriteGate,
  phase: Phase,
): VaultAccessOutcome | undefined {
  if (!entry.principalId) return undefined;
  const base = { vaultId: entry.vaultId, principalId: entry.principalId, owned: true };
  const vault = frame.obs.vault(entry.vaultId);
  if (vault === undefined)
    return { ...base, state: "Removing", reason: Reason.Progressing, message: "reading the vault" };
  if (vault === null) return undefined;
  // The entry may be under the tenant azid wrote it in (an earlier principal, before a move).
  const tenantId = entry.tenantId ?? vault.tenantId;
  const current = entryOf(vault, entry.principalId, tenantId);
  if (!current) return undefined;
  // The vault's tenant repair planned in this round removes it with the rest of the old tenant.
  const repairing = frame.writes.some((w) => w.kind === "SetVaultTenant" && sameId(w.vaultId, vault.id));
  if (repairing)
    return {
      ...base,
      tenantId,
      state: "Removing",
      reason: Reason.Progressing,
      message: "with the vault's tenant",
    };
  if (observeOnly)
    return { ...base, tenantId, state: "Drifted", reason: Reason.Drifted, message: "no longer declared" };
  const action: WriteAction = build.updateVaultAccessPolicy(frame.owner, vault.id, "remove", current, phase);
  const outcome = frame.writeItem(action, gate, "no longer declared");
  return {
    ...base,
    tenantId,
    ...outcome,
    ...(outcome.state === "Pending" ? { state: "Removing" as const } : {}),
  };
}

/** Distinct vaults named by a resource's entries (declared and owned), for reports. */
export function vaultIdsOf(
  declared: readonly KeyVaultAccessPolicySpec[] | undefined,
  status: readonly KeyVaultAccessPolicyStatus[] | undefined,
): string[] {
  const ids = new Map<string, string>();
  for (const { vaultId } of [...(declared ?? []), ...(status ?? [])]) ids.set(armIdKey(vaultId), vaultId);
  return [...ids.values()];
}
