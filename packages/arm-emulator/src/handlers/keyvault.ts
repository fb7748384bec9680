// Microsoft.KeyVault vaults (management plane, api-version 2026-02-01): create or update (long-running
// while the vault's DNS name registers), get, update, delete with soft delete, lists, the deleted
// vaults (get, list, purge), name availability and the access-policy operation.
import { authorize, checkPolicy } from "../authorize.js";
import { apiVersion, bodyObject, type Ctx, type Handler, page, type Reply } from "../context.js";
import type { Emulator } from "../emulator.js";
import { ArmError } from "../errors.js";
import { isGuid, key } from "../ids.js";
import type { Router } from "../router.js";
import {
  type AccessPolicyEntry,
  type AccessPolicyUpdateKind,
  applyAccessPolicyUpdate,
  type DeletedVault,
  PERMISSION_KINDS,
  type Permissions,
  type Vault,
} from "../vaults.js";
import {
  checkApiVersion,
  locationOf,
  requireGroup,
  resourceNotFound,
  sameLocation,
  subscriptionOfCtx,
  tagsOf,
} from "./common.js";

const NS = "Microsoft.KeyVault";
const TYPE = "Microsoft.KeyVault/vaults";
/** The documented limit on a vault's access-policy entries (VaultProperties.accessPolicies). */
export const MAX_ACCESS_POLICIES = 1024;
/** How long (ARM seconds) a new vault shows `RegisteringDns` and its create stays in progress. */
const DNS_REGISTRATION_SECONDS = 1;
/** 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no `--`. */
const VAULT_NAME = /^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const SKU_NAMES = ["standard", "premium"];

/** The permission enums of the 2026-02-01 document (modelAsString: values compare without case). */
const PERMISSION_VALUES: Record<(typeof PERMISSION_KINDS)[number], string[]> = {
  keys: [
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
  ],
  secrets: ["all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"],
  certificates: [
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
  ],
  storage: [
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
  ],
};

const badRequest = (message: string) => new ArmError(400, "BadRequest", message);

const vaultId = (subscriptionId: string, resourceGroup: string, name: string) =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${TYPE}/${name}`;

const deletedVaultId = (d: DeletedVault) =>
  `/subscriptions/${d.subscriptionId}/providers/${NS}/locations/${d.location}/deletedVaults/${d.name}`;

const provisioningState = (v: Vault, now = Date.now()) =>
  now < v.dnsReadyAt ? "RegisteringDns" : "Succeeded";

export function vaultBody(v: Vault): unknown {
  return {
    id: v.id,
    name: v.name,
    type: TYPE,
    location: v.location,
    tags: v.tags ?? {},
    properties: {
      ...v.properties,
      tenantId: v.tenantId,
      accessPolicies: v.accessPolicies,
      vaultUri: `https://${v.name.toLowerCase()}.vault.azure.net/`,
      provisioningState: provisioningState(v),
    },
  };
}

function deletedBody(d: DeletedVault): unknown {
  return {
    id: deletedVaultId(d),
    name: d.name,
    type: `${NS}/deletedVaults`,
    properties: {
      vaultId: d.vault.id,
      location: d.location,
      deletionDate: d.deletionDate,
      scheduledPurgeDate: d.scheduledPurgeDate,
      tags: d.vault.tags ?? {},
      purgeProtectionEnabled: d.vault.properties.enablePurgeProtection === true,
    },
  };
}

// ---- validation ----

function checkVaultName(name: string): void {
  if (!VAULT_NAME.test(name))
    throw new ArmError(
      400,
      "VaultNameNotValid",
      `The vault name '${name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.`,
    );
}

function objectAt(value: unknown, where: string): Record<string, unknown> {
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw badRequest(`'${where}' must be an object.`);
  return value as Record<string, unknown>;
}

function permissionsOf(value: unknown, where: string): Permissions {
  const raw = objectAt(value, `${where}.permissions`);
  const out: Permissions = {};
  for (const kind of PERMISSION_KINDS) {
    const list = raw[kind];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list) || list.some((p) => typeof p !== "string"))
      throw badRequest(`'${where}.permissions.${kind}' must be an array of strings.`);
    // Kept in the document's spelling ("GET" and "wrapkey" become "get" and "wrapKey").
    const canonical = new Map(PERMISSION_VALUES[kind].map((p) => [key(p), p]));
    const bad = (list as string[]).find((p) => !canonical.has(key(p)));
    if (bad !== undefined)
      throw badRequest(
        `Invalid value '${bad}' in '${where}.permissions.${kind}'. Valid values are: ${PERMISSION_VALUES[kind].join(", ")}.`,
      );
    out[kind] = (list as string[]).map((p) => canonical.get(key(p))!);
  }
  return out;
}

