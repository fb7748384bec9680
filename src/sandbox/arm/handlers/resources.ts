// Resources that carry an `identity` block (virtual machines, scale sets, web sites and any other
// type, served generically), with ARM's identity semantics and Compute-style long-running PATCH.
import { authorize, authorizeLinked, checkPolicy } from "../authorize.js";
import { resourceTypeInfo } from "../catalog.js";
import { apiVersion, bodyObject, type Ctx, type Handler, page, type Reply } from "../context.js";
import type { Emulator } from "../emulator.js";
import { ArmError } from "../errors.js";
import { guidFrom, isAtOrBelow, key, newGuid, parseResourceId } from "../ids.js";
import type { Router } from "../router.js";
import type { GenericResource, IdentityPlan, PendingOperation, ResourceIdentity } from "../store.js";
import {
  checkApiVersion,
  locationOf,
  requireGroup,
  resourceNotFound,
  sameLocation,
  subscriptionOfCtx,
  tagsOf,
} from "./common.js";

const ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
const TYPES: Record<string, ResourceIdentity["type"]> = {
  systemassigned: "SystemAssigned",
  userassigned: "UserAssigned",
  "systemassigned,userassigned": "SystemAssigned, UserAssigned",
  none: "None",
};

const invalid = (message: string, target: string) =>
  new ArmError(400, "InvalidParameter", message, { target });

function planIdentity(
  em: Emulator,
  current: ResourceIdentity | undefined,
  requested: unknown,
  mode: "put" | "patch",
): IdentityPlan | undefined {
  if (requested === undefined || requested === null) return undefined;
  if (typeof requested !== "object" || Array.isArray(requested))
    throw invalid("The value of parameter identity is invalid.", "identity");
  const r = requested as { type?: unknown; userAssignedIdentities?: unknown };
  const type =
    TYPES[
      String(r.type ?? "")
        .replace(/\s/g, "")
        .toLowerCase()
    ];
  if (!type)
    throw invalid(`The value '${String(r.type)}' of parameter identity.type is invalid.`, "identity.type");
  const map = r.userAssignedIdentities;
  if (map !== undefined && map !== null && (typeof map !== "object" || Array.isArray(map)))
    throw invalid(
      "The value of parameter identity.userAssignedIdentities is invalid.",
      "identity.userAssignedIdentities",
    );
  const requestedEntries = Object.entries((map ?? {}) as Record<string, unknown>);
  const wantsUser = type === "UserAssigned" || type === "SystemAssigned, UserAssigned";
  if (!wantsUser && requestedEntries.some(([, v]) => v !== null))
    throw invalid(
      `The identity.userAssignedIdentities should not be provided if the identity type is '${type}'.`,
      "identity.userAssignedIdentities",
    );

  const result = new Map<string, string>(); // lower key -> key as spelled
  const base =
    mode === "patch" || map === undefined || map === null ? (current?.userAssignedIdentities ?? {}) : {};
  if (wantsUser) for (const k of Object.keys(base)) result.set(key(k), k);
  const added: string[] = [];
  for (const [id, value] of requestedEntries) {
    if (value === null) {
      result.delete(key(id));
      continue;
    }
    if (typeof value !== "object" || Array.isArray(value))
      throw invalid(
        `The value of identity.userAssignedIdentities['${id}'] must be an empty object or null.`,
        "identity.userAssignedIdentities",
      );
    if (!result.has(key(id))) added.push(id);
    result.set(key(id), result.get(key(id)) ?? id);
  }
  if (wantsUser && result.size === 0)
    throw invalid(
      `The identity type '${type}' needs at least one user-assigned identity; to remove the last one, set the type to '${type === "UserAssigned" ? "None" : "SystemAssigned"}'.`,
      "identity.userAssignedIdentities",
    );
  for (const id of added) {
    const parsed = parseResourceId(id);
    const ok = parsed && key(parsed.fullType) === key("Microsoft.ManagedIdentity/userAssignedIdentities");
    if (!ok || !em.store.identities.get(key(id)))
      throw new ArmError(
        400,
        "FailedIdentityOperation",
        `Identity operation failed with error 'Failed to perform resource identity operation. Status: 'BadRequest'. Response: '{"error":{"code":"BadRequest","message":"Resource '${id}' was not found."}}'.'.`,
      );
  }
  const wantsSystem = type === "SystemAssigned" || type === "SystemAssigned, UserAssigned";
  const hasSystem = Boolean(current?.principalId);
  const system = wantsSystem ? (hasSystem ? "keep" : "create") : hasSystem ? "remove" : "none";
  const userAssignedIdentities: Record<string, Record<string, never>> = {};
  if (wantsUser) for (const spelled of result.values()) userAssignedIdentities[spelled] = {};
  return { type, userAssignedIdentities, system, added };
}

