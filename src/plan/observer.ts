// The planner's window on the observed state: each accessor returns what was read, or
// undefined when it was not read yet, in which case the read is added to the plan. A read that
// failed in this reconcile is not asked for again; its failure is kept for the status.
import { armIdKey } from "../api/arm-id.js";
import type { ReadAction, ResourceRef } from "./actions.js";
import * as build from "./build.js";
import {
  type ActionFailure,
  listingKey,
  type ObservedState,
  principalKey,
  roleNameKey,
  servicePrincipalKey,
  subscriptionKey,
} from "./observed.js";

export class Observer {
  readonly reads: ReadAction[] = [];
  readonly failures: ActionFailure[] = [];

  constructor(
    readonly observed: ObservedState,
    readonly owner: ResourceRef,
  ) {}

  private ask<T>(value: T | undefined, action: ReadAction): T | undefined {
    if (value !== undefined) return value;
    const failure = this.observed.failures[action.key];
    if (failure) {
      if (!this.failures.includes(failure)) this.failures.push(failure);
    } else if (!this.reads.some((read) => read.key === action.key)) {
      this.reads.push(action);
    }
    return undefined;
  }

  subscription(subscriptionId: string) {
    return this.ask(
      this.observed.subscriptions[subscriptionKey(subscriptionId)],
      build.readSubscription(this.owner, subscriptionId),
    );
  }

  identity(identityId: string) {
    return this.ask(
      this.observed.identities[armIdKey(identityId)],
      build.readIdentity(this.owner, identityId),
    );
  }

  federatedCredentials(identityId: string) {
    return this.ask(
      this.observed.federatedCredentials[armIdKey(identityId)],
      build.listFederatedCredentials(this.owner, identityId),
    );
  }

  roleAssignments(listingScope: string, principalId: string) {
    return this.ask(
      this.observed.roleAssignments[listingKey(listingScope, principalId)],
      build.listRoleAssignments(this.owner, listingScope, principalId),
    );
  }

  target(resourceId: string) {
    return this.ask(this.observed.targets[armIdKey(resourceId)], build.readTarget(this.owner, resourceId));
  }

  roleDefinition(subscriptionId: string, guid: string) {
    return this.ask(
      this.observed.roleDefinitions[guid.toLowerCase()],
      build.readRoleDefinition(this.owner, subscriptionId, guid),
    );
  }

  roleDefinitionsByName(subscriptionId: string, roleName: string) {
    return this.ask(
      this.observed.roleDefinitionsByName[roleNameKey(subscriptionId, roleName)],
      build.findRoleDefinitions(this.owner, subscriptionId, roleName),
    );
  }

  servicePrincipal(tenantId: string, appId: string) {
    return this.ask(
      this.observed.servicePrincipals[servicePrincipalKey(tenantId, appId)],
      build.readServicePrincipal(this.owner, tenantId, appId),
    );
  }

  appRoleAssignments(tenantId: string, principalId: string) {
    return this.ask(
      this.observed.appRoleAssignments[principalKey(principalId)],
      build.listAppRoleAssignments(this.owner, tenantId, principalId),
    );
  }

  vault(vaultId: string) {
    return this.ask(this.observed.vaults[armIdKey(vaultId)], build.readVault(this.owner, vaultId));
  }

  /** The failure of a write planned earlier in this reconcile, if it failed. */
  failureOf(key: string): ActionFailure | undefined {
    return this.observed.failures[key];
  }
}
