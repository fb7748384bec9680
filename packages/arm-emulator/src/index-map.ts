// A two-level index (bucket -> id -> value), as the stores keep resources by group and subscription.

export type IndexMap<T> = Map<string, Map<string, T>>;

export function addTo<T>(index: IndexMap<T>, bucket: string, id: string, value: T): void {
  let inner = index.get(bucket);
  if (!inner) {
    inner = new Map();
    index.set(bucket, inner);
  }
  inner.set(id, value);
}

/** Removes the entry, and the bucket once it is empty. */
export function removeFrom<T>(index: IndexMap<T>, bucket: string, id: string): void {
  const inner = index.get(bucket);
  inner?.delete(id);
  if (inner && inner.size === 0) index.delete(bucket);
}
