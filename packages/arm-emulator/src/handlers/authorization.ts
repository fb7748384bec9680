// Microsoft.Authorization: role assignments, role definitions (928 built-in + custom) and the
// caller's permissions at a scope, evaluated by the same RBAC model that guards every request.
import { authorize, checkPolicy, effectivePermissions } from "../authorize.js";
import { builtinRoles, type RoleDefinitionBody } from "../catalog.js";
import { bodyObject, type Ctx, type Handler, queryParam } from "../context.js";
import { ArmError } from "../errors.js";
import {
  isAtOrBelow,
  isGuid,
  key,
  normalizePath,
  parseResourceId,
  resourceGroupOf,
  subscriptionOf,
} from "../ids.js";
import type { Router } from "../router.js";
import { type CustomRole, type RoleAssignment, Store } from "../store.js";
import { checkApiVersion, requireGroup } from "./common.js";

const NS = "Microsoft.Authorization";
const PRINCIPAL_TYPES = ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"];

const scopeOf = (ctx: Ctx) => normalizePath(ctx.params.scope ?? "/");
const prefix = (scope: string) => (scope === "/" ? "" : scope);
const roleDefinitionPath = (subscriptionId: string | undefined, guid: string) =>
  `${subscriptionId ? `/subscriptions/${subscriptionId}` : ""}/providers/${NS}/roleDefinitions/${guid}`;

export function assignmentBody(a: RoleAssignment): unknown {
  return {
    id: a.id,
    name: a.name,
    type: `${NS}/roleAssignments`,
    properties: {
      roleDefinitionId: a.roleDefinitionId,
      principalId: a.principalId,
      principalType: a.principalType,
      scope: a.scope,
      ...(a.description !== undefined ? { description: a.description } : {}),
      ...(a.condition !== undefined
        ? { condition: a.condition, conditionVersion: a.conditionVersion ?? "2.0" }
        : {}),
      ...(a.delegatedManagedIdentityResourceId
        ? { delegatedManagedIdentityResourceId: a.delegatedManagedIdentityResourceId }
        : {}),
      createdOn: a.createdOn,
      updatedOn: a.updatedOn,
      createdBy: a.createdBy,
      updatedBy: a.updatedBy,
    },
  };
}

/** Checks that a scope exists: its subscription (checked by the pipeline), group and resource. */
function requireScope(ctx: Ctx, scope: string): void {
  if (!subscriptionOf(scope))
    throw new ArmError(
      400,
      "InvalidRoleAssignmentScope",
      `The sandbox serves scopes within subscriptions only; '${scope}' is not one.`,
    );
  const group = resourceGroupOf(scope);
  if (group) requireGroup(ctx, group);
  if (parseResourceId(scope)) {
    const { store } = ctx.em;
    const k = key(scope);
    const fic = /\/federatedidentitycredentials\/[^/]+$/i.test(scope);
    if (!store.resources.has(k) && !store.identities.has(k) && !fic)
      throw new ArmError(404, "ResourceNotFound", `The Resource '${scope}' was not found.`);
  }
}

// ---- role assignments ----

const getAssignment: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "roleAssignments");
  const scope = scopeOf(ctx);
  authorize(ctx, `${NS}/roleAssignments/read`, scope);
  const id = `${prefix(scope)}/providers/${NS}/roleAssignments/${ctx.params.roleAssignmentName}`;
  const assignment = ctx.em.store.roleAssignments.get(key(id));
  if (!assignment)
    throw new ArmError(
      404,
      "RoleAssignmentNotFound",
      `The role assignment '${ctx.params.roleAssignmentName}' is not found.`,
    );
  return { status: 200, body: assignmentBody(assignment) };
};

