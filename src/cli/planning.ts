// A whole plan for the resources of one subscription: Azure read (reads only), then every
// resource's planner run to its fixpoint against an Azure where each write succeeds, in repair
// order, with the floor time ARM's buckets force on it.

import type { ClusterIssuer } from "../api/workload-identity.js";
import { plannerOf } from "../engine/kinds.js";
import { type Observation, observeForPlan } from "../engine/observe-for-plan.js";
import type { ObservedSubscription } from "../plan/observed.js";
import { emptyObserved, subscriptionKey } from "../plan/observed.js";
import type { PolicyDecision } from "../plan/policy.js";
import { planRemediation, type RemediationInput, type RemediationPlan } from "../plan/remediation.js";
import type { AzureSession } from "./azure-session.js";
import { type ManagedResource, resourceKey } from "./manifests.js";
import type { StateStore } from "./state-file.js";

export interface SubscriptionPlan {
  subscription: ObservedSubscription;
  input: RemediationInput;
  observation: Observation;
  plan: RemediationPlan;
}

export interface PlanningOptions {
  decide: (resource: ManagedResource) => PolicyDecision;
  /** Unset: every tenant move is repaired (remediate). */
  allowTenantRepair?: (resource: ManagedResource) => boolean;
  state: StateStore;
  /** The cluster's service-account issuer, for the serviceAccounts' federated credentials. */
  serviceAccountIssuer?: ClusterIssuer;
}

export async function planSubscription(
  session: AzureSession,
  subscription: ObservedSubscription,
  resources: readonly ManagedResource[],
  options: PlanningOptions,
): Promise<SubscriptionPlan> {
  // Each resource as the controller would see it: with the status the last run recorded.
  const withStatus = <R extends ManagedResource>(resource: R): R => {
    const status = options.state.status(resourceKey(resource));
    return status === undefined ? resource : ({ ...resource, status } as R);
  };
  const observed = emptyObserved();
  observed.subscriptions[subscriptionKey(subscription.subscriptionId)] = subscription;
  const input: RemediationInput = {
    subscriptionId: subscription.subscriptionId,
    declared: {
      userAssigned: resources.filter((r) => r.kind === "UserAssignedIdentity").map(withStatus),
      systemAssigned: resources.filter((r) => r.kind === "SystemAssignedIdentity").map(withStatus),
      customRoles: resources.filter((r) => r.kind === "CustomRole").map(withStatus),
    },
    observed,
    now: new Date().toISOString(),
    policy: options.decide,
    plannerOf,
    ...(options.allowTenantRepair ? { allowTenantRepair: options.allowTenantRepair } : {}),
    ...(options.serviceAccountIssuer ? { serviceAccountIssuer: options.serviceAccountIssuer } : {}),
  };
  const observation = await observeForPlan(input, session.executor);
  const planned = { ...input, observed: observation.observed };
  return { subscription, input: planned, observation, plan: planRemediation(planned) };
}
