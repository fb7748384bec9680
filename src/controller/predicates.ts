// Which updates of a watched object enqueue it (controller-runtime's predicates): small named
// tests of a change that compose. Adds and deletes always enqueue; a predicate sees updates only.

import type { KubeObject } from "../kube/resources.js";
import { sameJson } from "../kube/status.js";

/** Whether the update from `before` to `after` should reconcile the object. */
export type UpdatePredicate = (before: KubeObject, after: KubeObject) => boolean;

/** True when anything changed besides the status and bookkeeping (the controller's own status writes change nothing else). */
export const changedBesidesStatus: UpdatePredicate = (before, after) =>
  !sameJson(withoutStatus(before), withoutStatus(after));

/** True when the spec changed: the API server moved metadata.generation. */
export const generationChanged: UpdatePredicate = (before, after) =>
  before.metadata?.generation !== after.metadata?.generation;

/** True when labels or annotations changed (an approval annotation, say). */
export const labelsOrAnnotationsChanged: UpdatePredicate = (before, after) =>
  !sameJson(before.metadata?.labels ?? {}, after.metadata?.labels ?? {}) ||
  !sameJson(before.metadata?.annotations ?? {}, after.metadata?.annotations ?? {});

/** True when the finalizers changed or deletion started. */
export const finalizersOrDeletionChanged: UpdatePredicate = (before, after) =>
  !sameJson(before.metadata?.finalizers ?? [], after.metadata?.finalizers ?? []) ||
  before.metadata?.deletionTimestamp !== after.metadata?.deletionTimestamp;

/** True when any of `predicates` is. */
export const anyOf =
  (...predicates: UpdatePredicate[]): UpdatePredicate =>
  (before, after) =>
    predicates.some((predicate) => predicate(before, after));

/** True when every one of `predicates` is. */
export const allOf =
  (...predicates: UpdatePredicate[]): UpdatePredicate =>
  (before, after) =>
    predicates.every((predicate) => predicate(before, after));

/**
 * The manager's default: every change but the controller's own status writes. The finalizer a
 * first reconcile adds counts as a change: that reconcile returns after adding it, and its echo
 * is the reconcile that acts.
 */
export const DEFAULT_PREDICATE: UpdatePredicate = changedBesidesStatus;

function withoutStatus(object: KubeObject): unknown {
  const { status: _status, metadata, ...rest } = object;
  const { resourceVersion: _rv, managedFields: _fields, ...meta } = metadata ?? {};
  return { ...rest, metadata: meta };
}
