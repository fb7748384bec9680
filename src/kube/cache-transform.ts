import type { KubeObject } from "./resources.js";

// What an informer keeps of each object the API server sends. The caches hold every watched object
// for the life of the process, so the size of one cached object, times the number of objects, is
// most of the controller's memory (as controller-runtime's cache transforms exist for).

/** kubectl's client-side apply (and GitOps tools using it) keeps a copy of the whole object here. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * Drops metadata.managedFields and kubectl's last-applied copy (as controller-runtime's
 * TransformStripManagedFields): azid never reads them, and each is about as large as the rest of
 * a cached identity. A status PUT without them leaves the server's as they are (the status
 * subresource ignores changes outside the status). The metadata is rebuilt rather than `delete`d
 * from: V8 turns an object it deletes from into a hash table about three times its size.
 */
export function withoutBookkeeping(object: KubeObject): void {
  const metadata = object.metadata;
  if (!metadata) return;
  const lastApplied = metadata.annotations?.[LAST_APPLIED];
  if (metadata.managedFields === undefined && lastApplied === undefined) return;
  const { managedFields: _fields, ...kept } = metadata;
  if (lastApplied !== undefined && kept.annotations) {
    const { [LAST_APPLIED]: _copy, ...annotations } = kept.annotations;
    kept.annotations = annotations;
  }
  object.metadata = kept;
}

/** Strings longer than this are rarely shared between objects (scripts, certificates, JSON blobs). */
const MAX_POOLED_LENGTH = 256;

/**
 * One copy of each string value that many cached objects carry: apiVersion and kind, namespaces,
 * finalizers, label values, and the types, reasons and messages of azid's own conditions. Every
 * object decoded from a watch event holds fresh copies of all of them (10,000 identities hold
 * 40,000 copies of "NothingDeclared"). Sharing them is safe: strings are immutable.
 *
 * The pool is bounded: when full it starts over, so strings that are unique to one object (uids,
 * names, timestamps) cannot grow it, and the shared ones are back after the next few objects.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();

  constructor(private readonly maxEntries = 8192) {}

  /** Replaces, in place, every string value of a decoded JSON object by its pooled copy. */
  internValues(value: unknown): void {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (typeof item === "string") value[i] = this.intern(item);
        else if (typeof item === "object" && item !== null) this.internValues(item);
      }
      return;
    }
    if (typeof value !== "object" || value === null) return;
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const item = record[key];
      if (typeof item === "string") record[key] = this.intern(item);
      else if (typeof item === "object" && item !== null) this.internValues(item);
    }
  }

  intern(value: string): string {
    if (value.length > MAX_POOLED_LENGTH) return value;
    const pooled = this.pool.get(value);
    if (pooled !== undefined) return pooled;
    if (this.pool.size >= this.maxEntries) this.pool.clear();
    this.pool.set(value, value);
    return value;
  }

  get size(): number {
    return this.pool.size;
  }
}
