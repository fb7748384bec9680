// Small facts about declared resources that several commands need.
import { type ManagedResource, subscriptionOfResource } from "../api/managed-resource.js";

export { subscriptionOfResource };

/** The declared resources grouped by subscription, in their order. */
export function bySubscription(resources: readonly ManagedResource[]): Map<string, ManagedResource[]> {
  const groups = new Map<string, ManagedResource[]>();
  for (const resource of resources) {
    const subscription = subscriptionOfResource(resource);
    groups.set(subscription, [...(groups.get(subscription) ?? []), resource]);
  }
  return groups;
}
