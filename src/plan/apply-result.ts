// Folds the outcome of one action into the observed state, so that the planner can be asked
// again without reading Azure again. Pure: returns a new state and leaves its input alone.

import { armIdKey, roleAssignmentId } from "../api/arm-id.js";
import { AzidError } from "../util/errors.js";
import type { Action } from "./actions.js";
import { listingScopeFor } from "./build.js";
import { hasSystemAssigned } from "./identity-block.js";
import {
  type ActionFailure,
  listingKey,
  type ObservedAccessPolicyEntry,
  type ObservedAppRoleAssignment,
  type ObservedFederatedCredential,
  type ObservedIdentity,
  type ObservedRoleAssignment,
  type ObservedRoleDefinition,
  type ObservedServicePrincipal,
  type ObservedState,
  type ObservedSubscription,
  type ObservedTarget,
  type ObservedVault,
  principalKey,
  type ResourceIdentity,
  roleNameKey,
  servicePrincipalKey,
  subscriptionKey,
  type VaultPermissions,
} from "./observed.js";

/**
 * What an action produced. Reads must return their field (e.g. ReadIdentity: `identity`, null
 * for 404); writes may return the response (CreateIdentity must: it carries the principal id;
 * GrantAppRole must: it carries the assignment id). A failed action returns `failure`.
 */
export interface ActionResult {
  failure?: ActionFailure;
  subscription?: ObservedSubscription | null;
  identity?: ObservedIdentity | null;
  federatedCredentials?: ObservedFederatedCredential[];
  roleAssignments?: ObservedRoleAssignment[];
  target?: ObservedTarget;
  roleDefinition?: ObservedRoleDefinition | null;
  roleDefinitions?: ObservedRoleDefinition[];
  servicePrincipal?: ObservedServicePrincipal | null;
  appRoleAssignments?: ObservedAppRoleAssignment[];
  /** PutRoleAssignment's response. */
  roleAssignment?: ObservedRoleAssignment;
  /** GrantAppRole's response. */
  appRoleAssignment?: ObservedAppRoleAssignment;
  /** PatchResourceIdentity's response: the resource's identity block after the PATCH. */
  resourceIdentity?: ResourceIdentity;
  /** ReadVault's answer (null for 404). */
  vault?: ObservedVault | null;
}

export class ActionResultError extends AzidError {
  override readonly name = "ActionResultError";
  readonly errorCode = "plan.IncompleteActionResult";
  readonly code = "IncompleteActionResult";
}

const NOT_FOUND = new Set([
  "NotFound",
  "ResourceNotFound",
  "ResourceGroupNotFound",
  "SubscriptionNotFound",
  "ParentResourceNotFound",
  "RoleAssignmentNotFound",
  "RoleDefinitionDoesNotExist",
  "Request_ResourceNotFound",
]);

const isNotFound = (failure: ActionFailure) => failure.status === 404 || NOT_FOUND.has(failure.code);

function put<F extends keyof ObservedState>(
  state: ObservedState,
  field: F,
  key: string,
  value: ObservedState[F][string],
): ObservedState {
  return { ...state, [field]: { ...state[field], [key]: value } };
}

function drop(state: ObservedState, field: keyof ObservedState, key: string): ObservedState {
  const { [key]: _dropped, ...rest } = state[field] as Record<string, unknown>;
  return { ...state, [field]: rest };
}

function required<T>(value: T | undefined, action: Action, field: string): T {
  if (value === undefined) throw new ActionResultError(`${action.kind} result must carry ${field}`);
  return value;
}

