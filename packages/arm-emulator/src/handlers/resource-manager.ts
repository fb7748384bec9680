// Microsoft.Resources: subscriptions, tenants, providers, resource groups and resource lists.
import { authorize, checkPolicy } from "../authorize.js";
import { locationsBody, PROVIDERS, providerBody, providerNamespace } from "../catalog.js";
import { bodyObject, type Ctx, type Handler, page, queryParam } from "../context.js";
import type { Emulator } from "../emulator.js";
import { ArmError } from "../errors.js";
import { isAtOrBelow, key, resourceGroupScope, subscriptionScope } from "../ids.js";
import type { Router } from "../router.js";
import type { ResourceGroup, Subscription } from "../store.js";
import { checkApiVersion, locationOf, requireGroup, subscriptionOfCtx, tagsOf } from "./common.js";
import { deleteVaultSoftly, vaultResourceEntries } from "./keyvault.js";
import { deleteIdentity, identityBody } from "./msi.js";
import { resourceBody } from "./resource-model.js";
import { deleteResource } from "./resources.js";

export function subscriptionBody(s: Subscription): unknown {
  return {
    id: subscriptionScope(s.subscriptionId),
    subscriptionId: s.subscriptionId,
    displayName: s.displayName,
    tenantId: s.tenantId,
    state: s.state,
    subscriptionPolicies: {
      locationPlacementId: "Public_2014-09-01",
      quotaId: "PayAsYouGo_2014-09-01",
      spendingLimit: "Off",
    },
    authorizationSource: "RoleBased",
    managedByTenants: [],
  };
}

/** A restricted caller sees a subscription when it holds any role assignment in or above it. */
function visible(em: Emulator, oid: string, subscriptionId: string): boolean {
  if (!em.restricted.has(key(oid))) return true;
  const scope = subscriptionScope(subscriptionId);
  return em.store
    .assignmentsOfPrincipal(oid)
    .some((a) => isAtOrBelow(a.scope, scope) || isAtOrBelow(scope, a.scope));
}

function groupBody(g: ResourceGroup): unknown {
  return {
    id: g.id,
    name: g.name,
    type: "Microsoft.Resources/resourceGroups",
    location: g.location,
    ...(g.tags ? { tags: g.tags } : {}),
    properties: { provisioningState: "Succeeded" },
  };
}

const listSubscriptions: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "subscriptions");
  const subs = [...ctx.em.store.subscriptions.values()].filter(
    (s) =>
      (ctx.caller.opaque || key(s.tenantId) === key(ctx.caller.tid)) &&
      visible(ctx.em, ctx.caller.oid, s.subscriptionId),
  );
  // The 2022-12-01 schema requires nextLink; an empty one ends the paging.
  return { status: 200, body: { value: subs.map(subscriptionBody), nextLink: "" } };
};