/**
 * The entries of a request, checked. Entries that a write creates or changes must use the vault's
 * tenant, as the document says; `vaultTenantId` undefined skips that (a remove may name an entry of
 * the tenant the vault had before, to clean up after a tenant change).
 */
function accessPoliciesOf(
  value: unknown,
  where: string,
  vaultTenantId: string | undefined,
): AccessPolicyEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`'${where}' must be an array.`);
  return value.map((raw, i) => {
    const at = `${where}[${i}]`;
    const e = objectAt(raw, at);
    if (!isGuid(e.tenantId)) throw badRequest(`'${at}.tenantId' must be a GUID.`);
    if (typeof e.objectId !== "string" || e.objectId.trim() === "")
      throw badRequest(`'${at}.objectId' is required.`);
    if (e.applicationId !== undefined && e.applicationId !== null && !isGuid(e.applicationId))
      throw badRequest(`'${at}.applicationId' must be a GUID.`);
    if (vaultTenantId !== undefined && key(e.tenantId) !== key(vaultTenantId))
      throw badRequest(
        `The tenant '${e.tenantId}' of '${at}' is not the vault's tenant '${vaultTenantId}'. All identities in the access policies must use the vault's tenant ID.`,
      );
    const entry: AccessPolicyEntry = {
      tenantId: e.tenantId,
      objectId: e.objectId,
      permissions: permissionsOf(e.permissions, at),
    };
    if (typeof e.applicationId === "string") entry.applicationId = e.applicationId;
    return entry;
  });
}

function checkLimit(entries: AccessPolicyEntry[]): void {
  if (entries.length > MAX_ACCESS_POLICIES)
    throw badRequest(
      `The vault would have ${entries.length} access policies; a vault can have at most ${MAX_ACCESS_POLICIES}. Remove entries, or use Azure role-based access control (enableRbacAuthorization).`,
    );
}

