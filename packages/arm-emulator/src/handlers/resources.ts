// Resources that carry an `identity` block (virtual machines, scale sets, web sites and any other
// type, served generically), with ARM's identity semantics and Compute-style long-running PATCH.
import { authorize, authorizeLinked, checkPolicy } from "../authorize.js";
import { resourceTypeInfo } from "../catalog.js";
import { bodyObject, type Ctx, type Handler, page, type Reply } from "../context.js";
import type { Emulator } from "../emulator.js";
import { ArmError } from "../errors.js";
import { guidFrom, isAtOrBelow, key } from "../ids.js";
import type { Router } from "../router.js";
import type { GenericResource, IdentityPlan } from "../store.js";
import {
  checkApiVersion,
  locationOf,
  requireGroup,
  resourceNotFound,
  sameLocation,
  subscriptionOfCtx,
  tagsOf,
} from "./common.js";
import { startIdentityOperation } from "./operations.js";
import { applyIdentity, planIdentity, resourceBody } from "./resource-model.js";

const ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";

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

export function registerResources(router: Router<Handler>): void {
  const generic =
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{namespace}/{*rest}";
  router
    .add("GET", generic, getResource)
    .add("PUT", generic, putResource)
    .add("PATCH", generic, patchResource)
    .add("DELETE", generic, deleteResourceHandler);
}