const getSubscription: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "subscriptions");
  const sub = subscriptionOfCtx(ctx);
  if (!visible(ctx.em, ctx.caller.oid, sub.subscriptionId))
    throw new ArmError(
      403,
      "AuthorizationFailed",
      `The client '${ctx.caller.oid}' with object id '${ctx.caller.oid}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/read' over scope '${subscriptionScope(sub.subscriptionId)}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
  return { status: 200, body: subscriptionBody(sub) };
};

const listLocations: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "locations");
  return { status: 200, body: locationsBody(subscriptionOfCtx(ctx).subscriptionId) };
};

const listTenants: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "tenants");
  const tenants = [...ctx.em.store.tenants.values()].filter(
    (t) => ctx.caller.opaque || key(t.id) === key(ctx.caller.tid),
  );
  return {
    status: 200,
    body: {
      value: tenants.map((t) => ({ id: `/tenants/${t.id}`, tenantId: t.id, tenantCategory: "Home" })),
      nextLink: "",
    },
  };
};

const listProviders: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "providers");
  const sub = subscriptionOfCtx(ctx);
  return {
    status: 200,
    body: { value: Object.keys(PROVIDERS).map((ns) => providerBody(ns, sub.subscriptionId)) },
  };
};

const getProvider: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "providers");
  const namespace = providerNamespace(ctx.params.namespace ?? "");
  if (!namespace)
    throw new ArmError(
      404,
      "InvalidResourceNamespace",
      `The resource namespace '${ctx.params.namespace}' is invalid.`,
    );
  return { status: 200, body: providerBody(namespace, ctx.subscription?.subscriptionId) };
};

const listGroups: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "resourceGroups");
  const sub = subscriptionOfCtx(ctx);
  authorize(
    ctx,
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    subscriptionScope(sub.subscriptionId),
  );
  const groups = [...ctx.em.store.resourceGroups.values()].filter(
    (g) => key(g.subscriptionId) === key(sub.subscriptionId),
  );
  return { status: 200, body: page(ctx, groups, groupBody) };
};

const getGroup: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "resourceGroups");
  const group = requireGroup(ctx, ctx.params.resourceGroupName!);
  authorize(ctx, "Microsoft.Resources/subscriptions/resourceGroups/read", group.id);
  return ctx.method === "HEAD" ? { status: 204 } : { status: 200, body: groupBody(group) };
};

const putGroup: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "resourceGroups");
  const sub = subscriptionOfCtx(ctx);
  const name = ctx.params.resourceGroupName!;
  if (!/^[-\w._()]{1,90}$/.test(name) || name.endsWith("."))
    throw new ArmError(
      400,
      "InvalidResourceGroup",
      `The provided resource group name '${name}' has these invalid characters or is too long.`,
    );
  const body = bodyObject(ctx);
  const location = locationOf(body);
  const id = resourceGroupScope(sub.subscriptionId, name);
  authorize(ctx, "Microsoft.Resources/subscriptions/resourceGroups/write", id);
  checkPolicy(ctx, "Microsoft.Resources/subscriptions/resourceGroups", id, name);
  const existing = ctx.em.store.resourceGroup(sub.subscriptionId, name);
  if (
    existing &&
    existing.location.replace(/\s/g, "").toLowerCase() !== location.replace(/\s/g, "").toLowerCase()
  )
    throw new ArmError(
      409,
      "InvalidResourceGroupLocation",
      `Invalid resource group location '${location}'. The Resource group already exists in location '${existing.location}'.`,
    );
  const group: ResourceGroup = existing ?? { id, subscriptionId: sub.subscriptionId, name, location };
  group.tags = tagsOf(body.tags);
  ctx.em.store.resourceGroups.set(key(id), group);
  ctx.em.changed();
  return { status: existing ? 200 : 201, body: groupBody(group) };
};

const patchGroup: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "resourceGroups");
  const group = requireGroup(ctx, ctx.params.resourceGroupName!);
  authorize(ctx, "Microsoft.Resources/subscriptions/resourceGroups/write", group.id);
  const body = bodyObject(ctx);
  if (body.tags !== undefined) group.tags = tagsOf(body.tags);
  ctx.em.changed();
  return { status: 200, body: groupBody(group) };
};

/** Deleting a group deletes what is in it, the role assignments at and below it included. */
const deleteGroup: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "resourceGroups");
  const sub = subscriptionOfCtx(ctx);
  const group = requireGroup(ctx, ctx.params.resourceGroupName!);
  authorize(ctx, "Microsoft.Resources/subscriptions/resourceGroups/delete", group.id);
  const { store } = ctx.em;
  const bucket = key(`${sub.subscriptionId}/${group.name}`);
  for (const identity of [...(store.identitiesByGroup.get(bucket)?.values() ?? [])])
    deleteIdentity(ctx.em, identity);
  for (const resource of [...(store.resourcesByGroup.get(bucket)?.values() ?? [])])
    deleteResource(ctx.em, resource);
  for (const vault of store.vaults.inGroup(sub.subscriptionId, group.name)) deleteVaultSoftly(ctx.em, vault);
  for (const assignment of store.assignmentsAround(group.id, "all"))
    if (isAtOrBelow(assignment.scope, group.id)) store.removeAssignment(assignment);
  store.resourceGroups.delete(key(group.id));
  ctx.em.changed();
  return { status: 200 };
};

function expanded(ctx: Ctx, groupBucket?: string): unknown[] {
  const { store } = ctx.em;
  const sub = subscriptionOfCtx(ctx);
  const filter = /resourceType\s+eq\s+'([^']+)'/i.exec(queryParam(ctx, "$filter") ?? "")?.[1];
  const identities = groupBucket
    ? [...(store.identitiesByGroup.get(groupBucket)?.values() ?? [])]
    : [...(store.identitiesBySubscription.get(key(sub.subscriptionId))?.values() ?? [])];
  const resources = groupBucket
    ? [...(store.resourcesByGroup.get(groupBucket)?.values() ?? [])]
    : [...store.resources.values()].filter((r) => key(r.subscriptionId) === key(sub.subscriptionId));
  const all = [
    ...identities.map((i) => identityBody(i, "2024-11-30") as Record<string, unknown>),
    ...resources.map((r) => resourceBody(r, ctx.em)),
    ...(vaultResourceEntries(ctx, sub.subscriptionId, groupBucket && ctx.params.resourceGroupName) as Record<
      string,
      unknown
    >[]),
  ];
  return filter ? all.filter((r) => key(String(r.type)) === key(filter)) : all;
}

const listGroupResources: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "resources");
  const group = requireGroup(ctx, ctx.params.resourceGroupName!);
  authorize(ctx, "Microsoft.Resources/subscriptions/resourceGroups/resources/read", group.id);
  return {
    status: 200,
    body: page(ctx, expanded(ctx, key(`${group.subscriptionId}/${group.name}`)), (r) => r),
  };
};

const listSubscriptionResources: Handler = (ctx) => {
  checkApiVersion(ctx, "Microsoft.Resources", "resources");
  const sub = subscriptionOfCtx(ctx);
  authorize(ctx, "Microsoft.Resources/subscriptions/resources/read", subscriptionScope(sub.subscriptionId));
  return { status: 200, body: page(ctx, expanded(ctx), (r) => r) };
};

export function registerResourceManager(router: Router<Handler>): void {
  router
    .add("GET", "/subscriptions", listSubscriptions)
    .add("GET", "/subscriptions/{subscriptionId}", getSubscription)
    .add("GET", "/subscriptions/{subscriptionId}/locations", listLocations)
    .add("GET", "/tenants", listTenants)
    .add("GET", "/subscriptions/{subscriptionId}/providers", listProviders)
    .add("GET", "/subscriptions/{subscriptionId}/providers/{namespace}", getProvider)
    .add("GET", "/providers/{namespace}", getProvider)
    .add("GET", "/subscriptions/{subscriptionId}/resourcegroups", listGroups)
    .add("GET", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", getGroup)
    .add("PUT", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", putGroup)
    .add("PATCH", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", patchGroup)
    .add("DELETE", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", deleteGroup)
    .add(
      "GET",
      "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/resources",
      listGroupResources,
    )
    .add("GET", "/subscriptions/{subscriptionId}/resources", listSubscriptionResources);
}
