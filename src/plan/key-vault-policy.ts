// IdentityPolicy rules for Key Vault access policies: which vaults, which permissions, and
// whether a tenant repair may reset a vault's tenant. Default deny; permissions that destroy or
// exfiltrate (PRIVILEGED_VAULT_PERMISSIONS) pass only when a rule names them one by one. Pure.
import type { IdentityPolicy, KeyVaultRule, ScopeRule } from "../api/schemas/identity-policy.js";
import {
  CERTIFICATE_PERMISSIONS,
  KEY_PERMISSIONS,
  type KeyVaultAccessPolicySpec,
  type KeyVaultPermissions,
  PRIVILEGED_VAULT_PERMISSIONS,
  SECRET_PERMISSIONS,
  STORAGE_PERMISSIONS,
} from "../api/schemas/key-vault.js";

type Kind = keyof KeyVaultPermissions;
const KINDS: readonly Kind[] = ["keys", "secrets", "certificates", "storage"];
const EVERY: Record<Kind, readonly string[]> = {
  keys: KEY_PERMISSIONS,
  secrets: SECRET_PERMISSIONS,
  certificates: CERTIFICATE_PERMISSIONS,
  storage: STORAGE_PERMISSIONS,
};

export const isPrivilegedVaultPermission = (kind: Kind, permission: string) =>
  (PRIVILEGED_VAULT_PERMISSIONS[kind] as readonly string[]).includes(permission.toLowerCase());

/** A spec's permissions one by one: `all` stands for every permission of its kind, privileged ones too. */
function expanded(permissions: KeyVaultPermissions): Array<{ kind: Kind; permission: string }> {
  const out: Array<{ kind: Kind; permission: string }> = [];
  for (const kind of KINDS) {
    const list = (permissions[kind] ?? []).map((p) => p.toLowerCase());
    const names = list.includes("all") ? EVERY[kind].filter((p) => p !== "all") : list;
    for (const permission of new Set(names)) out.push({ kind, permission: permission.toLowerCase() });
  }
  return out;
}

/** Whether a rule allows one permission: named, or (not privileged) covered by `all`. */
function ruleAllows(rule: KeyVaultRule, kind: Kind, permission: string): boolean {
  const listed = (rule.permissions[kind] ?? []).map((p) => p.toLowerCase());
  if (listed.includes(permission)) return true;
  return listed.includes("all") && !isPrivilegedVaultPermission(kind, permission);
}

export interface VaultRefusal {
  rule: "default deny" | "privileged permission";
  message: string;
}

/** Why the selecting policies refuse one declared entry, or undefined when they allow it. */
export function keyVaultRefusal(
  selecting: readonly IdentityPolicy[],
  item: KeyVaultAccessPolicySpec,
  matches: (rule: ScopeRule, scope: string) => boolean,
): VaultRefusal | undefined {
  const rules = selecting.flatMap((policy) =>
    (policy.spec.keyVaults ?? []).filter((rule) => rule.scopes.some((scope) => matches(scope, item.vaultId))),
  );
  if (rules.length === 0) {
    return {
      rule: "default deny",
      message: `no IdentityPolicy selecting this namespace allows access policies on Key Vault ${item.vaultId}`,
    };
  }
  const refused = expanded(item.permissions).filter(
    ({ kind, permission }) => !rules.some((rule) => ruleAllows(rule, kind, permission)),
  );
  if (refused.length === 0) return undefined;
  const privileged = refused.filter(({ kind, permission }) => isPrivilegedVaultPermission(kind, permission));
  const names = refused.map(({ kind, permission }) => `${kind}/${permission}`).join(", ");
  if (privileged.length > 0) {
    return {
      rule: "privileged permission",
      message:
        `${names} on Key Vault ${item.vaultId} refused: ` +
        `${privileged.map(({ kind, permission }) => `${kind}/${permission}`).join(", ")} can destroy or exfiltrate ` +
        "what the vault holds; an IdentityPolicy keyVaults rule must name each one (all does not cover them)",
    };
  }
  return {
    rule: "default deny",
    message: `no IdentityPolicy selecting this namespace allows ${names} on Key Vault ${item.vaultId}`,
  };
}

/** Whether a selecting policy lets a tenant repair reset this vault's tenant. */
export function vaultTenantRepairAllowed(
  selecting: readonly IdentityPolicy[],
  vaultId: string,
  matches: (rule: ScopeRule, scope: string) => boolean,
): boolean {
  return selecting.some((policy) =>
    (policy.spec.keyVaults ?? []).some(
      (rule) => rule.allowTenantRepair === true && rule.scopes.some((scope) => matches(scope, vaultId)),
    ),
  );
}
