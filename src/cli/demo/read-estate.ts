// The demo's look at Azure after the repair, through the same inventory reads as `azid export`:
// every identity of the subscription and its credentials, every resource with an identity block,
// every role assignment and custom role, and the Graph app roles of the declared principals.
import { parseResourceId } from "../../api/arm-id.js";
import type { Inventory } from "../../azure/inventory.js";
import type { Estate } from "./exact-state.js";

export async function readEstate(
  inventory: Inventory,
  subscriptionId: string,
  principals: readonly string[],
): Promise<Estate> {
  const [subscription, identities, resources, roleAssignments, customRoles] = await Promise.all([
    inventory.subscription(subscriptionId),
    inventory.identities(subscriptionId),
    inventory.identityBearingResources(subscriptionId),
    inventory.roleAssignments(subscriptionId),
    inventory.customRoles(subscriptionId),
  ]);
  const credentials: Estate["credentials"] = {};
  for (const identity of identities) {
    const group = parseResourceId(identity.id).resourceGroup ?? "";
    credentials[identity.id.toLowerCase()] = await inventory.federatedCredentials(
      subscriptionId,
      group,
      identity.name,
    );
  }
  const appRoleAssignments: Estate["appRoleAssignments"] = {};
  for (const principal of principals) {
    appRoleAssignments[principal.toLowerCase()] = await inventory.appRoleAssignments(
      subscriptionId,
      principal,
    );
  }
  return {
    tenantId: subscription.tenantId,
    identities,
    credentials,
    resources: resources.map(({ id, identity }) => ({ id, identity })),
    roleAssignments,
    customRoles,
    appRoleAssignments,
  };
}
