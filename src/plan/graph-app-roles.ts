// The Graph (or other API) app roles of one principal: each declared role found among the API's
// service principal's enabled roles and granted, one granted outside azid adopted, and only what
// azid granted revoked, including grants of earlier principals.
import { sameId } from "../api/arm-id.js";
import { Reason } from "../api/conditions.js";
import {
  type GraphAppRoleSpec,
  type GraphAppRoleStatus,
  MICROSOFT_GRAPH_APP_ID,
} from "../api/schemas/common.js";
import type { WriteAction } from "./actions.js";
import * as build from "./build.js";
import { type ItemOutcome, pending } from "./conditions.js";
import { failed, ready, removeOrReport, writeOrReport } from "./grant-items.js";
import type { GrantsInput } from "./grants.js";

export type GraphOutcome = GraphAppRoleStatus & ItemOutcome;

/** The outcome of one declared Graph app role; adds its resolved key to `desiredKeys`. */
function graphOutcome(
  input: GrantsInput,
  writes: WriteAction[],
  spec: GraphAppRoleSpec,
  index: number,
  desiredKeys: Set<string>,
): GraphOutcome {
  const { obs, principal } = input;
  const appId = spec.resourceAppId ?? MICROSOFT_GRAPH_APP_ID;
  // Graph names assignments itself, so only status remembers which ones azid made: an outcome
  // that waits for a read keeps that memory for the rounds after it.
  const before = (matches: (entry: GraphAppRoleStatus) => boolean) =>
    (input.previous.graphAppRoles ?? []).find(
      (entry) =>
        principal !== undefined &&
        sameId(entry.resourceAppId, appId) &&
        sameId(entry.principalId, principal.id) &&
        matches(entry),
    );
  const base = {
    resourceAppId: appId,
    appRole: spec.appRole,
    owned: before((entry) => entry.appRole.toLowerCase() === spec.appRole.toLowerCase())?.owned ?? false,
    ...(principal ? { principalId: principal.id } : {}),
  };
  const refusal = input.refused("graphAppRoles", index);
  if (refusal)
    return {
      ...base,
      state: "Refused",
      reason: Reason.PolicyDenied,
      message: `${refusal.rule}: ${refusal.message}`,
    };
  if (!principal) return { ...base, ...pending("waiting for the identity's principal", Reason.Waiting) };
  // Both reads in one round: they do not depend on each other.
  const assignments = obs.appRoleAssignments(principal.tenantId, principal.id);
  const api = obs.servicePrincipal(principal.tenantId, appId);
  if (api === undefined) return { ...base, ...pending(`reading the service principal of ${appId}`) };
  if (api === null) {
    return {
      ...base,
      ...failed(
        `application ${appId} has no service principal in tenant ${principal.tenantId}`,
        Reason.AppRoleNotFound,
      ),
    };
  }
  const wanted = spec.appRole.toLowerCase();
  const role = api.appRoles.find(
    (candidate) =>
      candidate.isEnabled !== false &&
      (candidate.id.toLowerCase() === wanted || candidate.value?.toLowerCase() === wanted),
  );
  if (!role)
    return {
      ...base,
      ...failed(`application ${appId} has no enabled app role ${spec.appRole}`, Reason.AppRoleNotFound),
    };
  desiredKeys.add(`${appId.toLowerCase()}|${role.id.toLowerCase()}`);
  if (assignments === undefined)
    return { ...base, appRoleId: role.id, ...pending("reading app role assignments") };
  const existing = assignments.find(
    (a) => sameId(a.resourceId, api.objectId) && sameId(a.appRoleId, role.id),
  );
  if (existing) {
    const owned = base.owned || (before((entry) => sameId(entry.appRoleId, role.id))?.owned ?? false);
    return {
      ...base,
      appRoleId: role.id,
      assignmentId: existing.id,
      owned,
      ...ready(owned ? undefined : "adopted: it was granted outside azid"),
    };
  }
  const grant = build.grantAppRole(obs.owner, {
    tenantId: principal.tenantId,
    principalId: principal.id,
    resourceServicePrincipalId: api.objectId,
    appRoleId: role.id,
    label: spec.appRole,
  });
  return { ...base, appRoleId: role.id, owned: true, ...writeOrReport(input, writes, grant, "missing") };
}

export function planGraphAppRoles(input: GrantsInput, writes: WriteAction[]) {
  const { obs, principal, mode } = input;
  const owner = obs.owner;
  const previous = input.previous.graphAppRoles ?? [];
  const desiredKeys = new Set<string>();
  const declared = mode === "delete" ? [] : input.graphAppRoles;
  const outcomes = declared.map((spec, index) => graphOutcome(input, writes, spec, index, desiredKeys));
  const converged = outcomes.every((outcome) => outcome.state === "Ready");

  let earlierLeft = 0;
  for (const entry of previous) {
    if (!entry.owned || !entry.principalId) continue;
    const current = principal && sameId(entry.principalId, principal.id);
    if (
      current &&
      entry.appRoleId &&
      desiredKeys.has(`${entry.resourceAppId.toLowerCase()}|${entry.appRoleId.toLowerCase()}`)
    ) {
      continue;
    }
    if (!current && !input.cleanupEarlierPrincipals && mode !== "delete") {
      earlierLeft++;
      outcomes.push({
        ...entry,
        ...pending("of an earlier principal: removed once the new grants are in place"),
      });
      continue;
    }
    const tenantId = principal?.tenantId;
    if (!tenantId) {
      // Graph is asked in the current principal's tenant; until it is known, keep the entry.
      outcomes.push({
        ...entry,
        state: "Removing",
        reason: Reason.Waiting,
        message: "waiting for the identity's tenant",
      });
      continue;
    }
    const assignments = obs.appRoleAssignments(tenantId, entry.principalId);
    if (assignments === undefined) {
      if (!current) earlierLeft++;
      outcomes.push({
        ...entry,
        state: "Removing",
        reason: Reason.Progressing,
        message: "reading app role assignments",
      });
      continue;
    }
    const found = assignments.find((a) =>
      entry.assignmentId ? sameId(a.id, entry.assignmentId) : sameId(a.appRoleId, entry.appRoleId),
    );
    if (!found) continue;
    if (!current) earlierLeft++;
    const revoke = build.revokeAppRole(
      owner,
      { tenantId, principalId: entry.principalId, assignmentId: found.id, label: entry.appRole },
      input.removalPhase,
    );
    outcomes.push({ ...entry, assignmentId: found.id, ...removeOrReport(input, writes, revoke) });
  }
  return { outcomes, converged, earlierLeft };
}
