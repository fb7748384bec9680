// The conditions the namespace controller reports on a Terminating namespace, worded as
// kube-controller-manager words them (pkg/controller/namespace/deletion/status_condition_utils.go),
// so that `kubectl describe namespace` and clients see why a namespace is still there.
import type { JsonObject } from "../json.js";

interface ConditionText {
  type: string;
  okReason: string;
  okMessage: string;
}

const CONDITIONS: ConditionText[] = [
  {
    type: "NamespaceDeletionDiscoveryFailure",
    okReason: "ResourcesDiscovered",
    okMessage: "All resources successfully discovered",
  },
  {
    type: "NamespaceDeletionGroupVersionParsingFailure",
    okReason: "ParsedGroupVersions",
    okMessage: "All legacy kube types successfully parsed",
  },
  {
    type: "NamespaceDeletionContentFailure",
    okReason: "ContentDeleted",
    okMessage: "All content successfully deleted, may be waiting on finalization",
  },
  {
    type: "NamespaceContentRemaining",
    okReason: "ContentRemoved",
    okMessage: "All content successfully removed",
  },
  {
    type: "NamespaceFinalizersRemaining",
    okReason: "ContentHasNoFinalizers",
    okMessage: "All content-preserving finalizers finished",
  },
];

/** What is left in a deleting namespace: instances per resource, and per finalizer. */
export interface RemainingContent {
  resources: Map<string, number>;
  finalizers: Map<string, number>;
}

const sorted = (counts: Map<string, number>) => [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

/** The namespace's conditions for what remains; an unchanged condition keeps its transition time. */
export function namespaceConditions(
  remaining: RemainingContent,
  previous: JsonObject[],
  now: string,
): JsonObject[] {
  return CONDITIONS.map(({ type, okReason, okMessage }) => {
    let status = "False";
    let reason = okReason;
    let message = okMessage;
    if (type === "NamespaceContentRemaining" && remaining.resources.size > 0) {
      status = "True";
      reason = "SomeResourcesRemain";
      message = `Some resources are remaining: ${sorted(remaining.resources)
        .map(([resource, n]) => `${resource} has ${n} resource instances`)
        .join(", ")}`;
    }
    if (type === "NamespaceFinalizersRemaining" && remaining.finalizers.size > 0) {
      status = "True";
      reason = "SomeFinalizersRemain";
      message = `Some content in the namespace has finalizers remaining: ${sorted(remaining.finalizers)
        .map(([finalizer, n]) => `${finalizer} in ${n} resource instances`)
        .join(", ")}`;
    }
    const before = previous.find((c) => c.type === type);
    const lastTransitionTime =
      before && before.status === status && typeof before.lastTransitionTime === "string"
        ? before.lastTransitionTime
        : now;
    return { type, status, lastTransitionTime, reason, message };
  });
}
