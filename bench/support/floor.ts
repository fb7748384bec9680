// The least time ARM's buckets allow for the writes a repair cannot do without, built from the
// product's own action builders (so each call is charged to the buckets the pacer charges) and
// measured by the product's floorOf.
import { userAssignedIdentityId } from "../../src/api/arm-id.js";
import { builtinRoleByName } from "../../src/api/builtin-roles.js";
import type { Action, ResourceRef } from "../../src/plan/actions.js";
import * as build from "../../src/plan/build.js";
import { type Floor, floorOf } from "../../src/plan/limits.js";
import type { UaiManifest } from "./estate.js";

const NEW_PRINCIPAL = "00000000-0000-4000-8000-000000000000";

/**
 * Microsoft's repair of one user-assigned identity after a tenant move, as ARM calls: detach from
 * each resource, delete, create, attach again, each federated credential, each grant.
 */
export function repairWrites(manifest: UaiManifest): Action[] {
  const { subscriptionId, resourceGroup, location, tags, roleAssignments, federatedCredentials, attachTo } =
    manifest.spec;
  const owner: ResourceRef = {
    kind: "UserAssignedIdentity",
    namespace: manifest.metadata.namespace,
    name: manifest.metadata.name,
  };
  const id = userAssignedIdentityId(subscriptionId, resourceGroup, manifest.metadata.name);
  const detach = attachTo.map((vm) =>
    build.patchResourceIdentity(owner, vm, "detach", { type: "None" }, { type: "None" }, "teardown"),
  );
  const attach = attachTo.map((vm) =>
    build.patchResourceIdentity(
      owner,
      vm,
      "attach",
      { type: "UserAssigned", userAssignedIdentities: { [id]: {} } },
      { type: "UserAssigned", userAssignedIdentities: { [id]: {} } },
      "attachments",
    ),
  );
  return [
    ...detach,
    build.deleteIdentity(owner, id, "teardown"),
    build.createIdentity(owner, id, location, tags ?? {}),
    ...attach,
    ...federatedCredentials.map((fic) =>
      build.putFederatedCredential(owner, id, { ...fic, audiences: ["api://AzureADTokenExchange"] }),
    ),
    ...roleAssignments.map((grant, i) =>
      build.putRoleAssignment(owner, {
        scope: grant.scope,
        name: `${i}`,
        roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${builtinRoleByName(grant.role)?.guid}`,
        principalId: NEW_PRINCIPAL,
      }),
    ),
  ];
}

/** The floor of repairing every identity of `manifests` (ARM seconds) and the writes it counts. */
export function repairFloor(manifests: readonly UaiManifest[]): Floor & { writes: number } {
  const actions = manifests.flatMap(repairWrites);
  return { ...floorOf(actions), writes: actions.length };
}