function booleanAt(p: Record<string, unknown>, name: string): boolean | undefined {
  const value = p[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw badRequest(`'properties.${name}' must be true or false.`);
  return value;
}

/** Soft delete and purge protection, once on, stay on (the document's words). */
function checkIrreversible(existing: Vault | undefined, p: Record<string, unknown>): void {
  if (booleanAt(p, "enableSoftDelete") === false && existing?.properties.enableSoftDelete !== false)
    throw badRequest(
      "The property 'enableSoftDelete' cannot be set to false: soft delete, once enabled, cannot be disabled.",
    );
  if (booleanAt(p, "enablePurgeProtection") === false)
    throw badRequest(
      "The property 'enablePurgeProtection' cannot be set to false. Enabling purge protection is irreversible; leave it out to keep it off.",
    );
}

function skuOf(value: unknown): { family: string; name: string } {
  const sku = objectAt(value, "properties.sku");
  if (sku.family !== "A" || typeof sku.name !== "string" || !SKU_NAMES.includes(sku.name.toLowerCase()))
    throw badRequest("'properties.sku' must be {family: 'A', name: 'standard' | 'premium'}.");
  return { family: "A", name: sku.name.toLowerCase() };
}

const SETTABLE = [
  "enabledForDeployment",
  "enabledForDiskEncryption",
  "enabledForTemplateDeployment",
  "enableSoftDelete",
  "enableRbacAuthorization",
  "enablePurgeProtection",
];

const STICKY = [
  "enableRbacAuthorization",
  "enableSoftDelete",
  "softDeleteRetentionInDays",
  "enablePurgeProtection",
];

/** The stored properties after a PUT (`replace`) or a PATCH (`merge`) of `p`. */
function mergedProperties(
  base: Record<string, unknown>,
  p: Record<string, unknown>,
  isCreate: boolean,
): Record<string, unknown> {
  const out = { ...base };
  if (p.sku !== undefined) out.sku = skuOf(p.sku);
  for (const name of SETTABLE) {
    const value = booleanAt(p, name);
    if (value !== undefined) out[name] = value;
  }
  if (p.softDeleteRetentionInDays !== undefined) {
    const days = p.softDeleteRetentionInDays;
    if (!Number.isInteger(days) || (days as number) < 7 || (days as number) > 90)
      throw badRequest("'properties.softDeleteRetentionInDays' must be a whole number from 7 to 90.");
    out.softDeleteRetentionInDays = days;
  }
  if (p.networkAcls !== undefined) out.networkAcls = objectAt(p.networkAcls, "properties.networkAcls");
  if (p.publicNetworkAccess !== undefined) {
    if (typeof p.publicNetworkAccess !== "string")
      throw badRequest("'properties.publicNetworkAccess' must be a string.");
    out.publicNetworkAccess = p.publicNetworkAccess;
  }
  if (isCreate) {
    // Defaults of a new vault at 2026-02-01: RBAC authorization on, soft delete on for 90 days.
    out.enableRbacAuthorization ??= true;
    out.enableSoftDelete ??= true;
    out.softDeleteRetentionInDays ??= 90;
    out.enabledForDeployment ??= false;
    out.enabledForDiskEncryption ??= false;
    out.enabledForTemplateDeployment ??= false;
  }
  return out;
}

// ---- lookups ----

function lookup(ctx: Ctx): Vault | undefined {
  const sub = subscriptionOfCtx(ctx);
  return ctx.em.store.vaults.byId.get(
    key(vaultId(sub.subscriptionId, ctx.params.resourceGroupName!, ctx.params.vaultName!)),
  );
}

function requireVault(ctx: Ctx): Vault {
  requireGroup(ctx, ctx.params.resourceGroupName!);
  const vault = lookup(ctx);
  if (!vault) throw resourceNotFound(TYPE, ctx.params.vaultName!, ctx.params.resourceGroupName!);
  return vault;
}

/** Long-running operations are named by what they wait for, so that they need no stored state. */
function operationUrl(ctx: Ctx, location: string, what: { create?: string; purge?: string }): string {
  const sub = subscriptionOfCtx(ctx);
  const id = Buffer.from(JSON.stringify(what)).toString("base64url");
  const loc = location.replace(/\s/g, "").toLowerCase();
  return `${ctx.em.baseUrl}/subscriptions/${sub.subscriptionId}/providers/${NS}/locations/${loc}/operationResults/${id}?api-version=${encodeURIComponent(apiVersion(ctx))}`;
}

// ---- vaults ----

const getVault: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "vaults");
  const vault = requireVault(ctx);
  authorize(ctx, `${TYPE}/read`, vault.id);
  return { status: 200, body: vaultBody(vault) };
};