const putAssignment: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "roleAssignments");
  const { em } = ctx;
  const scope = scopeOf(ctx);
  const name = ctx.params.roleAssignmentName!;
  if (!isGuid(name))
    throw new ArmError(
      400,
      "InvalidRoleAssignmentId",
      `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
    );
  requireScope(ctx, scope);
  authorize(ctx, `${NS}/roleAssignments/write`, scope);
  const body = bodyObject(ctx);
  const p = body.properties as Record<string, unknown> | undefined;
  if (!p || typeof p !== "object")
    throw new ArmError(
      400,
      "InvalidRequestContent",
      "The request content was invalid: 'properties' is required.",
    );
  const { roleDefinitionId, principalId, principalType, description, condition, conditionVersion } = p;
  if (typeof roleDefinitionId !== "string")
    throw new ArmError(
      400,
      "InvalidRequestContent",
      "The request content was invalid: 'roleDefinitionId' is required.",
    );
  if (!isGuid(principalId))
    throw new ArmError(
      400,
      "InvalidPrincipalId",
      "A valid principal ID must be provided for role assignment.",
    );
  if (principalType !== undefined && !PRINCIPAL_TYPES.includes(String(principalType)))
    throw new ArmError(
      400,
      "InvalidPrincipalType",
      `The principal type '${String(principalType)}' is not valid.`,
    );

  const subscription = ctx.subscription!;
  const roleGuid = roleDefinitionId.split("/").pop() ?? "";
  const definition = em.store.roleDefinition(roleGuid);
  if (
    !definition ||
    (definition.custom && key(definition.custom.tenantId) !== key(subscription.tenantId)) ||
    (definition.custom && !definition.custom.assignableScopes.some((s) => isAtOrBelow(scope, s)))
  )
    throw new ArmError(
      400,
      "RoleDefinitionDoesNotExist",
      `The specified role definition with ID '${roleGuid}' does not exist.`,
    );

  const principal = em.store.findObject(subscription.tenantId, principalId);
  const replicating =
    principal !== undefined && principal.replicatedAt > Date.now() && principalType === undefined;
  if (!principal || replicating)
    throw new ArmError(
      400,
      "PrincipalNotFound",
      `Principal ${principalId.replace(/-/g, "")} does not exist in the directory ${subscription.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
    );
  if (
    principalType !== undefined &&
    !String(principalType).endsWith(principal.kind) &&
    principalType !== "ForeignGroup"
  )
    throw new ArmError(
      400,
      "UnmatchedPrincipalType",
      `The PrincipalId '${principalId.replace(/-/g, "")}' has type '${principal.kind}' , which is different from specified PrincipalType '${String(principalType)}'.`,
    );

  const id = `${prefix(scope)}/providers/${NS}/roleAssignments/${name}`;
  const normalizedRole = roleDefinitionPath(subscription.subscriptionId, roleGuid);
  const existing = em.store.assignmentsByName.get(key(name));
  const now = new Date().toISOString();
  if (existing) {
    if (
      key(existing.scope) !== key(scope) ||
      key(existing.principalId) !== key(principalId) ||
      key(existing.roleDefinitionId.split("/").pop() ?? "") !== key(roleGuid)
    )
      throw new ArmError(
        400,
        "RoleAssignmentUpdateNotPermitted",
        "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
      );
    existing.description = typeof description === "string" ? description : existing.description;
    existing.updatedOn = now;
    existing.updatedBy = ctx.caller.oid;
    em.changed();
    return { status: 200, body: assignmentBody(existing) };
  }
  if (em.store.assignmentsByTriple.has(Store.tripleKey(scope, roleGuid, principalId)))
    throw new ArmError(409, "RoleAssignmentExists", "The role assignment already exists.");
  if (em.store.assignmentCount(subscription.subscriptionId) >= em.settings.roleAssignmentLimit)
    throw new ArmError(
      400,
      "RoleAssignmentLimitExceeded",
      "No more role assignments can be created (code: RoleAssignmentLimitExceeded).",
    );
  checkPolicy(ctx, `${NS}/roleAssignments`, id, name);
  const assignment: RoleAssignment = {
    id,
    name,
    scope,
    roleDefinitionId: normalizedRole,
    principalId,
    principalType: (principalType as string | undefined) ?? principal.kind,
    description: typeof description === "string" ? description : undefined,
    condition: typeof condition === "string" ? condition : undefined,
    conditionVersion: typeof conditionVersion === "string" ? conditionVersion : undefined,
    createdOn: now,
    updatedOn: now,
    createdBy: ctx.caller.oid,
    updatedBy: ctx.caller.oid,
  };
  em.store.putAssignment(assignment);
  em.changed();
  return { status: 201, body: assignmentBody(assignment) };
};

