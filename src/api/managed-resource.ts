import { parseResourceId } from "./arm-id.js";
import type { CustomRole } from "./schemas/custom-role.js";
import type { SystemAssignedIdentity } from "./schemas/system-assigned-identity.js";
import type { UserAssignedIdentity } from "./schemas/user-assigned-identity.js";

/** The kinds that make azid write to Azure (IdentityPolicy and TenantMigration do not). */
export type ManagedResource = UserAssignedIdentity | SystemAssignedIdentity | CustomRole;

/** The subscription a resource lives in, lowercased: its credential makes the resource's calls. */
export function subscriptionOfResource(resource: ManagedResource): string {
  switch (resource.kind) {
    case "UserAssignedIdentity":
    case "CustomRole":
      return resource.spec.subscriptionId.toLowerCase();
    case "SystemAssignedIdentity":
      return parseResourceId(resource.spec.resourceId).subscriptionId.toLowerCase();
  }
}
