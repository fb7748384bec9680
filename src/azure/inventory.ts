// The listing reads `azid export` makes (not planner actions): what a subscription (or one of
// its resource groups) holds in identities, the resources carrying them, the grants of their
// principals and the custom roles those grants use. All pages are read; every answer is mapped
// to the planner's observed types so that export and plan speak the same language.
import type { GenericResourceExpanded } from "@azure/arm-resources";
import type {
  ObservedAppRoleAssignment,
  ObservedFederatedCredential,
  ObservedIdentity,
  ObservedRoleAssignment,
  ObservedRoleDefinition,
  ObservedSubscription,
  ObservedVault,
  ResourceIdentity,
} from "../plan/observed.js";
import type { AzureClients } from "./clients.js";
import { toAzureError } from "./errors.js";
import {
  toObservedAppRoleAssignment,
  toObservedAssignment,
  toObservedDefinition,
  toObservedIdentity,
  toObservedVault,
  toResourceIdentity,
} from "./executor.js";
import type { ServicePrincipal } from "./graph.js";

/** A resource that carries an `identity` block (user-assigned identities themselves excluded). */
export interface IdentityBearingResource {
  id: string;
  type: string;
  location?: string;
  identity: ResourceIdentity;
}

const USER_ASSIGNED_TYPE = "microsoft.managedidentity/userassignedidentities";

export class Inventory {
  constructor(private readonly clients: AzureClients) {}

  async subscription(subscriptionId: string): Promise<ObservedSubscription> {
    return wrap(async () => {
      const found = await this.clients
        .forSubscription(subscriptionId)
        .subscriptions.subscriptions.get(subscriptionId);
      return { subscriptionId: found.subscriptionId ?? subscriptionId, tenantId: found.tenantId ?? "" };
    });
  }

  /** User-assigned identities of the subscription, or of one resource group. */
  async identities(subscriptionId: string, resourceGroup?: string): Promise<ObservedIdentity[]> {
    return wrap(async () => {
      const msi = this.clients.forSubscription(subscriptionId).msi;
      const pages = resourceGroup
        ? msi.userAssignedIdentities.listByResourceGroup(resourceGroup)
        : msi.userAssignedIdentities.listBySubscription();
      const found: ObservedIdentity[] = [];
      for await (const identity of pages) found.push(toObservedIdentity(identity));
      return found;
    });
  }

  async federatedCredentials(
    subscriptionId: string,
    resourceGroup: string,
    identityName: string,
  ): Promise<ObservedFederatedCredential[]> {
    return wrap(async () => {
      const msi = this.clients.forSubscription(subscriptionId).msi;
      const found: ObservedFederatedCredential[] = [];
      for await (const credential of msi.federatedIdentityCredentials.list(resourceGroup, identityName)) {
        found.push({
          name: credential.name ?? "",
          issuer: credential.issuer ?? "",
          subject: credential.subject ?? "",
          audiences: credential.audiences ?? [],
        });
      }
      return found;
    });
  }

  /** Resources with a managed identity (system- or user-assigned) in the subscription or group. */
  async identityBearingResources(
    subscriptionId: string,
    resourceGroup?: string,
  ): Promise<IdentityBearingResource[]> {
    return wrap(async () => {
      const resources = this.clients.forSubscription(subscriptionId).resources.resources;
      const pages = resourceGroup ? resources.listByResourceGroup(resourceGroup) : resources.list();
      const found: IdentityBearingResource[] = [];
      for await (const resource of pages) {
        const bearing = toBearing(resource);
        if (bearing) found.push(bearing);
      }
      return found;
    });
  }

  /** Every role assignment in the subscription: at it, below it, and inherited from above. */
  async roleAssignments(subscriptionId: string): Promise<ObservedRoleAssignment[]> {
    return wrap(async () => {
      const authorization = this.clients.forSubscription(subscriptionId).authorization;
      const found: ObservedRoleAssignment[] = [];
      for await (const assignment of authorization.roleAssignments.listForSubscription()) {
        found.push(toObservedAssignment(assignment));
      }
      return found;
    });
  }

  /** The Key Vaults of the subscription, with their tenant, mode and access policies. */
  async vaults(subscriptionId: string): Promise<ObservedVault[]> {
    return wrap(async () => {
      const found: ObservedVault[] = [];
      for await (const vault of this.clients
        .forSubscription(subscriptionId)
        .keyVault.vaults.listBySubscription()) {
        found.push(toObservedVault(vault));
      }
      return found;
    });
  }

  /** The custom role definitions of the subscription. */
  async customRoles(subscriptionId: string): Promise<ObservedRoleDefinition[]> {
    return wrap(async () => {
      const authorization = this.clients.forSubscription(subscriptionId).authorization;
      const found: ObservedRoleDefinition[] = [];
      for await (const definition of authorization.roleDefinitions.list(`/subscriptions/${subscriptionId}`, {
        filter: "type eq 'CustomRole'",
      })) {
        found.push(toObservedDefinition(definition));
      }
      return found;
    });
  }

  /** Graph app roles granted to a principal, read with the subscription's credential (its tenant). */
  async appRoleAssignments(
    subscriptionId: string,
    principalId: string,
  ): Promise<ObservedAppRoleAssignment[]> {
    const graph = this.clients.forSubscription(subscriptionId).graph;
    return (await graph.listAppRoleAssignments(principalId)).map(toObservedAppRoleAssignment);
  }

  async servicePrincipal(subscriptionId: string, objectId: string): Promise<ServicePrincipal> {
    return this.clients.forSubscription(subscriptionId).graph.getServicePrincipal(objectId);
  }
}

function toBearing(resource: GenericResourceExpanded): IdentityBearingResource | undefined {
  if (!resource.id || !resource.type || resource.type.toLowerCase() === USER_ASSIGNED_TYPE) return undefined;
  const identity = toResourceIdentity(resource.identity);
  if (!identity || identity.type.replace(/\s/g, "").toLowerCase() === "none") return undefined;
  return {
    id: resource.id,
    type: resource.type,
    ...(resource.location ? { location: resource.location } : {}),
    identity,
  };
}

async function wrap<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw toAzureError(error);
  }
}
