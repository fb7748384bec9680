// Identity-bearing resources: ARM's identity block semantics, shared by every type that carries one
// (the type combinations, `{}` to add and `null` to remove, the system-assigned service principal),
// and their wire shape.
import type { Emulator } from "../emulator.js";
import { ArmError } from "../errors.js";
import { key, parseResourceId } from "../ids.js";
import type { GenericResource, IdentityPlan, ResourceIdentity } from "../store.js";

const TYPES: Record<string, ResourceIdentity["type"]> = {
  systemassigned: "SystemAssigned",
  userassigned: "UserAssigned",
  "systemassigned,userassigned": "SystemAssigned, UserAssigned",
  none: "None",
};

const invalid = (message: string, target: string) =>
  new ArmError(400, "InvalidParameter", message, { target });

export function planIdentity(
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

export function applyIdentity(em: Emulator, resource: GenericResource, plan: IdentityPlan): void {
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

export function identityBlock(em: Emulator, identity: ResourceIdentity | undefined): unknown {
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
