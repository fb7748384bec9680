// Microsoft.ManagedIdentity: user-assigned identities, federated identity credentials,
// the system-assigned identity of a resource, and the operations list.
import { authorize, checkPolicy } from "../authorize.js";
import { apiVersion, bodyObject, type Ctx, type Handler, page } from "../context.js";
import type { Emulator } from "../emulator.js";
import { ArmError } from "../errors.js";
import { key, normalizePath } from "../ids.js";
import type { Router } from "../router.js";
import type { FederatedCredential, UserAssignedIdentity } from "../store.js";
import {
  checkApiVersion,
  locationOf,
  requireGroup,
  resourceNotFound,
  sameLocation,
  sleep,
  subscriptionOfCtx,
  tagsOf,
} from "./common.js";

const NS = "Microsoft.ManagedIdentity";
const TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities";
const FIC_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";
const IDENTITY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/;
const FIC_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$/;
const MAX_FICS = 20;

/** The id as the MSI resource provider spells it (`resourcegroups`, lower case). */
export const identityId = (subscriptionId: string, resourceGroup: string, name: string) =>
  `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/${TYPE}/${name}`;

export function identityBody(i: UserAssignedIdentity, version: string): unknown {
  const properties: Record<string, unknown> = {
    tenantId: i.tenantId,
    principalId: i.principalId,
    clientId: i.clientId,
  };
  if (version >= "2024-11-30") properties.isolationScope = i.isolationScope ?? "None";
  if (version >= "2026-05-31") properties.assignmentRestrictions = { providers: [] };
  return {
    id: i.id,
    name: i.name,
    type: TYPE,
    location: i.location,
    tags: i.tags ?? {},
    properties,
  };
}

function ficBody(i: UserAssignedIdentity, f: FederatedCredential): unknown {
  return {
    id: `${i.id}/federatedIdentityCredentials/${f.name}`,
    name: f.name,
    type: FIC_TYPE,
    properties: { issuer: f.issuer, subject: f.subject, audiences: f.audiences },
  };
}

/** Deletes an identity and its service principal; attachments and role assignments are left dangling, as in Azure. */
export function deleteIdentity(em: Emulator, identity: UserAssignedIdentity): void {
  em.store.removeIdentity(identity);
  em.store.removeObject(identity.tenantId, identity.principalId);
  em.changed();
}

function lookup(ctx: Ctx): UserAssignedIdentity | undefined {
  const sub = subscriptionOfCtx(ctx);
  return ctx.em.store.identities.get(
    key(identityId(sub.subscriptionId, ctx.params.resourceGroupName!, ctx.params.resourceName!)),
  );
}

function requireIdentity(ctx: Ctx): UserAssignedIdentity {
  requireGroup(ctx, ctx.params.resourceGroupName!);
  const identity = lookup(ctx);
  if (!identity) throw resourceNotFound(TYPE, ctx.params.resourceName!, ctx.params.resourceGroupName!);
  return identity;
}

function isolationScopeOf(properties: unknown): string | undefined {
  if (!properties || typeof properties !== "object") return undefined;
  const scope = (properties as Record<string, unknown>).isolationScope;
  if (scope === undefined) return undefined;
  if (scope !== "None" && scope !== "Regional")
    throw new ArmError(
      400,
      "InvalidRequestContent",
      `The value '${String(scope)}' of isolationScope is not valid; use None or Regional.`,
    );
  return scope;
}

const getIdentity: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities");
  const identity = requireIdentity(ctx);
  authorize(ctx, `${TYPE}/read`, identity.id);
  return { status: 200, body: identityBody(identity, apiVersion(ctx)) };
};