function applyIdentity(em: Emulator, resource: GenericResource, plan: IdentityPlan): void {
  const current = resource.identity;
  const subscription = em.store.subscription(resource.subscriptionId);
  const next: ResourceIdentity = { type: plan.type };
  if (plan.system === "keep" && current) {
    next.principalId = current.principalId;
    next.tenantId = current.tenantId;
    next.clientId = current.clientId;
  } else if (plan.system === "create" && subscription) {
    const principal = em.createManagedIdentityPrincipal(subscription.tenantId, resource.name, resource.id);
    next.principalId = principal.id;
    next.tenantId = subscription.tenantId;
    next.clientId = principal.appId;
  } else if (plan.system === "remove" && current?.principalId && current.tenantId) {
    em.store.removeObject(current.tenantId, current.principalId);
  }
  if (Object.keys(plan.userAssignedIdentities).length > 0)
    next.userAssignedIdentities = plan.userAssignedIdentities;
  resource.identity = plan.type === "None" ? undefined : next;
}

function identityBlock(em: Emulator, identity: ResourceIdentity | undefined): unknown {
  if (!identity) return undefined;
  const out: Record<string, unknown> = { type: identity.type };
  if (identity.principalId) {
    out.principalId = identity.principalId;
    out.tenantId = identity.tenantId;
  }
  if (identity.userAssignedIdentities) {
    const map: Record<string, unknown> = {};
    for (const id of Object.keys(identity.userAssignedIdentities)) {
      const uai = em.store.identities.get(key(id));
      map[id] = uai ? { principalId: uai.principalId, clientId: uai.clientId } : {};
    }
    out.userAssignedIdentities = map;
  }
  return out;
}

export function resourceBody(r: GenericResource, em: Emulator): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    location: r.location,
    ...(r.tags ? { tags: r.tags } : {}),
    ...(r.kind ? { kind: r.kind } : {}),
    ...(r.sku ? { sku: r.sku } : {}),
    ...(r.plan ? { plan: r.plan } : {}),
    ...(r.identity ? { identity: identityBlock(em, r.identity) } : {}),
    properties: { ...r.properties, provisioningState: r.provisioningState ?? "Succeeded" },
  };
}

/** Deletes a resource, the principal of its system-assigned identity and the role assignments on it. */
export function deleteResource(em: Emulator, resource: GenericResource): void {
  if (resource.identity?.principalId && resource.identity.tenantId)
    em.store.removeObject(resource.identity.tenantId, resource.identity.principalId);
  for (const assignment of em.store.assignmentsAround(resource.id, "all"))
    if (isAtOrBelow(assignment.scope, resource.id)) em.store.removeAssignment(assignment);
  const group = em.store.resourcesByGroup.get(key(`${resource.subscriptionId}/${resource.resourceGroup}`));
  for (const child of [...(group?.values() ?? [])])
    if (child !== resource && isAtOrBelow(child.id, resource.id)) em.store.removeResource(child);
  em.store.removeResource(resource);
  em.changed();
}

interface Target {
  subscriptionId: string;
  resourceGroup: string;
  namespace: string;
  /** `virtualMachines`, `sites/slots` */
  type: string;
  fullType: string;
  name: string;
  id: string;
  parentId?: string;
}

