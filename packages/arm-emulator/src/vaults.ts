// Microsoft.KeyVault vaults as the emulator keeps them: live vaults (names are global, as their DNS
// names are), soft-deleted vaults (which keep their name reserved until purged), and the
// access-policy update semantics of `vaults/{name}/accessPolicies/{add|replace|remove}`.
import { key } from "./ids.js";
import { addTo, type IndexMap, removeFrom } from "./index-map.js";

export const PERMISSION_KINDS = ["keys", "secrets", "certificates", "storage"] as const;
export type PermissionKind = (typeof PERMISSION_KINDS)[number];
export type Permissions = Partial<Record<PermissionKind, string[]>>;

export interface AccessPolicyEntry {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: Permissions;
}

export interface Vault {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  tenantId: string;
  accessPolicies: AccessPolicyEntry[];
  /** Every other property as last written (sku, enableRbacAuthorization, networkAcls, ...). */
  properties: Record<string, unknown>;
  /** Epoch ms until which a new vault shows `provisioningState: RegisteringDns`. */
  dnsReadyAt: number;
  createdAt: string;
  updatedAt: string;
}

export interface DeletedVault {
  name: string;
  subscriptionId: string;
  location: string;
  deletionDate: string;
  scheduledPurgeDate: string;
  /** The vault as it was, for `createMode: recover`. */
  vault: Vault;
}

export type AccessPolicyUpdateKind = "add" | "replace" | "remove";

/** The same (tenantId, objectId, applicationId) names the same entry; ids compare without case. */
export const entryKey = (e: AccessPolicyEntry): string =>
  `${key(e.tenantId)}|${key(e.objectId)}|${key(e.applicationId ?? "")}`;

function union(existing: string[] = [], added: string[] = []): string[] {
  const out = [...existing];
  const seen = new Set(existing.map(key));
  for (const p of added)
    if (!seen.has(key(p))) {
      seen.add(key(p));
      out.push(p);
    }
  return out;
}

function without(existing: string[] = [], removed: string[] = []): string[] {
  const gone = new Set(removed.map(key));
  return existing.filter((p) => !gone.has(key(p)));
}

const copyPermissions = (p: Permissions): Permissions =>
  Object.fromEntries(PERMISSION_KINDS.filter((k) => p[k] !== undefined).map((k) => [k, [...p[k]!]]));

const isEmpty = (p: Permissions) => PERMISSION_KINDS.every((k) => (p[k] ?? []).length === 0);

/**
 * The vault's entries after an access-policy update (the input list is not changed), and whether
 * an entry was created. Per entry matched by (tenantId, objectId, applicationId):
 * add merges the permissions into the existing entry (or appends a new one); replace overwrites
 * the existing entry's permissions (or appends a new one); remove takes the listed permissions
 * out of the existing entry and drops the entry when none remain (an unknown entry is ignored).
 */
export function applyAccessPolicyUpdate(
  current: AccessPolicyEntry[],
  kind: AccessPolicyUpdateKind,
  changes: AccessPolicyEntry[],
): { entries: AccessPolicyEntry[]; created: boolean } {
  const entries = current.map((e) => ({ ...e, permissions: copyPermissions(e.permissions) }));
  let created = false;
  for (const change of changes) {
    const index = entries.findIndex((e) => entryKey(e) === entryKey(change));
    const existing = index >= 0 ? entries[index]! : undefined;
    if (kind === "remove") {
      if (!existing) continue;
      for (const k of PERMISSION_KINDS)
        if (existing.permissions[k] !== undefined)
          existing.permissions[k] = without(existing.permissions[k], change.permissions[k]);
      if (isEmpty(existing.permissions)) entries.splice(index, 1);
      continue;
    }
    if (!existing) {
      entries.push({ ...change, permissions: copyPermissions(change.permissions) });
      created = true;
      continue;
    }
    if (kind === "replace") existing.permissions = copyPermissions(change.permissions);
    else
      for (const k of PERMISSION_KINDS)
        if (change.permissions[k] !== undefined || existing.permissions[k] !== undefined)
          existing.permissions[k] = union(existing.permissions[k], change.permissions[k]);
  }
  return { entries, created };
}

export class VaultStore {
  readonly byId = new Map<string, Vault>();
  /** Vault names are global (`{name}.vault.azure.net`). */
  readonly byName = new Map<string, Vault>();
  readonly byGroup: IndexMap<Vault> = new Map();
  readonly bySubscription: IndexMap<Vault> = new Map();
  /** Soft-deleted vaults by name: the name stays taken until purged. */
  readonly deleted = new Map<string, DeletedVault>();

  put(vault: Vault): void {
    const id = key(vault.id);
    this.byId.set(id, vault);
    this.byName.set(key(vault.name), vault);
    addTo(this.byGroup, key(`${vault.subscriptionId}/${vault.resourceGroup}`), id, vault);
    addTo(this.bySubscription, key(vault.subscriptionId), id, vault);
  }

  remove(vault: Vault): void {
    const id = key(vault.id);
    this.byId.delete(id);
    this.byName.delete(key(vault.name));
    removeFrom(this.byGroup, key(`${vault.subscriptionId}/${vault.resourceGroup}`), id);
    removeFrom(this.bySubscription, key(vault.subscriptionId), id);
  }

  inGroup(subscriptionId: string, resourceGroup: string): Vault[] {
    return [...(this.byGroup.get(key(`${subscriptionId}/${resourceGroup}`))?.values() ?? [])];
  }

  inSubscription(subscriptionId: string): Vault[] {
    return [...(this.bySubscription.get(key(subscriptionId))?.values() ?? [])];
  }

  deletedInSubscription(subscriptionId: string): DeletedVault[] {
    return [...this.deleted.values()].filter((d) => key(d.subscriptionId) === key(subscriptionId));
  }

  toJSON(): unknown {
    return { vaults: [...this.byId.values()], deleted: [...this.deleted.values()] };
  }

  load(data: unknown): void {
    const d = (data ?? {}) as { vaults?: Vault[]; deleted?: DeletedVault[] };
    for (const v of d.vaults ?? []) this.put(v);
    for (const v of d.deleted ?? []) this.deleted.set(key(v.name), v);
  }
}