const deleteAssignment: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "roleAssignments");
  const scope = scopeOf(ctx);
  authorize(ctx, `${NS}/roleAssignments/delete`, scope);
  const id = `${prefix(scope)}/providers/${NS}/roleAssignments/${ctx.params.roleAssignmentName}`;
  const assignment = ctx.em.store.roleAssignments.get(key(id));
  if (!assignment) return { status: 204 };
  ctx.em.store.removeAssignment(assignment);
  ctx.em.changed();
  return { status: 200, body: assignmentBody(assignment) };
};

function parseAssignmentFilter(filter: string | undefined): { atScope: boolean; principalId?: string } {
  if (!filter) return { atScope: false };
  let atScope = false;
  let principalId: string | undefined;
  for (const clause of filter.trim().split(/\s+and\s+/i)) {
    const c = clause.trim();
    const principal = /^(?:principalId\s+eq\s+'?([0-9a-f-]{36})'?|assignedTo\('([0-9a-f-]{36})'\))$/i.exec(c);
    if (/^atScope\(\)$/i.test(c)) atScope = true;
    else if (principal) principalId = principal[1] ?? principal[2];
    else throw new ArmError(400, "InvalidFilterInQueryString", `The filter '${filter}' is not supported.`);
  }
  return { atScope, principalId };
}

const listAssignments: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "roleAssignments");
  const scope = scopeOf(ctx);
  if (scope !== "/") requireScope(ctx, scope);
  authorize(ctx, `${NS}/roleAssignments/read`, scope);
  const { atScope, principalId } = parseAssignmentFilter(queryParam(ctx, "$filter"));
  let items: RoleAssignment[];
  if (principalId) {
    items = ctx.em.store
      .assignmentsOfPrincipal(principalId)
      .filter((a) => isAtOrBelow(scope, a.scope) || (!atScope && isAtOrBelow(a.scope, scope)));
  } else {
    items = ctx.em.store.assignmentsAround(scope, atScope ? "atOrAbove" : "all");
  }
  return { status: 200, body: { value: items.map(assignmentBody) } };
};

// ---- role definitions ----

/** Drops the nulls of the exported built-ins (`createdBy: null`), which the schema's strings do not allow. */
function withoutNulls<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as T;
}

function builtinBody(role: RoleDefinitionBody, subscriptionId: string | undefined): unknown {
  return {
    ...role,
    id: roleDefinitionPath(subscriptionId, role.name),
    properties: withoutNulls(role.properties),
  };
}

function customBody(role: CustomRole): unknown {
  return {
    id: roleDefinitionPath(role.subscriptionId, role.name),
    name: role.name,
    type: `${NS}/roleDefinitions`,
    properties: {
      roleName: role.roleName,
      type: "CustomRole",
      ...(role.description !== undefined ? { description: role.description } : {}),
      assignableScopes: role.assignableScopes,
      permissions: role.permissions,
      createdOn: role.createdOn,
      updatedOn: role.updatedOn,
      createdBy: role.createdBy,
      updatedBy: role.updatedBy,
    },
  };
}