function target(ctx: Ctx): Target | { list: true; fullType: string; namespace: string; type: string } {
  const sub = subscriptionOfCtx(ctx);
  const rg = ctx.params.resourceGroupName!;
  const namespace = ctx.params.namespace!;
  const rest = (ctx.params.rest ?? "").split("/").filter(Boolean);
  const types: string[] = [];
  const names: string[] = [];
  rest.forEach((segment, i) => {
    (i % 2 === 0 ? types : names).push(segment);
  });
  const type = types.join("/");
  if (rest.length % 2 === 1) return { list: true, fullType: `${namespace}/${type}`, namespace, type };
  const pairs = types.map((t, i) => `${t}/${names[i]}`);
  const template = `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/${namespace}/${types.map((t) => `${t}/{name}`).join("/")}`;
  ctx.operation = `${ctx.method} ${template}`;
  const groupPath = `/subscriptions/${sub.subscriptionId}/resourceGroups/${rg}`;
  const id = `${groupPath}/providers/${namespace}/${pairs.join("/")}`;
  return {
    subscriptionId: sub.subscriptionId,
    resourceGroup: rg,
    namespace,
    type,
    fullType: `${namespace}/${type}`,
    name: names[names.length - 1]!,
    id,
    parentId:
      pairs.length > 1 ? `${groupPath}/providers/${namespace}/${pairs.slice(0, -1).join("/")}` : undefined,
  };
}

function refuseClassicIdentity(
  t: { namespace: string; type: string; fullType: string },
  identity: unknown,
): void {
  const info = resourceTypeInfo(t.namespace, t.type);
  if (!info?.refusesIdentity || identity === undefined || identity === null) return;
  const type = (identity as { type?: unknown }).type;
  if (typeof type === "string" && type.replace(/\s/g, "").toLowerCase() === "none") return;
  throw new ArmError(
    400,
    "ManagedIdentityNotSupported",
    `Managed identities are not supported for resource type '${t.fullType}' (Cloud Services (classic)). Use a Cloud Services (extended support) or another resource type.`,
  );
}

function linkedCheck(ctx: Ctx, t: Target, plan: IdentityPlan | undefined): void {
  if (!plan || plan.added.length === 0) return;
  authorizeLinked(ctx, `${t.fullType}/write`, t.id, ASSIGN_ACTION, plan.added);
}

function vmDefaults(t: Target, properties: Record<string, unknown>): Record<string, unknown> {
  if (key(t.fullType) === "microsoft.compute/virtualmachines")
    return { vmId: guidFrom(`vm:${key(t.id)}`), ...properties };
  if (key(t.fullType) === "microsoft.compute/virtualmachinescalesets")
    return { uniqueId: guidFrom(`vmss:${key(t.id)}`), ...properties };
  return properties;
}

const getResource: Handler = (ctx) => {
  const t = target(ctx);
  if ("list" in t) return listResources(ctx, t.fullType, t.namespace, t.type);
  checkApiVersion(ctx, t.namespace, t.type);
  requireGroup(ctx, t.resourceGroup);
  authorize(ctx, `${t.fullType}/read`, t.id);
  const resource = ctx.em.store.resources.get(key(t.id));
  if (!resource) throw resourceNotFound(t.fullType, t.name, t.resourceGroup);
  return ctx.method === "HEAD" ? { status: 204 } : { status: 200, body: resourceBody(resource, ctx.em) };
};

function listResources(ctx: Ctx, fullType: string, namespace: string, type: string): Reply {
  checkApiVersion(ctx, namespace, type);
  const group = requireGroup(ctx, ctx.params.resourceGroupName!);
  authorize(ctx, `${fullType}/read`, group.id);
  const items = [
    ...(ctx.em.store.resourcesByGroup.get(key(`${group.subscriptionId}/${group.name}`))?.values() ?? []),
  ].filter((r) => key(r.type) === key(fullType));
  return { status: 200, body: page(ctx, items, (r) => resourceBody(r, ctx.em)) };
}