const putVault: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "vaults");
  const sub = subscriptionOfCtx(ctx);
  const { resourceGroupName, vaultName } = ctx.params as { resourceGroupName: string; vaultName: string };
  const id = vaultId(sub.subscriptionId, resourceGroupName, vaultName);
  authorize(ctx, `${TYPE}/write`, id);
  const group = requireGroup(ctx, resourceGroupName);
  checkVaultName(vaultName);
  const body = bodyObject(ctx);
  const location = locationOf(body);
  const p = objectAt(body.properties, "properties");
  checkPolicy(ctx, TYPE, id, vaultName);
  const { vaults } = ctx.em.store;
  const existing = lookup(ctx);
  const createMode = typeof p.createMode === "string" ? p.createMode.toLowerCase() : "default";
  if (existing && !sameLocation(existing.location, location))
    throw new ArmError(
      400,
      "InvalidResourceLocation",
      `The resource '${vaultName}' already exists in location '${existing.location}' in resource group '${group.name}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
    );
  const now = new Date().toISOString();
  const tags = tagsOf(body.tags);
  const deleted = vaults.deleted.get(key(vaultName));
  if (!existing && createMode === "recover") {
    if (!deleted || key(deleted.subscriptionId) !== key(sub.subscriptionId))
      throw new ArmError(
        404,
        "DeletedVaultNotFound",
        `No deleted vault named '${vaultName}' was found in subscription '${sub.subscriptionId}' to recover.`,
      );
    vaults.deleted.delete(key(vaultName));
    const recovered: Vault = { ...deleted.vault, id, resourceGroup: group.name, updatedAt: now };
    if (tags) recovered.tags = tags;
    vaults.put(recovered);
    ctx.em.changed();
    return { status: 200, body: vaultBody(recovered) };
  }
  if (!existing) {
    const taken = vaults.byName.get(key(vaultName));
    if (taken)
      throw new ArmError(
        409,
        "VaultAlreadyExists",
        `The vault name '${vaultName}' is already in use. Vault names are globally unique so it is possible that the name is already taken.`,
      );
    if (deleted)
      throw new ArmError(
        409,
        "ConflictError",
        `Exist soft deleted vault with the same name '${vaultName}'. Recover it (createMode 'recover') or purge it first.`,
      );
  }
  if (!isGuid(p.tenantId)) throw badRequest("'properties.tenantId' is required and must be a GUID.");
  if (p.sku === undefined) throw badRequest("'properties.sku' is required.");
  checkIrreversible(existing, p);
  const accessPolicies = accessPoliciesOf(p.accessPolicies, "properties.accessPolicies", p.tenantId);
  checkLimit(accessPolicies);
  // A PUT replaces the vault's properties, but the access model and the deletion settings it
  // leaves out keep their values instead of falling back to a new vault's defaults.
  const kept = Object.fromEntries(
    STICKY.filter((name) => existing?.properties[name] !== undefined).map((name) => [
      name,
      existing!.properties[name],
    ]),
  );
  const properties = mergedProperties(kept, p, true);
  if (existing) {
    existing.tags = tags;
    existing.tenantId = p.tenantId;
    existing.accessPolicies = accessPolicies;
    existing.properties = properties;
    existing.updatedAt = now;
    ctx.em.changed();
    return { status: 200, body: vaultBody(existing) };
  }
  const vault: Vault = {
    id,
    subscriptionId: sub.subscriptionId,
    resourceGroup: group.name,
    name: vaultName,
    location,
    tags,
    tenantId: p.tenantId,
    accessPolicies,
    properties,
    dnsReadyAt: Date.now() + ctx.em.scaled(DNS_REGISTRATION_SECONDS),
    createdAt: now,
    updatedAt: now,
  };
  vaults.put(vault);
  ctx.em.changed();
  return {
    status: 201,
    body: vaultBody(vault),
    headers: {
      Location: operationUrl(ctx, location, { create: vault.id }),
      "Retry-After": ctx.em.retryAfter(DNS_REGISTRATION_SECONDS),
    },
  };
};

const patchVault: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "vaults");
  const vault = requireVault(ctx);
  authorize(ctx, `${TYPE}/write`, vault.id);
  const body = bodyObject(ctx);
  checkPolicy(ctx, TYPE, vault.id, vault.name);
  const p = body.properties === undefined ? {} : objectAt(body.properties, "properties");
  if (p.tenantId !== undefined && !isGuid(p.tenantId))
    throw badRequest("'properties.tenantId' must be a GUID.");
  checkIrreversible(vault, p);
  const tenantId = (p.tenantId as string | undefined) ?? vault.tenantId;
  const accessPolicies =
    p.accessPolicies === undefined
      ? vault.accessPolicies
      : accessPoliciesOf(p.accessPolicies, "properties.accessPolicies", tenantId);
  checkLimit(accessPolicies);
  const properties = mergedProperties(vault.properties, p, false);
  const tags = body.tags === undefined ? vault.tags : tagsOf(body.tags);
  // Validated in full before anything changes.
  vault.tenantId = tenantId;
  vault.accessPolicies = accessPolicies;
  vault.properties = properties;
  vault.tags = tags;
  vault.updatedAt = new Date().toISOString();
  ctx.em.changed();
  return { status: 200, body: vaultBody(vault) };
};

const deleteVault: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "vaults");
  const sub = subscriptionOfCtx(ctx);
  authorize(
    ctx,
    `${TYPE}/delete`,
    vaultId(sub.subscriptionId, ctx.params.resourceGroupName!, ctx.params.vaultName!),
  );
  requireGroup(ctx, ctx.params.resourceGroupName!);
  const vault = lookup(ctx);
  if (!vault) return { status: 204 };
  deleteVaultSoftly(ctx.em, vault);
  return { status: 200 };
};

/** Deletes a vault, keeping it as a deleted vault (its name reserved) unless soft delete is off. */
export function deleteVaultSoftly(em: Emulator, vault: Vault): void {
  const { vaults } = em.store;
  vaults.remove(vault);
  if (vault.properties.enableSoftDelete !== false) {
    const deletion = new Date();
    const days = Number(vault.properties.softDeleteRetentionInDays ?? 90);
    vaults.deleted.set(key(vault.name), {
      name: vault.name,
      subscriptionId: vault.subscriptionId,
      location: vault.location,
      deletionDate: deletion.toISOString(),
      scheduledPurgeDate: new Date(deletion.getTime() + days * 86_400_000).toISOString(),
      vault,
    });
  }
  em.changed();
}

const listByGroup: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "vaults");
  const group = requireGroup(ctx, ctx.params.resourceGroupName!);
  authorize(ctx, `${TYPE}/read`, group.id);
  return {
    status: 200,
    body: page(ctx, ctx.em.store.vaults.inGroup(group.subscriptionId, group.name), vaultBody),
  };
};

const listBySubscription: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "vaults");
  const sub = subscriptionOfCtx(ctx);
  authorize(ctx, `${TYPE}/read`, `/subscriptions/${sub.subscriptionId}`);
  return { status: 200, body: page(ctx, ctx.em.store.vaults.inSubscription(sub.subscriptionId), vaultBody) };
};

// ---- access policies ----

function updateKindOf(raw: string): AccessPolicyUpdateKind {
  const kind = raw.toLowerCase();
  if (kind === "add" || kind === "replace" || kind === "remove") return kind;
  throw badRequest(`The access policy operation '${raw}' is not valid; use add, replace or remove.`);
}

const updateAccessPolicy: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "vaults/accessPolicies");
  const kind = updateKindOf(ctx.params.operationKind!);
  const vault = requireVault(ctx);
  authorize(ctx, `${TYPE}/accessPolicies/write`, vault.id);
  const body = bodyObject(ctx);
  const p = objectAt(body.properties, "properties");
  if (!Array.isArray(p.accessPolicies)) throw badRequest("'properties.accessPolicies' is required.");
  const changes = accessPoliciesOf(
    p.accessPolicies,
    "properties.accessPolicies",
    kind === "remove" ? undefined : vault.tenantId,
  );
  const { entries, created } = applyAccessPolicyUpdate(vault.accessPolicies, kind, changes);
  checkLimit(entries);
  vault.accessPolicies = entries;
  vault.updatedAt = new Date().toISOString();
  ctx.em.changed();
  return {
    status: created ? 201 : 200,
    body: {
      id: `${vault.id}/accessPolicies/`,
      type: `${TYPE}/accessPolicies`,
      properties: { accessPolicies: changes },
    },
  };
};

// ---- deleted vaults ----

function requireDeleted(ctx: Ctx): DeletedVault {
  const sub = subscriptionOfCtx(ctx);
  const deleted = ctx.em.store.vaults.deleted.get(key(ctx.params.vaultName!));
  if (
    !deleted ||
    key(deleted.subscriptionId) !== key(sub.subscriptionId) ||
    !sameLocation(deleted.location, ctx.params.location!)
  )
    throw new ArmError(
      404,
      "ResourceNotFound",
      `The Resource '${NS}/deletedVaults/${ctx.params.vaultName}' under location '${ctx.params.location}' was not found.`,
    );
  return deleted;
}

const getDeleted: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "deletedVaults");
  const deleted = requireDeleted(ctx);
  authorize(ctx, `${NS}/locations/deletedVaults/read`, deletedVaultId(deleted));
  return { status: 200, body: deletedBody(deleted) };
};

const listDeleted: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "deletedVaults");
  const sub = subscriptionOfCtx(ctx);
  authorize(ctx, `${NS}/deletedVaults/read`, `/subscriptions/${sub.subscriptionId}`);
  return {
    status: 200,
    body: page(ctx, ctx.em.store.vaults.deletedInSubscription(sub.subscriptionId), deletedBody),
  };
};

const purgeDeleted: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "deletedVaults");
  const deleted = requireDeleted(ctx);
  authorize(ctx, `${NS}/locations/deletedVaults/purge/action`, deletedVaultId(deleted));
  if (deleted.vault.properties.enablePurgeProtection === true)
    throw new ArmError(
      409,
      "Conflict",
      `The vault '${deleted.name}' has purge protection enabled: it cannot be purged before its scheduled purge date ${deleted.scheduledPurgeDate}.`,
    );
  ctx.em.store.vaults.deleted.delete(key(deleted.name));
  ctx.em.changed();
  return {
    status: 202,
    headers: {
      Location: operationUrl(ctx, deleted.location, { purge: deleted.name }),
      "Retry-After": ctx.em.retryAfter(1),
    },
  };
};

/** Location of a create or a purge: 202 while in progress, then 200 (with the vault for a create). */
const operationResult: Handler = (ctx): Reply => {
  let what: { create?: string; purge?: string };
  try {
    what = JSON.parse(Buffer.from(ctx.params.operationId!, "base64url").toString("utf8"));
  } catch {
    what = {};
  }
  const notFound = new ArmError(404, "NotFound", `The operation '${ctx.params.operationId}' was not found.`);
  const again: Reply = {
    status: 202,
    headers: {
      Location: `${ctx.em.baseUrl}${ctx.path}?api-version=${encodeURIComponent(apiVersion(ctx))}`,
      "Retry-After": ctx.em.retryAfter(1),
    },
  };
  if (typeof what.create === "string") {
    const vault = ctx.em.store.vaults.byId.get(key(what.create));
    if (!vault || key(vault.subscriptionId) !== key(subscriptionOfCtx(ctx).subscriptionId)) throw notFound;
    return provisioningState(vault) === "Succeeded" ? { status: 200, body: vaultBody(vault) } : again;
  }
  if (typeof what.purge === "string") {
    return ctx.em.store.vaults.deleted.has(key(what.purge)) ? again : { status: 200 };
  }
  throw notFound;
};

// ---- name availability ----

const checkNameAvailability: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "checkNameAvailability");
  authorize(
    ctx,
    `${NS}/checkNameAvailability/read`,
    `/subscriptions/${subscriptionOfCtx(ctx).subscriptionId}`,
  );
  const body = bodyObject(ctx);
  if (typeof body.name !== "string") throw badRequest("'name' is required.");
  if (typeof body.type !== "string" || key(body.type) !== key(TYPE))
    throw badRequest(`'type' must be '${TYPE}'.`);
  const name = body.name;
  const { vaults } = ctx.em.store;
  if (!VAULT_NAME.test(name))
    return {
      status: 200,
      body: {
        nameAvailable: false,
        reason: "AccountNameInvalid",
        message: `Vault name '${name}' is invalid: 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no consecutive hyphens.`,
      },
    };
  if (vaults.byName.has(key(name)) || vaults.deleted.has(key(name)))
    return {
      status: 200,
      body: {
        nameAvailable: false,
        reason: "AlreadyExists",
        message: `The vault name '${name}' is already in use${vaults.deleted.has(key(name)) ? " by a soft-deleted vault" : ""}.`,
      },
    };
  return { status: 200, body: { nameAvailable: true } };
};

/** `GET /subscriptions/{s}/resources?$filter=resourceType eq 'Microsoft.KeyVault/vaults'` entries. */
export function vaultResourceEntries(ctx: Ctx, subscriptionId: string, resourceGroup?: string): unknown[] {
  const { vaults } = ctx.em.store;
  const list = resourceGroup
    ? vaults.inGroup(subscriptionId, resourceGroup)
    : vaults.inSubscription(subscriptionId);
  return list.map((v) => ({ id: v.id, name: v.name, type: TYPE, location: v.location, tags: v.tags ?? {} }));
}

export function registerKeyVault(router: Router<Handler>): void {
  const sub = "/subscriptions/{subscriptionId}";
  const rg = `${sub}/resourceGroups/{resourceGroupName}/providers/${NS}`;
  const item = `${rg}/vaults/{vaultName}`;
  const deleted = `${sub}/providers/${NS}/locations/{location}/deletedVaults/{vaultName}`;
  router
    .add("POST", `${sub}/providers/${NS}/checkNameAvailability`, checkNameAvailability)
    .add("GET", `${sub}/providers/${NS}/vaults`, listBySubscription)
    .add("GET", `${sub}/providers/${NS}/deletedVaults`, listDeleted)
    .add("GET", deleted, getDeleted)
    .add("POST", `${deleted}/purge`, purgeDeleted)
    .add("GET", `${sub}/providers/${NS}/locations/{location}/operationResults/{operationId}`, operationResult)
    .add("GET", `${rg}/vaults`, listByGroup)
    .add("PUT", `${item}/accessPolicies/{operationKind}`, updateAccessPolicy)
    .add("GET", item, getVault)
    .add("PUT", item, putVault)
    .add("PATCH", item, patchVault)
    .add("DELETE", item, deleteVault);
}