export function applyResult(observed: ObservedState, action: Action, result: ActionResult): ObservedState {
  if (result.failure) return applyFailure(observed, action, result.failure);
  switch (action.kind) {
    case "ReadSubscription":
      return put(
        observed,
        "subscriptions",
        subscriptionKey(action.subscriptionId),
        required(result.subscription, action, "subscription"),
      );
    case "ReadIdentity":
      return put(
        observed,
        "identities",
        armIdKey(action.identityId),
        required(result.identity, action, "identity"),
      );
    case "ListFederatedCredentials":
      return put(
        observed,
        "federatedCredentials",
        armIdKey(action.identityId),
        required(result.federatedCredentials, action, "federatedCredentials"),
      );
    case "ListRoleAssignments":
      return put(
        observed,
        "roleAssignments",
        listingKey(action.listingScope, action.principalId),
        required(result.roleAssignments, action, "roleAssignments"),
      );
    case "ReadTarget":
      return put(observed, "targets", armIdKey(action.resourceId), required(result.target, action, "target"));
    case "ReadRoleDefinition":
      return put(
        observed,
        "roleDefinitions",
        action.guid.toLowerCase(),
        required(result.roleDefinition, action, "roleDefinition"),
      );
    case "FindRoleDefinitions": {
      const found = required(result.roleDefinitions, action, "roleDefinitions");
      let next = put(
        observed,
        "roleDefinitionsByName",
        roleNameKey(action.subscriptionId, action.roleName),
        found,
      );
      for (const definition of found)
        next = put(next, "roleDefinitions", definition.name.toLowerCase(), definition);
      return next;
    }
    case "ReadServicePrincipal":
      return put(
        observed,
        "servicePrincipals",
        servicePrincipalKey(action.tenantId, action.appId),
        required(result.servicePrincipal, action, "servicePrincipal"),
      );
    case "ListAppRoleAssignments":
      return put(
        observed,
        "appRoleAssignments",
        principalKey(action.principalId),
        required(result.appRoleAssignments, action, "appRoleAssignments"),
      );
    case "CreateIdentity": {
      const key = armIdKey(action.identityId);
      const created = put(observed, "identities", key, required(result.identity, action, "identity"));
      // A new identity has no credentials (the executor says so when ARM answered 201); otherwise
      // they are read afresh: a PUT over an existing identity keeps them.
      return result.federatedCredentials
        ? put(created, "federatedCredentials", key, result.federatedCredentials)
        : drop(created, "federatedCredentials", key);
    }
    case "UpdateIdentityTags": {
      const key = armIdKey(action.identityId);
      const current = observed.identities[key];
      const identity = result.identity ?? (current ? { ...current, tags: { ...action.tags } } : current);
      return identity === undefined ? observed : put(observed, "identities", key, identity);
    }
    case "DeleteIdentity": {
      const key = armIdKey(action.identityId);
      return put(put(observed, "identities", key, null), "federatedCredentials", key, []);
    }
    case "PutFederatedCredential": {
      const key = armIdKey(action.identityId);
      const list = observed.federatedCredentials[key];
      if (!list) return observed;
      const credential = {
        name: action.name,
        issuer: action.issuer,
        subject: action.subject,
        audiences: [...action.audiences],
      };
      return put(observed, "federatedCredentials", key, [
        ...list.filter((c) => c.name.toLowerCase() !== action.name.toLowerCase()),
        credential,
      ]);
    }
    case "DeleteFederatedCredential":
      return removeCredential(observed, action.identityId, action.name);
    case "PutRoleAssignment": {
      const key = listingKey(listingScopeFor(action.scope), action.principalId);
      const list = observed.roleAssignments[key];
      if (!list) return observed;
      const assignment: ObservedRoleAssignment = result.roleAssignment ?? {
        id: roleAssignmentId(action.scope, action.name),
        name: action.name,
        scope: action.scope,
        roleDefinitionId: action.roleDefinitionId,
        principalId: action.principalId,
        principalType: action.principalType,
        ...(action.condition
          ? { condition: action.condition, conditionVersion: action.conditionVersion }
          : {}),
        ...(action.assignmentDescription ? { description: action.assignmentDescription } : {}),
      };
      return put(observed, "roleAssignments", key, [
        ...list.filter((a) => a.name.toLowerCase() !== assignment.name.toLowerCase()),
        assignment,
      ]);
    }
    case "DeleteRoleAssignment":
      return removeRoleAssignment(observed, action.scope, action.principalId, action.roleAssignmentId);
    case "PatchResourceIdentity": {
      const key = armIdKey(action.resourceId);
      const identity = result.resourceIdentity ?? action.expected;
      // A system-assigned identity's principal is only known from Azure's answer: read it.
      if (hasSystemAssigned(identity) && !identity.principalId) return drop(observed, "targets", key);
      return put(observed, "targets", key, { state: "present", identity });
    }
    case "PutRoleDefinition":
      return put(
        observed,
        "roleDefinitions",
        action.guid.toLowerCase(),
        result.roleDefinition ?? {
          id: `/subscriptions/${action.subscriptionId.toLowerCase()}/providers/Microsoft.Authorization/roleDefinitions/${action.guid}`,
          name: action.guid.toLowerCase(),
          roleName: action.roleName,
          type: "CustomRole",
          description: action.roleDescription,
          permissions: action.permissions,
          assignableScopes: action.assignableScopes,
        },
      );
    case "DeleteRoleDefinition":
      return put(observed, "roleDefinitions", action.guid.toLowerCase(), null);
    case "GrantAppRole": {
      const key = principalKey(action.principalId);
      const list = observed.appRoleAssignments[key];
      const granted = required(result.appRoleAssignment, action, "appRoleAssignment");
      return list ? put(observed, "appRoleAssignments", key, [...list, granted]) : observed;
    }
    case "RevokeAppRole":
      return removeAppRoleAssignment(observed, action.principalId, action.assignmentId);
    case "ReadVault":
      return put(observed, "vaults", armIdKey(action.vaultId), required(result.vault, action, "vault"));
    case "SetVaultTenant": {
      const key = armIdKey(action.vaultId);
      if (result.vault) return put(observed, "vaults", key, result.vault);
      const vault = observed.vaults[key];
      const changed = vault && vault.tenantId.toLowerCase() !== action.tenantId.toLowerCase();
      // The PATCH clears the entries: all named objects of the old tenant.
      return changed
        ? put(observed, "vaults", key, { ...vault, tenantId: action.tenantId, accessPolicies: [] })
        : observed;
    }
    case "UpdateVaultAccessPolicy": {
      const key = armIdKey(action.vaultId);
      const vault = observed.vaults[key];
      if (!vault) return observed;
      return put(observed, "vaults", key, {
        ...vault,
        accessPolicies: applyAccessPolicyChange(vault.accessPolicies, action.operation, action.entry),
      });
    }
  }
}

