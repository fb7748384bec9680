// Key Vault access-policy grants: the permission names are the enums of Microsoft.KeyVault
// 2026-02-01 (AccessPolicyEntry.permissions), so a spec that passes here is one Azure accepts.
import type { Static } from "typebox";
import { ItemFields, resourceId } from "./common.js";
import { cel, list, map, Optional, obj, oneOf, set, str } from "./helpers.js";

/** Azure's own limit on the entries of one vault's access policy. */
export const MAX_VAULT_ACCESS_POLICY_ENTRIES = 1024;
export const MAX_KEY_VAULT_ACCESS_POLICIES = 50;

export const KEY_PERMISSIONS = [
  "all",
  "encrypt",
  "decrypt",
  "wrapKey",
  "unwrapKey",
  "sign",
  "verify",
  "get",
  "list",
  "create",
  "update",
  "import",
  "delete",
  "backup",
  "restore",
  "recover",
  "purge",
  "release",
  "rotate",
  "getrotationpolicy",
  "setrotationpolicy",
] as const;
export const SECRET_PERMISSIONS = [
  "all",
  "get",
  "list",
  "set",
  "delete",
  "backup",
  "restore",
  "recover",
  "purge",
] as const;
export const CERTIFICATE_PERMISSIONS = [
  "all",
  "get",
  "list",
  "delete",
  "create",
  "import",
  "update",
  "managecontacts",
  "getissuers",
  "listissuers",
  "setissuers",
  "deleteissuers",
  "manageissuers",
  "recover",
  "purge",
  "backup",
  "restore",
] as const;
export const STORAGE_PERMISSIONS = [
  "all",
  "get",
  "list",
  "delete",
  "set",
  "update",
  "regeneratekey",
  "recover",
  "purge",
  "backup",
  "restore",
  "setsas",
  "listsas",
  "getsas",
  "deletesas",
] as const;

const permissionList = <const V extends readonly string[]>(values: V, what: string) =>
  Optional(
    set(oneOf([...values], `A permission to ${what}.`), `Permissions to ${what}.`, {
      maxItems: values.length,
    }),
  );

export const KeyVaultPermissions = obj(
  {
    keys: permissionList(KEY_PERMISSIONS, "keys"),
    secrets: permissionList(SECRET_PERMISSIONS, "secrets"),
    certificates: permissionList(CERTIFICATE_PERMISSIONS, "certificates"),
    storage: permissionList(STORAGE_PERMISSIONS, "storage accounts"),
  },
  "Permissions on the vault's keys, secrets, certificates and storage, as Azure's AccessPolicyEntry has them.",
);
export type KeyVaultPermissions = Static<typeof KeyVaultPermissions>;

export const KeyVaultAccessPolicySpec = obj(
  {
    vaultId: resourceId("ARM id of the vault (Microsoft.KeyVault/vaults) in access-policy mode."),
    permissions: KeyVaultPermissions,
  },
  "An access-policy entry azid keeps on a vault for the identity's principal.",
  {
    "x-kubernetes-validations": [
      cel(
        "self.vaultId.lowerAscii().matches('^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft.keyvault/vaults/[^/]+$')",
        "vaultId must be the ARM id of a Microsoft.KeyVault/vaults resource",
        (self: { vaultId: string }) =>
          /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.keyvault\/vaults\/[^/]+$/.test(
            self.vaultId.toLowerCase(),
          ),
        { fieldPath: ".vaultId" },
      ),
    ],
  },
);
export type KeyVaultAccessPolicySpec = Static<typeof KeyVaultAccessPolicySpec>;

export const KeyVaultAccessPolicies = map(
  KeyVaultAccessPolicySpec,
  ["vaultId"],
  "Key Vault access-policy entries for the identity's principal, one per vault (access-policy mode only; " +
    "for a vault in RBAC mode grant a Key Vault role through roleAssignments).",
  { maxItems: MAX_KEY_VAULT_ACCESS_POLICIES },
);

export const KeyVaultAccessPolicyStatus = obj(
  {
    vaultId: resourceId("ARM id of the vault."),
    principalId: Optional(str("The object id the entry is for.", { maxLength: 36 })),
    tenantId: Optional(str("The tenant of the entry (the vault's when azid wrote it).", { maxLength: 36 })),
    ...ItemFields,
  },
  "State of the identity's access-policy entry on one vault.",
);
export type KeyVaultAccessPolicyStatus = Static<typeof KeyVaultAccessPolicyStatus>;

// ---- IdentityPolicy: which vaults, which permissions ----

/**
 * Permissions that destroy or exfiltrate what a vault holds, or let someone substitute key
 * material or the certificate issuer: refused unless a policy rule names each one (`all` in a
 * rule never covers them; `all` in a spec stands for every permission, these included).
 */
export const PRIVILEGED_VAULT_PERMISSIONS = {
  keys: ["delete", "purge", "release", "backup", "import"],
  secrets: ["delete", "purge", "backup"],
  certificates: ["delete", "purge", "backup", "import", "manageissuers", "setissuers", "deleteissuers"],
  storage: ["delete", "purge", "backup", "regeneratekey", "getsas", "setsas", "deletesas"],
} as const satisfies Record<keyof KeyVaultPermissions, readonly string[]>;

// ---- TenantMigration: what a repair does to vaults ----

const permissionNames = (what: string) =>
  Optional(
    list(str("A permission, as Azure returned it.", { maxLength: 64 }), `Permissions to ${what}.`, {
      maxItems: 64,
    }),
  );

export const VaultRepairEntry = obj(
  {
    objectId: str("The object id the entry named (of the old tenant).", { maxLength: 36 }),
    tenantId: str("The entry's tenant.", { maxLength: 36 }),
    permissions: obj(
      {
        keys: permissionNames("keys"),
        secrets: permissionNames("secrets"),
        certificates: permissionNames("certificates"),
        storage: permissionNames("storage accounts"),
      },
      "The entry's permissions.",
    ),
  },
  "An access-policy entry of a principal azid does not manage, removed with the old tenant: to grant again by hand.",
);

export const VaultRepair = obj(
  {
    vaultId: resourceId("ARM id of the vault."),
    fromTenantId: str("The vault's tenant before the repair.", { maxLength: 36 }),
    toTenantId: str("The tenant the repair sets.", { maxLength: 36 }),
    foreignEntries: list(VaultRepairEntry, "Entries of others the repair removes.", { maxItems: 1024 }),
  },
  "A Key Vault whose tenant the repair resets.",
);
export type VaultRepair = Static<typeof VaultRepair>;