/** Custom roles of the scope's tenant whose assignable scopes overlap the scope. */
function customRolesAt(ctx: Ctx, scope: string): CustomRole[] {
  const tenantId = ctx.subscription?.tenantId ?? ctx.caller.tid;
  return [...ctx.em.store.customRoles.values()].filter(
    (r) =>
      key(r.tenantId) === key(tenantId) &&
      r.assignableScopes.some((s) => isAtOrBelow(scope, s) || isAtOrBelow(s, scope)),
  );
}

const getDefinition: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "roleDefinitions");
  const scope = scopeOf(ctx);
  authorize(ctx, `${NS}/roleDefinitions/read`, scope);
  const guid = ctx.params.roleDefinitionId!;
  const builtin = builtinRoles().get(key(guid));
  if (builtin) return { status: 200, body: builtinBody(builtin, subscriptionOf(scope)) };
  const custom = customRolesAt(ctx, scope).find((r) => key(r.name) === key(guid));
  if (!custom)
    throw new ArmError(
      404,
      "RoleDefinitionDoesNotExist",
      `The role definition '${guid}' could not be found.`,
    );
  return { status: 200, body: customBody(custom) };
};

const listDefinitions: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "roleDefinitions");
  const scope = scopeOf(ctx);
  authorize(ctx, `${NS}/roleDefinitions/read`, scope);
  const filter = queryParam(ctx, "$filter");
  const byName = filter ? /^\s*roleName\s+eq\s+'(.*)'\s*$/i.exec(filter)?.[1] : undefined;
  const byType = filter ? /^\s*type\s+eq\s+'(BuiltInRole|CustomRole)'\s*$/i.exec(filter)?.[1] : undefined;
  if (filter && byName === undefined && byType === undefined)
    throw new ArmError(400, "InvalidFilterInQueryString", `The filter '${filter}' is not supported.`);
  const subscriptionId = subscriptionOf(scope);
  const all: { roleName: string; type: string; body: () => unknown }[] = [
    ...[...builtinRoles().values()].map((r) => ({
      roleName: r.properties.roleName,
      type: "BuiltInRole",
      body: () => builtinBody(r, subscriptionId),
    })),
    ...customRolesAt(ctx, scope).map((r) => ({
      roleName: r.roleName,
      type: "CustomRole",
      body: () => customBody(r),
    })),
  ];
  const items = all.filter(
    (r) =>
      (byName === undefined || key(r.roleName) === key(byName)) &&
      (byType === undefined || key(r.type) === key(byType)),
  );
  return { status: 200, body: { value: items.map((r) => r.body()) } };
};