const putIdentity: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities");
  const sub = subscriptionOfCtx(ctx);
  const { resourceGroupName, resourceName } = ctx.params as {
    resourceGroupName: string;
    resourceName: string;
  };
  const id = identityId(sub.subscriptionId, resourceGroupName, resourceName);
  authorize(ctx, `${TYPE}/write`, id);
  const group = requireGroup(ctx, resourceGroupName);
  if (!IDENTITY_NAME.test(resourceName))
    throw new ArmError(
      400,
      "InvalidResourceName",
      `Resource name '${resourceName}' is invalid. The name can contain only letters, numbers, hyphens and underscores, must start with a letter or number and be 3 to 128 characters long.`,
    );
  const body = bodyObject(ctx);
  const location = locationOf(body);
  checkPolicy(ctx, TYPE, id, resourceName);
  const existing = lookup(ctx);
  const tags = tagsOf(body.tags);
  const isolationScope = isolationScopeOf(body.properties);
  if (existing) {
    if (!sameLocation(existing.location, location))
      throw new ArmError(
        400,
        "InvalidResourceLocation",
        `The resource '${resourceName}' already exists in location '${existing.location}' in resource group '${group.name}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
      );
    existing.tags = tags;
    if (isolationScope) existing.isolationScope = isolationScope;
    ctx.em.changed();
    return { status: 200, body: identityBody(existing, apiVersion(ctx)) };
  }
  ctx.em.throttleIdentityCreate(sub.subscriptionId, location);
  const principal = ctx.em.createManagedIdentityPrincipal(sub.tenantId, resourceName, id);
  const identity: UserAssignedIdentity = {
    id,
    subscriptionId: sub.subscriptionId,
    resourceGroup: group.name,
    name: resourceName,
    location,
    tags,
    tenantId: sub.tenantId,
    principalId: principal.id,
    clientId: principal.appId!,
    isolationScope,
    fics: [],
  };
  ctx.em.store.putIdentity(identity);
  ctx.em.changed();
  return { status: 201, body: identityBody(identity, apiVersion(ctx)) };
};

const patchIdentity: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities");
  const identity = requireIdentity(ctx);
  authorize(ctx, `${TYPE}/write`, identity.id);
  const body = bodyObject(ctx);
  checkPolicy(ctx, TYPE, identity.id, identity.name);
  if (body.tags !== undefined) identity.tags = tagsOf(body.tags);
  const isolationScope = isolationScopeOf(body.properties);
  if (isolationScope) identity.isolationScope = isolationScope;
  ctx.em.changed();
  return { status: 200, body: identityBody(identity, apiVersion(ctx)) };
};

const deleteIdentityHandler: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities");
  const sub = subscriptionOfCtx(ctx);
  authorize(
    ctx,
    `${TYPE}/delete`,
    identityId(sub.subscriptionId, ctx.params.resourceGroupName!, ctx.params.resourceName!),
  );
  requireGroup(ctx, ctx.params.resourceGroupName!);
  const identity = lookup(ctx);
  if (!identity) return { status: 204 };
  deleteIdentity(ctx.em, identity);
  return { status: 200 };
};

const listByGroup: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities");
  const group = requireGroup(ctx, ctx.params.resourceGroupName!);
  authorize(ctx, `${TYPE}/read`, group.id);
  const items = [
    ...(ctx.em.store.identitiesByGroup.get(key(`${group.subscriptionId}/${group.name}`))?.values() ?? []),
  ];
  const version = apiVersion(ctx);
  return { status: 200, body: page(ctx, items, (i) => identityBody(i, version)) };
};

const listBySubscription: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities");
  const sub = subscriptionOfCtx(ctx);
  authorize(ctx, `${TYPE}/read`, `/subscriptions/${sub.subscriptionId}`);
  const items = [...(ctx.em.store.identitiesBySubscription.get(key(sub.subscriptionId))?.values() ?? [])];
  const version = apiVersion(ctx);
  return { status: 200, body: page(ctx, items, (i) => identityBody(i, version)) };
};

// ---- federated identity credentials ----

function requireParent(ctx: Ctx): UserAssignedIdentity {
  requireGroup(ctx, ctx.params.resourceGroupName!);
  const identity = lookup(ctx);
  if (!identity)
    throw new ArmError(404, "ParentResourceNotFound", "The parent user-assigned identity does not exist.");
  return identity;
}

function ficName(ctx: Ctx): string {
  const name = ctx.params.federatedIdentityCredentialResourceName!;
  if (!FIC_NAME.test(name))
    throw new ArmError(400, "BadRequest", `Federated Identity Credential name '${name}' is invalid.`);
  return name;
}

function validatedFic(ctx: Ctx, name: string): FederatedCredential {
  const body = bodyObject(ctx);
  const p = body.properties as Record<string, unknown> | undefined;
  if (!p || typeof p !== "object" || Object.keys(p).length === 0)
    throw new ArmError(
      400,
      "BadRequest",
      "The request properties of the Federated Identity Credential are empty.",
    );
  const { issuer, subject, audiences } = p;
  if (typeof issuer !== "string" || !/^https:\/\/[^\s/]+/i.test(issuer))
    throw new ArmError(
      400,
      "BadRequest",
      "The issuer of the Federated Identity Credential must be a valid https URL.",
    );
  if (typeof subject !== "string" || subject.length === 0)
    throw new ArmError(
      400,
      "BadRequest",
      "The subject of the Federated Identity Credential must not be empty.",
    );
  if (!Array.isArray(audiences) || audiences.length !== 1 || typeof audiences[0] !== "string")
    throw new ArmError(400, "BadRequest", "Federated identity credentials must have exactly 1 audience.");
  return { name, issuer, subject, audiences: [audiences[0]] };
}

/** One write at a time per identity: a second one while the first is in flight gets 409. */
async function underFicLock<T>(ctx: Ctx, identity: UserAssignedIdentity, write: () => T): Promise<T> {
  const lock = key(identity.id);
  if (ctx.em.ficWritesInFlight.has(lock))
    throw new ArmError(
      409,
      "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
      `Too many Federated Identity Credentials are written concurrently for the managed identity '${identity.id.toLowerCase()}'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.`,
    );
  ctx.em.ficWritesInFlight.add(lock);
  try {
    await sleep(ctx.em.scaled(ctx.em.settings.ficWriteSeconds));
    return write();
  } finally {
    ctx.em.ficWritesInFlight.delete(lock);
  }
}

const putFic: Handler = async (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities/federatedIdentityCredentials");
  const identity = requireParent(ctx);
  const name = ficName(ctx);
  authorize(ctx, `${FIC_TYPE}/write`, `${identity.id}/federatedIdentityCredentials/${name}`);
  const fic = validatedFic(ctx, name);
  checkPolicy(ctx, FIC_TYPE, `${identity.id}/federatedIdentityCredentials/${name}`, name);
  ctx.em.throttleFicWrite(identity.subscriptionId, identity.id);
  return underFicLock(ctx, identity, () => {
    const index = identity.fics.findIndex((f) => key(f.name) === key(name));
    const clash = identity.fics.find(
      (f) => key(f.name) !== key(name) && f.issuer === fic.issuer && f.subject === fic.subject,
    );
    if (clash)
      throw new ArmError(
        400,
        "BadRequest",
        "Issuer and subject combination already exists for this Managed Identity.",
      );
    if (index < 0 && identity.fics.length >= MAX_FICS)
      throw new ArmError(
        400,
        "BadRequest",
        `A maximum of ${MAX_FICS} federated identity credentials can be added to a user-assigned managed identity.`,
      );
    if (index >= 0) identity.fics[index] = fic;
    else identity.fics.push(fic);
    ctx.em.changed();
    return { status: index >= 0 ? 200 : 201, body: ficBody(identity, fic) };
  });
};

const getFic: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities/federatedIdentityCredentials");
  const identity = requireParent(ctx);
  const name = ficName(ctx);
  authorize(ctx, `${FIC_TYPE}/read`, `${identity.id}/federatedIdentityCredentials/${name}`);
  const fic = identity.fics.find((f) => key(f.name) === key(name));
  if (!fic) throw resourceNotFound(FIC_TYPE, `${identity.name}/${name}`, identity.resourceGroup);
  return { status: 200, body: ficBody(identity, fic) };
};

const deleteFic: Handler = async (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities/federatedIdentityCredentials");
  const identity = requireParent(ctx);
  const name = ficName(ctx);
  authorize(ctx, `${FIC_TYPE}/delete`, `${identity.id}/federatedIdentityCredentials/${name}`);
  if (!identity.fics.some((f) => key(f.name) === key(name))) return { status: 204 };
  ctx.em.throttleFicWrite(identity.subscriptionId, identity.id);
  return underFicLock(ctx, identity, () => {
    const before = identity.fics.length;
    identity.fics = identity.fics.filter((f) => key(f.name) !== key(name));
    ctx.em.changed();
    return { status: identity.fics.length < before ? 200 : 204 };
  });
};

const listFics: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "userAssignedIdentities/federatedIdentityCredentials");
  const identity = requireParent(ctx);
  authorize(ctx, `${FIC_TYPE}/read`, identity.id);
  return { status: 200, body: page(ctx, identity.fics, (f) => ficBody(identity, f)) };
};

// ---- system-assigned identity by scope, operations ----

const getSystemAssigned: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "identities");
  const scope = normalizePath(ctx.params.scope ?? "/");
  const resource = ctx.em.store.resources.get(key(scope));
  authorize(ctx, `${NS}/identities/read`, scope);
  const identity = resource?.identity;
  if (!resource || !identity?.principalId || !identity.type.startsWith("SystemAssigned"))
    throw new ArmError(404, "ResourceNotFound", `The system assigned identity of '${scope}' was not found.`);
  return {
    status: 200,
    body: {
      id: `${resource.id}/providers/${NS}/identities/default`,
      name: resource.name,
      type: `${NS}/Identities`,
      location: resource.location,
      ...(resource.tags ? { tags: resource.tags } : {}),
      properties: {
        tenantId: identity.tenantId,
        principalId: identity.principalId,
        clientId: identity.clientId,
        clientSecretUrl: `${ctx.em.baseUrl}${resource.id}/credentials/v2/identities?tid=${identity.tenantId}&oid=${identity.principalId}&aid=${identity.clientId}`,
      },
    },
  };
};

const OPERATIONS = [
  ["userAssignedIdentities/read", "Get User Assigned Identity", "Gets an existing user assigned identity"],
  [
    "userAssignedIdentities/write",
    "Create/Update User Assigned Identity",
    "Creates a new user assigned identity or updates the tags associated with an existing user assigned identity",
  ],
  [
    "userAssignedIdentities/delete",
    "Delete User Assigned Identity",
    "Deletes an existing user assigned identity",
  ],
  [
    "userAssignedIdentities/assign/action",
    "Assign User Assigned Identity",
    "RBAC action for assigning an existing user assigned identity to a resource",
  ],
  [
    "userAssignedIdentities/federatedIdentityCredentials/read",
    "Get Federated Identity Credential",
    "Gets an existing federated identity credential",
  ],
  [
    "userAssignedIdentities/federatedIdentityCredentials/write",
    "Create/Update Federated Identity Credential",
    "Add or update a federated identity credential",
  ],
  [
    "userAssignedIdentities/federatedIdentityCredentials/delete",
    "Delete Federated Identity Credential",
    "Deletes an existing federated identity credential",
  ],
  ["identities/read", "Get System Assigned Identity", "Gets an existing system assigned identity"],
] as const;

const listOperations: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "operations");
  return {
    status: 200,
    body: {
      value: OPERATIONS.map(([name, operation, description]) => ({
        name: `${NS}/${name}`,
        display: {
          provider: "Managed Service Identity",
          resource: name.startsWith("identities") ? "System Assigned Identities" : "User Assigned Identities",
          operation,
          description,
        },
      })),
    },
  };
};

export function registerMsi(router: Router<Handler>): void {
  const rg =
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity";
  const item = `${rg}/userAssignedIdentities/{resourceName}`;
  const fic = `${item}/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}`;
  router
    .add("GET", "/providers/Microsoft.ManagedIdentity/operations", listOperations)
    .add("GET", "/{*scope}/providers/Microsoft.ManagedIdentity/identities/default", getSystemAssigned)
    .add(
      "GET",
      "/subscriptions/{subscriptionId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
      listBySubscription,
    )
    .add("GET", `${rg}/userAssignedIdentities`, listByGroup)
    .add("GET", item, getIdentity)
    .add("PUT", item, putIdentity)
    .add("PATCH", item, patchIdentity)
    .add("DELETE", item, deleteIdentityHandler)
    .add("GET", `${item}/federatedIdentityCredentials`, listFics)
    .add("GET", fic, getFic)
    .add("PUT", fic, putFic)
    .add("DELETE", fic, deleteFic);
}
