// Small facts about declared resources that several commands need.
import { parseResourceId } from "../api/arm-id.js";
import type { ManagedResource } from "./manifests.js";

/** The subscription a resource lives in (its credential makes the resource's calls). */
export function subscriptionOfResource(resource: ManagedResource): string {
  switch (resource.kind) {
    case "UserAssignedIdentity":
    case "CustomRole":
      return resource.spec.subscriptionId.toLowerCase();
    case "SystemAssignedIdentity":
      return parseResourceId(resource.spec.resourceId).subscriptionId.toLowerCase();
  }
}

/** The declared resources grouped by subscription, in their order. */
export function bySubscription(resources: readonly ManagedResource[]): Map<string, ManagedResource[]> {
  const groups = new Map<string, ManagedResource[]>();
  for (const resource of resources) {
    const subscription = subscriptionOfResource(resource);
    groups.set(subscription, [...(groups.get(subscription) ?? []), resource]);
  }
  return groups;
}
