// The Microsoft Graph subset azid and `az` use: service principals (by id, by appId, displayName or
// servicePrincipalNames filter), directoryObjects/getByIds, and app-role assignments, on the
// principal (appRoleAssignments) and on the resource (appRoleAssignedTo).
import type { Ctx, Handler } from "../context.js";
import { GraphError } from "../errors.js";
import { isGuid, key, randomToken } from "../ids.js";
import type { Router } from "../router.js";
import type { AppRoleAssignment, DirectoryObject, Tenant } from "../store.js";

const DEFAULT_APP_ROLE = "00000000-0000-0000-0000-000000000000";

function tenantOf(ctx: Ctx): Tenant {
  const tenant = ctx.em.store.tenant(ctx.caller.tid);
  if (!tenant)
    throw new GraphError(401, "InvalidAuthenticationToken", `The tenant '${ctx.caller.tid}' does not exist.`);
  return tenant;
}

function servicePrincipal(ctx: Ctx, id: string): DirectoryObject {
  const object = tenantOf(ctx).objects.get(key(id));
  if (object?.kind !== "ServicePrincipal")
    throw new GraphError(
      404,
      "Request_ResourceNotFound",
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
  return object;
}

const servicePrincipalNames = (sp: DirectoryObject): string[] => [
  sp.appId ?? "",
  ...(sp.alternativeNames?.slice(1) ?? []),
];

/** A directory object as getByIds returns it: typed by `@odata.type`. */
function objectBody(object: DirectoryObject): unknown {
  if (object.kind === "ServicePrincipal")
    return { "@odata.type": "#microsoft.graph.servicePrincipal", ...(spBody(object) as object) };
  return {
    "@odata.type": object.kind === "User" ? "#microsoft.graph.user" : "#microsoft.graph.group",
    id: object.id,
    deletedDateTime: null,
    displayName: object.displayName,
  };
}

function spBody(sp: DirectoryObject): unknown {
  return {
    id: sp.id,
    deletedDateTime: null,
    accountEnabled: true,
    alternativeNames: sp.alternativeNames ?? [],
    appDisplayName: sp.displayName,
    appId: sp.appId,
    appOwnerOrganizationId: sp.appOwnerOrganizationId ?? sp.tenantId,
    createdDateTime: sp.createdDateTime,
    displayName: sp.displayName,
    servicePrincipalNames: servicePrincipalNames(sp),
    servicePrincipalType: sp.servicePrincipalType ?? "Application",
    signInAudience: "AzureADMyOrg",
    tags: [],
    appRoles: sp.appRoles ?? [],
  };
}

function assignmentBody(tenant: Tenant, a: AppRoleAssignment): unknown {
  const principal = tenant.objects.get(key(a.principalId));
  const resource = tenant.objects.get(key(a.resourceId));
  return {
    id: a.id,
    deletedDateTime: null,
    appRoleId: a.appRoleId,
    createdDateTime: a.createdDateTime,
    principalDisplayName: principal?.displayName ?? null,
    principalId: a.principalId,
    principalType: principal?.kind ?? "ServicePrincipal",
    resourceDisplayName: resource?.displayName ?? null,
    resourceId: a.resourceId,
  };
}

const context = (ctx: Ctx, what: string) => `${ctx.em.baseUrl}/v1.0/$metadata#${what}`;

const getServicePrincipal: Handler = (ctx) => {
  const sp = servicePrincipal(ctx, ctx.params.id!);
  return {
    status: 200,
    body: { "@odata.context": context(ctx, "servicePrincipals/$entity"), ...(spBody(sp) as object) },
  };
};

const getByAppId: Handler = (ctx) => {
  const sp = tenantOf(ctx).byAppId.get(key(ctx.params.appId!));
  if (!sp)
    throw new GraphError(
      404,
      "Request_ResourceNotFound",
      `Resource with appId '${ctx.params.appId}' does not exist.`,
    );
  return {
    status: 200,
    body: { "@odata.context": context(ctx, "servicePrincipals/$entity"), ...(spBody(sp) as object) },
  };
};

/** `servicePrincipalNames/any(c:c eq 'name')`, the lambda variable any name. */
const SPN_FILTER = /^\s*servicePrincipalNames\/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$/i;

const GETBYIDS_TYPES: Record<string, DirectoryObject["kind"]> = {
  serviceprincipal: "ServicePrincipal",
  user: "User",
  group: "Group",
};

/** POST directoryObjects/getByIds: the objects among `ids` (of `types`, when given) that exist; unknown ids are left out. */
const getByIds: Handler = (ctx) => {
  const tenant = tenantOf(ctx);
  const body = (ctx.body ?? {}) as { ids?: unknown; types?: unknown };
  if (!Array.isArray(body.ids) || body.ids.some((id) => typeof id !== "string"))
    throw new GraphError(400, "Request_BadRequest", "Invalid request: 'ids' must be an array of strings.");
  if (body.ids.length > 1000)
    throw new GraphError(400, "Request_BadRequest", "Too many ids: at most 1000 are accepted.");
  let kinds: Set<string> | undefined;
  if (body.types !== undefined) {
    if (!Array.isArray(body.types))
      throw new GraphError(
        400,
        "Request_BadRequest",
        "Invalid request: 'types' must be an array of strings.",
      );
    kinds = new Set(
      body.types
        .map(
          (t) =>
            GETBYIDS_TYPES[
              String(t)
                .replace(/^#?microsoft\.graph\./i, "")
                .toLowerCase()
            ],
        )
        .filter((k): k is DirectoryObject["kind"] => k !== undefined),
    );
  }
  const found = (body.ids as string[])
    .map((id) => tenant.objects.get(key(id)))
    .filter((o): o is DirectoryObject => o !== undefined && (kinds === undefined || kinds.has(o.kind)));
  return {
    status: 200,
    body: { "@odata.context": context(ctx, "directoryObjects"), value: found.map(objectBody) },
  };
};

const listServicePrincipals: Handler = (ctx) => {
  const tenant = tenantOf(ctx);
  const filter = ctx.query.get("$filter");
  let items: DirectoryObject[];
  const names = filter ? SPN_FILTER.exec(filter) : null;
  if (names) {
    // `az role assignment create --assignee <appId>` resolves the principal this way.
    const value = names[3]!.replace(/''/g, "'").toLowerCase();
    items = [...tenant.objects.values()].filter(
      (o) => o.kind === "ServicePrincipal" && servicePrincipalNames(o).some((n) => n.toLowerCase() === value),
    );
  } else if (filter) {
    const m = /^\s*(appId|displayName|id)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(filter);
    if (!m)
      throw new GraphError(
        400,
        "Request_UnsupportedQuery",
        `Unsupported or invalid query filter clause specified: '${filter}'.`,
      );
    const value = m[2]!.replace(/''/g, "'");
    const field = m[1]!.toLowerCase();
    if (field === "appid")
      items = [tenant.byAppId.get(key(value))].filter((o): o is DirectoryObject => Boolean(o));
    else if (field === "id")
      items = [tenant.objects.get(key(value))].filter((o): o is DirectoryObject => Boolean(o));
    else items = [...(tenant.byDisplayName.get(value) ?? [])];
  } else items = [...tenant.objects.values()];
  const top = Number(ctx.query.get("$top"));
  const sps = items.filter((o) => o.kind === "ServicePrincipal");
  return {
    status: 200,
    body: {
      "@odata.context": context(ctx, "servicePrincipals"),
      value: (Number.isInteger(top) && top > 0 ? sps.slice(0, top) : sps).map(spBody),
    },
  };
};

function listAssignments(side: "principal" | "resource"): Handler {
  return (ctx) => {
    const tenant = tenantOf(ctx);
    const sp = servicePrincipal(ctx, ctx.params.id!);
    const items = [...tenant.appRoleAssignments.values()].filter(
      (a) => key(side === "principal" ? a.principalId : a.resourceId) === key(sp.id),
    );
    return {
      status: 200,
      body: {
        "@odata.context": context(
          ctx,
          `servicePrincipals('${sp.id}')/${side === "principal" ? "appRoleAssignments" : "appRoleAssignedTo"}`,
        ),
        value: items.map((a) => assignmentBody(tenant, a)),
      },
    };
  };
}

function createAssignment(side: "principal" | "resource"): Handler {
  return (ctx) => {
    const tenant = tenantOf(ctx);
    const owner = servicePrincipal(ctx, ctx.params.id!);
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const { principalId, resourceId, appRoleId } = body;
    if (!isGuid(principalId) || !isGuid(resourceId) || !isGuid(appRoleId))
      throw new GraphError(400, "Request_BadRequest", "principalId, resourceId and appRoleId must be GUIDs.");
    const pathId = side === "principal" ? principalId : resourceId;
    if (key(pathId) !== key(owner.id))
      throw new GraphError(
        400,
        "Request_BadRequest",
        side === "principal"
          ? "The principalId in the request body must be the service principal of the request URL."
          : "The resourceId in the request body must be the service principal of the request URL.",
      );
    const principal = tenant.objects.get(key(principalId));
    if (!principal)
      throw new GraphError(
        404,
        "Request_ResourceNotFound",
        `Resource '${principalId}' does not exist or one of its queried reference-property objects are not present.`,
      );
    const resource = servicePrincipal(ctx, resourceId);
    const role = (resource.appRoles ?? []).find((r) => key(r.id) === key(appRoleId));
    if (appRoleId !== DEFAULT_APP_ROLE && !role?.isEnabled)
      throw new GraphError(
        400,
        "Request_BadRequest",
        `Permission being assigned was not found on application '${resource.appId}'.`,
      );
    const duplicate = [...tenant.appRoleAssignments.values()].some(
      (a) =>
        key(a.principalId) === key(principalId) &&
        key(a.resourceId) === key(resourceId) &&
        key(a.appRoleId) === key(appRoleId),
    );
    if (duplicate)
      throw new GraphError(
        400,
        "Request_BadRequest",
        "Permission being assigned already exists on the object",
      );
    const assignment: AppRoleAssignment = {
      id: randomToken(32),
      principalId: principal.id,
      resourceId: resource.id,
      appRoleId,
      createdDateTime: new Date().toISOString(),
    };
    tenant.appRoleAssignments.set(assignment.id, assignment);
    ctx.em.changed();
    return {
      status: 201,
      body: {
        "@odata.context": context(ctx, `servicePrincipals('${owner.id}')/appRoleAssignments/$entity`),
        ...(assignmentBody(tenant, assignment) as object),
      },
    };
  };
}

function deleteAssignment(side: "principal" | "resource"): Handler {
  return (ctx) => {
    const tenant = tenantOf(ctx);
    const owner = servicePrincipal(ctx, ctx.params.id!);
    const assignment = tenant.appRoleAssignments.get(ctx.params.assignmentId!);
    if (
      !assignment ||
      key(side === "principal" ? assignment.principalId : assignment.resourceId) !== key(owner.id)
    )
      throw new GraphError(
        404,
        "Request_ResourceNotFound",
        `Resource '${ctx.params.assignmentId}' does not exist or one of its queried reference-property objects are not present.`,
      );
    tenant.appRoleAssignments.delete(assignment.id);
    ctx.em.changed();
    return { status: 204 };
  };
}

export function registerGraph(router: Router<Handler>): void {
  const sp = "/v1.0/servicePrincipals/{id}";
  router
    .add("GET", "/v1.0/servicePrincipals", listServicePrincipals)
    .add("POST", "/v1.0/directoryObjects/getByIds", getByIds)
    .add("GET", "/v1.0/servicePrincipals(appId='{appId}')", getByAppId)
    .add("GET", sp, getServicePrincipal)
    .add("GET", `${sp}/appRoleAssignments`, listAssignments("principal"))
    .add("POST", `${sp}/appRoleAssignments`, createAssignment("principal"))
    .add("DELETE", `${sp}/appRoleAssignments/{assignmentId}`, deleteAssignment("principal"))
    .add("GET", `${sp}/appRoleAssignedTo`, listAssignments("resource"))
    .add("POST", `${sp}/appRoleAssignedTo`, createAssignment("resource"))
    .add("DELETE", `${sp}/appRoleAssignedTo/{assignmentId}`, deleteAssignment("resource"));
}