const putDefinition: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "roleDefinitions");
  const { em } = ctx;
  const scope = scopeOf(ctx);
  const guid = ctx.params.roleDefinitionId!;
  const subscription = ctx.subscription;
  if (!subscription)
    throw new ArmError(
      400,
      "InvalidRoleDefinitionScope",
      "Custom role definitions are created at a subscription scope in the sandbox.",
    );
  if (!isGuid(guid))
    throw new ArmError(400, "InvalidRoleDefinitionId", `The role definition ID '${guid}' is not valid.`);
  if (builtinRoles().has(key(guid)))
    throw new ArmError(
      400,
      "RoleDefinitionUpdateNotPermitted",
      "Built-in role definitions cannot be changed.",
    );
  authorize(ctx, `${NS}/roleDefinitions/write`, scope);
  const body = bodyObject(ctx);
  const p = body.properties as Record<string, unknown> | undefined;
  if (!p || typeof p.roleName !== "string" || p.roleName.trim() === "")
    throw new ArmError(
      400,
      "RoleDefinitionNameNullOrEmpty",
      "The role definition name cannot be null or empty.",
    );
  if (
    !Array.isArray(p.assignableScopes) ||
    p.assignableScopes.length === 0 ||
    p.assignableScopes.some((s) => typeof s !== "string")
  )
    throw new ArmError(400, "InvalidAssignableScopes", "At least one assignable scope must be given.");
  const foreign = (p.assignableScopes as string[]).find((s) => {
    const sub = subscriptionOf(s);
    return !sub || key(em.store.subscription(sub)?.tenantId ?? "") !== key(subscription.tenantId);
  });
  if (foreign)
    throw new ArmError(
      400,
      "InvalidAssignableScope",
      `The assignable scope '${foreign}' is not valid in this directory.`,
    );
  const permissions = Array.isArray(p.permissions) ? (p.permissions as CustomRole["permissions"]) : [];
  const clash = [...em.store.customRoles.values()].find(
    (r) =>
      key(r.tenantId) === key(subscription.tenantId) &&
      key(r.roleName) === key(p.roleName as string) &&
      key(r.name) !== key(guid),
  );
  if (clash)
    throw new ArmError(
      409,
      "RoleDefinitionWithSameNameExists",
      "A custom role with the same name already exists in this directory. Use a different name.",
    );
  const now = new Date().toISOString();
  const existing = em.store.customRoles.get(key(guid));
  const role: CustomRole = {
    name: guid,
    subscriptionId: existing?.subscriptionId ?? subscription.subscriptionId,
    tenantId: subscription.tenantId,
    roleName: p.roleName,
    description: typeof p.description === "string" ? p.description : undefined,
    permissions,
    assignableScopes: (p.assignableScopes as string[]).map(normalizePath),
    createdOn: existing?.createdOn ?? now,
    updatedOn: now,
    createdBy: existing?.createdBy ?? ctx.caller.oid,
    updatedBy: ctx.caller.oid,
  };
  em.store.customRoles.set(key(guid), role);
  em.changed();
  return { status: 201, body: customBody(role) };
};

const deleteDefinition: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "roleDefinitions");
  const scope = scopeOf(ctx);
  authorize(ctx, `${NS}/roleDefinitions/delete`, scope);
  const guid = ctx.params.roleDefinitionId!;
  const role = ctx.em.store.customRoles.get(key(guid));
  if (!role) return { status: 204 };
  const inUse = [
    ...(ctx.em.store.assignmentsBySubscription.get(key(role.subscriptionId))?.values() ?? []),
  ].some((a) => key(a.roleDefinitionId).endsWith(key(guid)));
  if (inUse)
    throw new ArmError(
      400,
      "RoleDefinitionHasAssignments",
      "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).",
    );
  ctx.em.store.customRoles.delete(key(guid));
  ctx.em.changed();
  return { status: 200, body: customBody(role) };
};

// ---- permissions ----

const listPermissions: Handler = (ctx) => {
  checkApiVersion(ctx, NS, "permissions");
  const scope = scopeOf(ctx);
  requireScope(ctx, scope);
  const value = effectivePermissions(ctx.em, ctx.caller.oid, scope).map((p) => ({
    actions: p.actions ?? [],
    notActions: p.notActions ?? [],
    dataActions: p.dataActions ?? [],
    notDataActions: p.notDataActions ?? [],
  }));
  return { status: 200, body: { value } };
};

export function registerAuthorization(router: Router<Handler>): void {
  const ra = `/{*scope}/providers/${NS}/roleAssignments`;
  const rd = `/{*scope}/providers/${NS}/roleDefinitions`;
  router
    .add("GET", ra, listAssignments)
    .add("GET", `${ra}/{roleAssignmentName}`, getAssignment)
    .add("PUT", `${ra}/{roleAssignmentName}`, putAssignment)
    .add("DELETE", `${ra}/{roleAssignmentName}`, deleteAssignment)
    .add("GET", rd, listDefinitions)
    .add("GET", `${rd}/{roleDefinitionId}`, getDefinition)
    .add("PUT", `${rd}/{roleDefinitionId}`, putDefinition)
    .add("DELETE", `${rd}/{roleDefinitionId}`, deleteDefinition)
    .add("GET", `/{*scope}/providers/${NS}/permissions`, listPermissions);
}
