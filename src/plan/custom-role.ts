// The planner of a CustomRole: a custom role definition with a deterministic GUID, created,
// updated to match, and deleted with the resource (deletionPolicy Delete).
import { armIdKey } from "../api/arm-id.js";
import { ConditionType, Reason } from "../api/conditions.js";
import type { Permission } from "../api/role-permissions.js";
import type { CustomRole, CustomRoleStatus } from "../api/schemas/custom-role.js";
import type { ResourceRef, WriteAction } from "./actions.js";
import * as build from "./build.js";
import { invalidSpec, policyCondition, policyNotices } from "./common-status.js";
import { buildConditions, type ConditionState } from "./conditions.js";
import { describeFailure, reasonForFailure } from "./failures.js";
import type { ObservedRoleDefinition, ObservedState } from "./observed.js";
import { Observer } from "./observer.js";
import type { Notice, PlanContext, PlanResult } from "./plan-types.js";
import { customRoleDefinitionGuid } from "./roles.js";

export function customRoleDefinitionId(role: CustomRole): string {
  return `/subscriptions/${role.spec.subscriptionId.toLowerCase()}/providers/Microsoft.Authorization/roleDefinitions/${customRoleDefinitionGuid(role)}`;
}

export function planCustomRole(
  resource: CustomRole,
  observed: ObservedState,
  context: Pick<PlanContext, "now" | "policy">,
): PlanResult<CustomRoleStatus> {
  const { metadata, spec } = resource;
  const owner: ResourceRef = {
    kind: "CustomRole",
    namespace: metadata.namespace ?? "default",
    name: metadata.name,
  };
  const obs = new Observer(observed, owner);
  const prev = resource.status ?? {};
  const writes: WriteAction[] = [];
  const notices: Notice[] = [];
  const guid = customRoleDefinitionGuid(resource);
  const roleDefinitionId = customRoleDefinitionId(resource);
  const deleting = metadata.deletionTimestamp !== undefined;

  const finish = (
    ready: ConditionState,
    present: boolean,
    deleted = false,
  ): PlanResult<CustomRoleStatus> => ({
    actions: [...obs.reads, ...writes],
    status: {
      ...(metadata.generation !== undefined ? { observedGeneration: metadata.generation } : {}),
      ...(present ? { roleDefinitionId } : {}),
      conditions: buildConditions(
        prev.conditions,
        [ready, policyCondition(context.policy)],
        context.now,
        metadata.generation,
      ),
    },
    notices,
    deleted,
  });
  const ready = (status: ConditionState["status"], reason: Reason, message: string): ConditionState => ({
    type: ConditionType.Ready,
    status,
    reason,
    message,
  });
  const tryWrite = (action: WriteAction) => {
    const failure = obs.failureOf(action.key);
    if (failure) return failure;
    writes.push(action);
    return undefined;
  };

  const invalid = invalidSpec(resource);
  if (invalid) {
    return finish(
      ready("False", Reason.InvalidSpec, `the spec is invalid, nothing is done in Azure: ${invalid}`),
      false,
      deleting,
    );
  }
  if (!context.policy.allowed) {
    notices.push(...policyNotices(context.policy));
    const what = deleting ? "deleted without touching Azure" : "nothing is written to Azure";
    return finish(
      ready(
        "False",
        Reason.PolicyDenied,
        `refused by policy, ${what}: ${context.policy.violations[0]?.message}`,
      ),
      false,
      deleting,
    );
  }
  if (deleting && spec.deletionPolicy === "Orphan") {
    return finish(
      ready("False", Reason.Orphaned, "deleted; the role definition is left in Azure"),
      false,
      true,
    );
  }
  const definition = obs.roleDefinition(spec.subscriptionId, guid);
  if (definition === undefined) {
    const failure = obs.failures[0];
    return failure
      ? finish(ready("False", reasonForFailure(failure), describeFailure(failure)), false)
      : finish(ready("Unknown", Reason.Progressing, "reading the role definition"), false);
  }
  if (deleting) {
    if (definition === null)
      return finish(ready("False", Reason.Deleting, "the role definition is gone"), false, true);
    const failure = tryWrite(build.deleteRoleDefinition(owner, spec.subscriptionId, guid));
    return failure
      ? finish(
          ready(
            "False",
            reasonForFailure(failure),
            `${describeFailure(failure)} (a role still assigned cannot be deleted)`,
          ),
          true,
        )
      : finish(ready("False", Reason.Deleting, "deleting the role definition"), true);
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
    return finish(ready("True", Reason.Reconciled, "the role definition is as declared"), true);
  }
  const failure = tryWrite(build.putRoleDefinition(owner, desired));
  if (failure)
    return finish(ready("False", reasonForFailure(failure), describeFailure(failure)), definition !== null);
  return finish(
    ready(
      "False",
      Reason.Progressing,
      definition === null ? "creating the role definition" : "updating the role definition",
    ),
    true,
  );
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
