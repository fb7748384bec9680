// Permissions (RBAC over the emulator's own role assignments) and Azure Policy deny rules.
import type { Ctx } from "./context.js";
import type { Emulator } from "./emulator.js";
import { ArmError } from "./errors.js";
import { guidFrom, isAtOrBelow, key } from "./ids.js";
import { type Permission, permits, UNRESTRICTED } from "./rbac.js";

/** What `oid` may do at `scope`: everything when unrestricted, else what its role assignments grant. */
export function effectivePermissions(em: Emulator, oid: string, scope: string): Permission[] {
  if (!em.restricted.has(key(oid))) return UNRESTRICTED;
  const out: Permission[] = [];
  for (const assignment of em.store.assignmentsOfPrincipal(oid)) {
    if (!isAtOrBelow(scope, assignment.scope)) continue;
    const guid = assignment.roleDefinitionId.split("/").pop() ?? "";
    out.push(...em.store.permissionsOfRole(guid));
  }
  return out;
}

export function isAllowed(em: Emulator, oid: string, action: string, scope: string): boolean {
  return permits(effectivePermissions(em, oid, scope), action);
}

const clientName = (ctx: Ctx) => ctx.caller.appid ?? ctx.caller.oid;

/** 403 AuthorizationFailed unless the caller may perform `action` at `scope`. */
export function authorize(ctx: Ctx, action: string, scope: string): void {
  if (isAllowed(ctx.em, ctx.caller.oid, action, scope)) return;
  throw new ArmError(
    403,
    "AuthorizationFailed",
    `The client '${clientName(ctx)}' with object id '${ctx.caller.oid}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

/** 403 LinkedAuthorizationFailed unless the caller may perform `linkedAction` on every linked scope. */
export function authorizeLinked(
  ctx: Ctx,
  action: string,
  scope: string,
  linkedAction: string,
  linkedScopes: string[],
): void {
  const missing = linkedScopes.filter((linked) => !isAllowed(ctx.em, ctx.caller.oid, linkedAction, linked));
  if (missing.length === 0) return;
  throw new ArmError(
    403,
    "LinkedAuthorizationFailed",
    `The client '${clientName(ctx)}' with object id '${ctx.caller.oid}' has permission to perform action '${action}' on scope '${scope}'; however, it does not have permission to perform action(s) '${linkedAction}' on the linked scope(s) '${missing.join(",")}' (respectively) or the linked scope(s) are invalid.`,
  );
}

/** 403 RequestDisallowedByPolicy when a deny rule covers this resource type at this scope. */
export function checkPolicy(ctx: Ctx, resourceType: string, resourceId: string, name: string): void {
  const rule = ctx.em.policies.find(
    (r) =>
      isAtOrBelow(resourceId, r.scope) &&
      (r.resourceType === "*" || key(r.resourceType) === key(resourceType)),
  );
  if (!rule) return;
  const assignmentId = `${rule.scope.replace(/\/$/, "")}/providers/Microsoft.Authorization/policyAssignments/${rule.name}`;
  const definitionName = guidFrom(`policy-definition:${rule.name}`);
  const definitionId = `/providers/Microsoft.Authorization/policyDefinitions/${definitionName}`;
  const displayName = rule.displayName ?? rule.name;
  const identifiers = JSON.stringify([
    {
      policyAssignment: { name: displayName, id: assignmentId },
      policyDefinition: { name: displayName, id: definitionId },
    },
  ]);
  throw new ArmError(
    403,
    "RequestDisallowedByPolicy",
    `Resource '${name}' was disallowed by policy. Policy identifiers: '${identifiers}'.`,
    {
      target: name,
      additionalInfo: [
        {
          type: "PolicyViolation",
          info: {
            policyDefinitionDisplayName: displayName,
            policyDefinitionId: definitionId,
            policyDefinitionName: definitionName,
            policyDefinitionEffect: "deny",
            policyAssignmentId: assignmentId,
            policyAssignmentName: rule.name,
            policyAssignmentDisplayName: displayName,
            policyAssignmentScope: rule.scope,
          },
        },
      ],
    },
  );
}
