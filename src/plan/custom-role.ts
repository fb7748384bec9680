// The planner of a CustomRole: a custom role definition with a deterministic GUID, created,
// updated to match, and deleted with the resource (deletionPolicy Delete).
import { armIdKey } from "../api/arm-id.js";
import { Reason } from "../api/conditions.js";
import type { Permission } from "../api/role-permissions.js";
import type { CustomRole, CustomRoleStatus } from "../api/schemas/custom-role.js";
import * as build from "./build.js";
import { type PlannedCondition, policyCondition, readyCondition } from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import type { ObservedRoleDefinition, ObservedState } from "./observed.js";
import type { PlanContext, PlanResult } from "./plan-types.js";
import { customRoleDefinitionGuid } from "./roles.js";
import { PlanFrame } from "./skeleton.js";

export function customRoleDefinitionId(role: CustomRole): string {
  return `/subscriptions/${role.spec.subscriptionId.toLowerCase()}/providers/Microsoft.Authorization/roleDefinitions/${customRoleDefinitionGuid(role)}`;
}

export function planCustomRole(
  resource: CustomRole,
  observed: ObservedState,
  context: Pick<PlanContext, "now" | "policy">,
): PlanResult<CustomRoleStatus> {
  const frame = new PlanFrame(resource, observed, context);
  const stopped = frame.open({
    orphans: resource.spec.deletionPolicy === "Orphan",
    orphanMessage: "deleted; the role definition is left in Azure",
  });
  if (stopped) return stopped;

  const { spec } = resource;
  const { obs, owner } = frame;
  const guid = customRoleDefinitionGuid(resource);
  const roleDefinitionId = customRoleDefinitionId(resource);
  const finish = (ready: PlannedCondition, present: boolean, deleted = false) =>
    frame.finish(present ? { roleDefinitionId } : {}, [ready, policyCondition(context.policy)], deleted);
  const failed = (failure: { code: string; message: string }, present: boolean, why = "") =>
    finish(readyCondition("False", reasonForFailure(failure), `${describeFailure(failure)}${why}`), present);

  const definition = obs.roleDefinition(spec.subscriptionId, guid);
  if (definition === undefined) {
    const failure = obs.failures[0];
    return failure
      ? failed(failure, false)
      : finish(readyCondition("Unknown", Reason.Progressing, "reading the role definition"), false);
  }
  if (frame.deleting) {
    if (definition === null)
      return finish(readyCondition("False", Reason.Deleting, "the role definition is gone"), false, true);
    const failure = frame.tryWrite(build.deleteRoleDefinition(owner, spec.subscriptionId, guid));
    return failure
      ? failed(failure, true, " (a role still assigned cannot be deleted)")
      : finish(readyCondition("False", Reason.Deleting, "deleting the role definition"), true);
  }
  const desired = {
    subscriptionId: spec.subscriptionId,
    guid,
    roleName: spec.roleName,
    roleDescription: spec.description ?? "",
    permissions: spec.permissions,
    assignableScopes: spec.assignableScopes,
  };
  if (definition !== null && matches(definition, desired)) {
    return finish(readyCondition("True", Reason.Reconciled, "the role definition is as declared"), true);
  }
  const failure = frame.tryWrite(build.putRoleDefinition(owner, desired));
  if (failure) return failed(failure, definition !== null);
  const doing = definition === null ? "creating the role definition" : "updating the role definition";
  return finish(readyCondition("False", Reason.Progressing, doing), true);
}

function normalizedPermissions(permissions: readonly Permission[]): string {
  const set = (values: readonly string[] | undefined) =>
    [...new Set((values ?? []).map((v) => v.toLowerCase()))].sort();
  return JSON.stringify(
    permissions
      .map((p) => [set(p.actions), set(p.notActions), set(p.dataActions), set(p.notDataActions)])
      .map((p) => JSON.stringify(p))
      .sort(),
  );
}

function matches(
  definition: ObservedRoleDefinition,
  desired: {
    roleName: string;
    roleDescription: string;
    permissions: readonly Permission[];
    assignableScopes: readonly string[];
  },
): boolean {
  const scopes = (values: readonly string[]) => JSON.stringify(values.map(armIdKey).sort());
  return (
    definition.roleName === desired.roleName &&
    (definition.description ?? "") === desired.roleDescription &&
    normalizedPermissions(definition.permissions) === normalizedPermissions(desired.permissions) &&
    scopes(definition.assignableScopes) === scopes(desired.assignableScopes)
  );
}
