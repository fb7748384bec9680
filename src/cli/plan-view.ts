// A plan for people: per resource, per item, what would change in Azure (create, update, delete,
// or recreate when an item is deleted and made again), from the ordered writes of a plan and the
// Azure state it was computed from.
import { armIdKey } from "../api/arm-id.js";
import { formatRef, type WriteAction } from "../plan/actions.js";
import type { ObservedState } from "../plan/observed.js";
import { targetOf } from "../plan/remediation.js";

export type Change = "create" | "update" | "delete" | "recreate";

export interface ItemChange {
  change: Change;
  item: string;
  target: string;
  description: string;
  kinds: WriteAction["kind"][];
}

export interface ResourceChanges {
  resource: string;
  changes: ItemChange[];
}

const SYMBOL: Record<Change, string> = { create: "+", update: "~", delete: "-", recreate: "±" };

const ITEM: Record<WriteAction["kind"], string> = {
  CreateIdentity: "identity",
  UpdateIdentityTags: "identity",
  DeleteIdentity: "identity",
  PutFederatedCredential: "federated credential",
  DeleteFederatedCredential: "federated credential",
  PutRoleAssignment: "role assignment",
  DeleteRoleAssignment: "role assignment",
  PatchResourceIdentity: "identity block",
  PutRoleDefinition: "custom role",
  DeleteRoleDefinition: "custom role",
  GrantAppRole: "Graph app role",
  RevokeAppRole: "Graph app role",
  UpdateVaultAccessPolicy: "Key Vault access policy",
  SetVaultTenant: "Key Vault tenant",
};

function changeOf(action: WriteAction, observed: ObservedState): Change {
  switch (action.kind) {
    case "CreateIdentity":
    case "GrantAppRole":
      return "create";
    case "DeleteIdentity":
    case "DeleteFederatedCredential":
    case "DeleteRoleAssignment":
    case "DeleteRoleDefinition":
    case "RevokeAppRole":
      return "delete";
    case "UpdateIdentityTags":
    case "PatchResourceIdentity":
    case "SetVaultTenant":
      return "update";
    case "PutFederatedCredential": {
      const existing = observed.federatedCredentials[armIdKey(action.identityId)] ?? [];
      return existing.some((c) => c.name.toLowerCase() === action.name.toLowerCase()) ? "update" : "create";
    }
    case "PutRoleAssignment": {
      const id = armIdKey(targetOf(action));
      const exists = Object.values(observed.roleAssignments).some((list) =>
        list.some((a) => armIdKey(a.id) === id),
      );
      return exists ? "update" : "create";
    }
    case "PutRoleDefinition":
      return observed.roleDefinitions[action.guid.toLowerCase()] ? "update" : "create";
    case "UpdateVaultAccessPolicy": {
      if (action.operation === "remove") return "delete";
      const vault = observed.vaults[armIdKey(action.vaultId)];
      const exists = vault?.accessPolicies.some(
        (entry) =>
          entry.objectId.toLowerCase() === action.entry.objectId.toLowerCase() &&
          entry.tenantId.toLowerCase() === action.entry.tenantId.toLowerCase(),
      );
      return exists ? "update" : "create";
    }
  }
}

/** Groups a plan's writes by resource; a delete and a create of the same target become one recreate. */
export function describePlan(actions: readonly WriteAction[], observed: ObservedState): ResourceChanges[] {
  const byResource = new Map<string, ItemChange[]>();
  for (const action of actions) {
    const resource = formatRef(action.owner);
    const changes = byResource.get(resource) ?? [];
    byResource.set(resource, changes);
    const change = changeOf(action, observed);
    const target = targetOf(action);
    const item = ITEM[action.kind];
    const paired =
      action.kind !== "PatchResourceIdentity"
        ? changes.find(
            (c) =>
              c.item === item &&
              armIdKey(c.target) === armIdKey(target) &&
              ((c.change === "delete" && change === "create") ||
                (c.change === "create" && change === "delete")),
          )
        : undefined;
    if (paired) {
      paired.change = "recreate";
      paired.kinds.push(action.kind);
      paired.description = `${paired.description}; ${action.description}`;
      continue;
    }
    changes.push({ change, item, target, description: action.description, kinds: [action.kind] });
  }
  return [...byResource.entries()].map(([resource, changes]) => ({ resource, changes }));
}

export function countChanges(resources: readonly ResourceChanges[]): Record<Change, number> {
  const counts: Record<Change, number> = { create: 0, update: 0, delete: 0, recreate: 0 };
  for (const { changes } of resources) for (const { change } of changes) counts[change]++;
  return counts;
}

export function formatPlan(resources: readonly ResourceChanges[]): string {
  return resources
    .map(
      ({ resource, changes }) =>
        `${resource.replace(/\//, " ")}\n${changes
          .map((c) => `  ${SYMBOL[c.change]} ${c.change.padEnd(8)} ${c.item}: ${c.description}`)
          .join("\n")}`,
    )
    .join("\n");
}

export function formatCounts(counts: Record<Change, number>, resources: number): string {
  return (
    `${counts.create} to create, ${counts.update} to update, ${counts.delete} to delete, ` +
    `${counts.recreate} to recreate, in ${resources} resource${resources === 1 ? "" : "s"}`
  );
}