const putResource: Handler = (ctx) => {
  const t = target(ctx);
  if ("list" in t) throw new ArmError(405, "MethodNotAllowed", "The collection does not support PUT.");
  checkApiVersion(ctx, t.namespace, t.type);
  const { em } = ctx;
  authorize(ctx, `${t.fullType}/write`, t.id);
  const group = requireGroup(ctx, t.resourceGroup);
  if (t.parentId && !em.store.resources.has(key(t.parentId)))
    throw new ArmError(
      404,
      "ParentResourceNotFound",
      `Can not perform requested operation on nested resource. Parent resource '${t.parentId}' not found.`,
    );
  const body = bodyObject(ctx);
  const location = locationOf(body);
  refuseClassicIdentity(t, body.identity);
  const existing = em.store.resources.get(key(t.id));
  if (existing && !sameLocation(existing.location, location))
    throw new ArmError(
      400,
      "InvalidResourceLocation",
      `The resource '${t.name}' already exists in location '${existing.location}' in resource group '${group.name}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
    );
  if (existing?.provisioningState === "Updating") throw anotherOperation(t.id);
  const plan = planIdentity(em, existing?.identity, body.identity, "put");
  linkedCheck(ctx, t, plan);
  checkPolicy(ctx, t.fullType, t.id, t.name);
  const properties =
    body.properties && typeof body.properties === "object" ? { ...(body.properties as object) } : {};
  delete (properties as Record<string, unknown>).provisioningState;
  const resource: GenericResource = existing ?? {
    id: t.id,
    subscriptionId: t.subscriptionId,
    resourceGroup: group.name,
    type: t.fullType,
    name: t.name,
    location,
    properties: {},
  };
  resource.tags = tagsOf(body.tags);
  resource.kind = typeof body.kind === "string" ? body.kind : undefined;
  resource.sku = body.sku ?? undefined;
  resource.plan = body.plan ?? undefined;
  resource.properties = vmDefaults(t, properties as Record<string, unknown>);
  if (plan) applyIdentity(em, resource, plan);
  em.store.putResource(resource);
  em.changed();
  return { status: existing ? 200 : 201, body: resourceBody(resource, em) };
};

function anotherOperation(id: string): ArmError {
  return new ArmError(
    409,
    "AnotherOperationInProgress",
    `Another operation on this or dependent resource is in progress. Resource: '${id}'.`,
  );
}

const patchResource: Handler = (ctx) => {
  const t = target(ctx);
  if ("list" in t) throw new ArmError(405, "MethodNotAllowed", "The collection does not support PATCH.");
  checkApiVersion(ctx, t.namespace, t.type);
  const { em } = ctx;
  requireGroup(ctx, t.resourceGroup);
  authorize(ctx, `${t.fullType}/write`, t.id);
  const resource = em.store.resources.get(key(t.id));
  if (!resource) throw resourceNotFound(t.fullType, t.name, t.resourceGroup);
  if (resource.provisioningState === "Updating") throw anotherOperation(t.id);
  const body = bodyObject(ctx);
  refuseClassicIdentity(t, body.identity);
  const plan = planIdentity(em, resource.identity, body.identity, "patch");
  linkedCheck(ctx, t, plan);
  checkPolicy(ctx, t.fullType, t.id, t.name);
  const tags = body.tags !== undefined ? tagsOf(body.tags) : resource.tags;
  if (body.properties && typeof body.properties === "object")
    resource.properties = { ...resource.properties, ...(body.properties as object) };
  if (plan && em.settings.lro.enabled) return startIdentityOperation(ctx, resource, plan, tags);
  resource.tags = tags;
  if (plan) applyIdentity(em, resource, plan);
  em.changed();
  return { status: 200, body: resourceBody(resource, em) };
};

const deleteResourceHandler: Handler = (ctx) => {
  const t = target(ctx);
  if ("list" in t) throw new ArmError(405, "MethodNotAllowed", "The collection does not support DELETE.");
  checkApiVersion(ctx, t.namespace, t.type);
  requireGroup(ctx, t.resourceGroup);
  authorize(ctx, `${t.fullType}/delete`, t.id);
  const resource = ctx.em.store.resources.get(key(t.id));
  if (!resource) return { status: 204 };
  deleteResource(ctx.em, resource);
  return { status: 200 };
};

// ---- long-running identity updates ----

function operationUrls(ctx: Ctx, op: PendingOperation): { asyncOperation: string; location: string } {
  const base = `${ctx.em.baseUrl}/subscriptions/${op.subscriptionId}/providers/${op.namespace}/locations/${op.location}`;
  const query = `api-version=${encodeURIComponent(apiVersion(ctx))}`;
  return {
    asyncOperation: `${base}/operations/${op.id}?${query}`,
    location: `${base}/operationResults/${op.id}?${query}`,
  };
}

function startIdentityOperation(
  ctx: Ctx,
  resource: GenericResource,
  plan: IdentityPlan,
  tags: Record<string, string> | undefined,
): Reply {
  const { em } = ctx;
  const duration = em.settings.lro.durationSeconds;
  const op: PendingOperation = {
    id: newGuid(),
    subscriptionId: resource.subscriptionId,
    location: resource.location.replace(/\s/g, "").toLowerCase(),
    namespace: resource.type.split("/")[0]!,
    resourceId: resource.id,
    startTime: new Date().toISOString(),
    completesAt: Date.now() + em.scaled(duration),
    plan,
    tags,
    done: false,
  };
  pruneOperations(em);
  em.store.operations.set(op.id, op);
  em.pendingOperations.add(op.id);
  resource.provisioningState = "Updating";
  em.changed();
  const urls = operationUrls(ctx, op);
  return {
    status: 202,
    headers: {
      "Azure-AsyncOperation": urls.asyncOperation,
      Location: urls.location,
      "Retry-After": em.retryAfter(Math.min(10, Math.max(1, duration / 4))),
    },
  };
}

/** Completes the operations whose time has come (called before every ARM request). */
export function settleOperations(em: Emulator, now = Date.now()): void {
  for (const id of em.pendingOperations) {
    const op = em.store.operations.get(id);
    if (op && op.completesAt > now) continue;
    em.pendingOperations.delete(id);
    if (!op) continue;
    op.done = true;
    const resource = em.store.resources.get(key(op.resourceId));
    if (resource) {
      resource.provisioningState = undefined;
      resource.tags = op.tags;
      if (op.plan) applyIdentity(em, resource, op.plan);
    } else op.deleted = true;
    em.changed();
  }
}

/** Finished operations are kept an hour of ARM time for late pollers; pruned when many have piled up. */
function pruneOperations(em: Emulator, now = Date.now()): void {
  if (em.store.operations.size < 1000) return;
  for (const [id, op] of em.store.operations)
    if (op.done && op.completesAt + em.scaled(3600) < now) em.store.operations.delete(id);
}

function requireOperation(ctx: Ctx): PendingOperation {
  const op = ctx.em.store.operations.get(ctx.params.operationId ?? "");
  if (!op || key(op.subscriptionId) !== key(ctx.subscription?.subscriptionId ?? ""))
    throw new ArmError(404, "NotFound", `The operation '${ctx.params.operationId}' was not found.`);
  return op;
}

const getOperationStatus: Handler = (ctx) => {
  const op = requireOperation(ctx);
  return {
    status: 200,
    body: {
      name: op.id,
      status: op.done ? "Succeeded" : "InProgress",
      startTime: op.startTime,
      ...(op.done ? { endTime: new Date(op.completesAt).toISOString() } : {}),
    },
    headers: op.done ? {} : ({ "Retry-After": ctx.em.retryAfter(1) } as Record<string, string>),
  };
};

const getOperationResult: Handler = (ctx) => {
  const op = requireOperation(ctx);
  if (!op.done) {
    const urls = operationUrls(ctx, op);
    return { status: 202, headers: { Location: urls.location, "Retry-After": ctx.em.retryAfter(1) } };
  }
  const resource = ctx.em.store.resources.get(key(op.resourceId));
  return resource ? { status: 200, body: resourceBody(resource, ctx.em) } : { status: 204 };
};

export function registerResources(router: Router<Handler>): void {
  const ops = "/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}";
  const generic =
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{namespace}/{*rest}";
  router
    .add("GET", `${ops}/operations/{operationId}`, getOperationStatus)
    .add("GET", `${ops}/operationResults/{operationId}`, getOperationResult)
    .add("GET", generic, getResource)
    .add("PUT", generic, putResource)
    .add("PATCH", generic, patchResource)
    .add("DELETE", generic, deleteResourceHandler);
}
