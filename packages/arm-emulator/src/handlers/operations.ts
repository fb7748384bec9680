// Long-running identity PATCHes, applied when their (scaled) duration has passed. Compute answers
// 200 with the resource (provisioningState Updating) and an Azure-AsyncOperation header to poll;
// other providers 202 with Azure-AsyncOperation, Location and Retry-After.
import { apiVersion, type Ctx, type Handler, type Reply } from "../context.js";
import type { Emulator } from "../emulator.js";
import { ArmError } from "../errors.js";
import { key, newGuid } from "../ids.js";
import type { Router } from "../router.js";
import type { GenericResource, IdentityPlan, PendingOperation } from "../store.js";
import { applyIdentity, resourceBody } from "./resource-model.js";

function operationUrls(ctx: Ctx, op: PendingOperation): { asyncOperation: string; location: string } {
  const base = `${ctx.em.baseUrl}/subscriptions/${op.subscriptionId}/providers/${op.namespace}/locations/${op.location}`;
  const query = `api-version=${encodeURIComponent(apiVersion(ctx))}`;
  return {
    asyncOperation: `${base}/operations/${op.id}?${query}`,
    location: `${base}/operationResults/${op.id}?${query}`,
  };
}

export function startIdentityOperation(
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
  if (op.namespace.toLowerCase() === "microsoft.compute") {
    return {
      status: 200,
      body: resourceBody(resource, em),
      headers: { "Azure-AsyncOperation": urls.asyncOperation },
    };
  }
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

export function registerOperations(router: Router<Handler>): void {
  const base = "/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}";
  router
    .add("GET", `${base}/operations/{operationId}`, getOperationStatus)
    .add("GET", `${base}/operationResults/{operationId}`, getOperationResult);
}
