// The baseline a user would write after a tenant move: Microsoft's transfer guide followed one
// call at a time with the unmodified Azure SDK (default retry and throttling policies): for each
// user-assigned identity, remove it from its resources, delete it, create it again, attach it
// again, re-create its federated credentials and its role assignments (with principalType, as the
// RBAC docs say for a new principal). The inventory is the manifests, as the guide's "save your
// role assignments before the transfer" step would have it.
import { randomUUID } from "node:crypto";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { ResourceManagementClient } from "@azure/arm-resources";
import type { TokenCredential } from "@azure/core-auth";
import type { UaiManifest } from "./estate.js";

const VM_API = "2024-11-01";

export interface SequentialTarget {
  armUrl: string;
  caPem: string;
  subscriptionId: string;
  credential: TokenCredential;
}

interface IdentityBlock {
  type?: string;
  userAssignedIdentities?: Record<string, unknown>;
}

const hasSystem = (block: IdentityBlock | undefined) => /SystemAssigned/i.test(block?.type ?? "");
const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Repairs every identity of the inventory, one ARM call at a time; answers the calls made. */
export async function sequentialRepair(
  target: SequentialTarget,
  inventory: readonly UaiManifest[],
): Promise<number> {
  const options = { endpoint: target.armUrl, tlsOptions: { ca: target.caPem } };
  let calls = 0;
  const counted = <T>(promise: Promise<T>) => {
    calls++;
    return promise;
  };
  const msi = new ManagedServiceIdentityClient(target.credential, target.subscriptionId, options);
  const authorization = new AuthorizationManagementClient(target.credential, target.subscriptionId, options);
  const arm = new ResourceManagementClient(target.credential, target.subscriptionId, options);

  const roleIds = new Map<string, string>();
  const roleId = async (name: string, scope: string) => {
    const known = roleIds.get(name.toLowerCase());
    if (known) return known;
    calls++;
    for await (const role of authorization.roleDefinitions.list(scope, { filter: `roleName eq '${name}'` })) {
      roleIds.set(name.toLowerCase(), role.id as string);
      return role.id as string;
    }
    throw new Error(`role ${name} not found`);
  };

  const vmIdentity = async (vm: string) =>
    (await counted(arm.resources.getById(vm, VM_API))).identity as IdentityBlock | undefined;

  for (const manifest of inventory) {
    const { resourceGroup, location, tags, roleAssignments, federatedCredentials, attachTo } = manifest.spec;
    const name = manifest.metadata.name;
    const identityId = `/subscriptions/${target.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

    // 1. Remove the identity from every resource it is attached to (deleting it would not).
    for (const vm of attachTo) {
      const block = await vmIdentity(vm);
      const others = Object.keys(block?.userAssignedIdentities ?? {}).filter((id) => !sameId(id, identityId));
      const identity =
        others.length === 0
          ? { type: hasSystem(block) ? "SystemAssigned" : "None" }
          : { type: block?.type, userAssignedIdentities: { [identityId]: null } };
      await counted(arm.resources.beginUpdateByIdAndWait(vm, VM_API, { identity } as never));
    }
    // 2. Delete it and 3. create it again: a new principal in the new tenant.
    await counted(msi.userAssignedIdentities.delete(resourceGroup, name));
    const created = await counted(
      msi.userAssignedIdentities.createOrUpdate(resourceGroup, name, { location, ...(tags ? { tags } : {}) }),
    );
    // 4. Attach it again.
    for (const vm of attachTo) {
      const block = await vmIdentity(vm);
      const type = hasSystem(block) ? "SystemAssigned, UserAssigned" : "UserAssigned";
      await counted(
        arm.resources.beginUpdateByIdAndWait(vm, VM_API, {
          identity: { type, userAssignedIdentities: { [identityId]: {} } },
        } as never),
      );
    }
    // 5. Its federated credentials, one at a time (concurrent writes get 409).
    for (const fic of federatedCredentials) {
      await counted(
        msi.federatedIdentityCredentials.createOrUpdate(resourceGroup, name, fic.name, {
          issuer: fic.issuer,
          subject: fic.subject,
          audiences: ["api://AzureADTokenExchange"],
        }),
      );
    }
    // 6. Its role assignments, granted to the new principal.
    for (const grant of roleAssignments) {
      await counted(
        authorization.roleAssignments.create(grant.scope, randomUUID(), {
          roleDefinitionId: await roleId(grant.role, grant.scope),
          principalId: created.principalId as string,
          principalType: "ServicePrincipal",
        }),
      );
    }
  }
  return calls;
}