function applyFailure(observed: ObservedState, action: Action, failure: ActionFailure): ObservedState {
  if (isNotFound(failure)) {
    // A 404 is an answer: the thing is absent (reads) or already gone (deletes).
    switch (action.kind) {
      case "ReadSubscription":
        return applyResult(observed, action, { subscription: null });
      case "ReadIdentity":
        return applyResult(observed, action, { identity: null });
      case "ListFederatedCredentials":
        return applyResult(observed, action, { federatedCredentials: [] });
      case "ListRoleAssignments":
        return applyResult(observed, action, { roleAssignments: [] });
      case "ReadTarget":
        return applyResult(observed, action, { target: { state: "absent" } });
      case "ReadRoleDefinition":
        return applyResult(observed, action, { roleDefinition: null });
      case "FindRoleDefinitions":
        return applyResult(observed, action, { roleDefinitions: [] });
      case "ReadServicePrincipal":
        return applyResult(observed, action, { servicePrincipal: null });
      case "ListAppRoleAssignments":
        return applyResult(observed, action, { appRoleAssignments: [] });
      case "ReadVault":
      case "SetVaultTenant":
      case "UpdateVaultAccessPolicy":
        return applyResult(observed, action, { vault: null });
      case "DeleteIdentity":
      case "DeleteFederatedCredential":
      case "DeleteRoleAssignment":
      case "DeleteRoleDefinition":
      case "RevokeAppRole":
        return applyResult(observed, action, {});
      case "PatchResourceIdentity":
        return put(observed, "targets", armIdKey(action.resourceId), { state: "absent" });
      default:
        break;
    }
  }
  const next = put(observed, "failures", action.key, failure);
  if (action.kind === "PutRoleAssignment" && failure.code === "RoleAssignmentExists") {
    // The same scope, role and principal exist under another name: read again to adopt it.
    return drop(next, "roleAssignments", listingKey(listingScopeFor(action.scope), action.principalId));
  }
  return next;
}

const sameEntry = (a: ObservedAccessPolicyEntry, b: ObservedAccessPolicyEntry) =>
  a.tenantId.toLowerCase() === b.tenantId.toLowerCase() &&
  a.objectId.toLowerCase() === b.objectId.toLowerCase() &&
  (a.applicationId ?? "").toLowerCase() === (b.applicationId ?? "").toLowerCase();

/** The entries after azid's replace or remove of one entry (Azure's semantics, see actions.ts). */
function applyAccessPolicyChange(
  entries: readonly ObservedAccessPolicyEntry[],
  operation: "replace" | "remove",
  change: ObservedAccessPolicyEntry,
): ObservedAccessPolicyEntry[] {
  const others = entries.filter((entry) => !sameEntry(entry, change));
  if (operation === "replace") return [...others, change];
  const current = entries.find((entry) => sameEntry(entry, change));
  if (!current) return others;
  const left: VaultPermissions = {};
  for (const kind of ["keys", "secrets", "certificates", "storage"] as const) {
    const removed = new Set((change.permissions[kind] ?? []).map((p) => p.toLowerCase()));
    const kept = (current.permissions[kind] ?? []).filter((p) => !removed.has(p.toLowerCase()));
    if (kept.length > 0) left[kind] = kept;
  }
  return Object.keys(left).length > 0 ? [...others, { ...current, permissions: left }] : others;
}

function removeCredential(observed: ObservedState, identityId: string, name: string): ObservedState {
  const key = armIdKey(identityId);
  const list = observed.federatedCredentials[key];
  if (!list) return observed;
  return put(
    observed,
    "federatedCredentials",
    key,
    list.filter((c) => c.name.toLowerCase() !== name.toLowerCase()),
  );
}

function removeRoleAssignment(
  observed: ObservedState,
  scope: string,
  principalId: string,
  id: string,
): ObservedState {
  const key = listingKey(listingScopeFor(scope), principalId);
  const list = observed.roleAssignments[key];
  if (!list) return observed;
  return put(
    observed,
    "roleAssignments",
    key,
    list.filter((a) => armIdKey(a.id) !== armIdKey(id)),
  );
}

function removeAppRoleAssignment(
  observed: ObservedState,
  principalId: string,
  assignmentId: string,
): ObservedState {
  const key = principalKey(principalId);
  const list = observed.appRoleAssignments[key];
  if (!list) return observed;
  return put(
    observed,
    "appRoleAssignments",
    key,
    list.filter((a) => a.id !== assignmentId),
  );
}
