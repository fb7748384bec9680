import { cacheKey, type KubeObject } from "./resources.js";

/** Values an object is found under in one index (client-go's IndexFunc). */
export type IndexFunc<T> = (object: T) => readonly string[];

/** The index every store has: objects by namespace ("" for cluster-scoped ones). */
export const NAMESPACE_INDEX = "namespace";

/** What reconcilers read: the informer's local copy of the cluster, never a request to the API server. */
export interface CacheReader<T extends KubeObject = KubeObject> {
  get(namespace: string, name: string): T | undefined;
  /** Every object, or those of one namespace. */
  list(namespace?: string): T[];
  byIndex(index: string, value: string): T[];
}

/** Objects by `namespace/name`, with secondary indexes kept up to date on every change. */
export class IndexedStore<T extends KubeObject> implements CacheReader<T> {
  private readonly objects = new Map<string, T>();
  private readonly indexFuncs: Map<string, IndexFunc<T>>;
  /** index name -> indexed value -> cache keys */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Readonly<Record<string, IndexFunc<T>>> = {}) {
    this.indexFuncs = new Map(Object.entries(indexers));
    this.indexFuncs.set(NAMESPACE_INDEX, (object) => [object.metadata?.namespace ?? ""]);
    for (const name of this.indexFuncs.keys()) this.indexes.set(name, new Map());
  }

  get size(): number {
    return this.objects.size;
  }

  get(namespace: string, name: string): T | undefined {
    return this.objects.get(cacheKey(namespace, name));
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.objects.values()];
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  byIndex(index: string, value: string): T[] {
    const values = this.indexes.get(index);
    if (!values) throw new Error(`no index named ${index}`);
    const keys = values.get(value);
    if (!keys) return [];
    return [...keys].map((key) => this.objects.get(key)!).filter((object) => object !== undefined);
  }

  /** Stores the object; returns the one it replaced. */
  upsert(object: T): T | undefined {
    const key = keyOfObject(object);
    const previous = this.objects.get(key);
    if (previous) this.unindex(key, previous);
    this.objects.set(key, object);
    this.index(key, object);
    return previous;
  }

  /** Removes the object; returns what was stored. */
  delete(object: T): T | undefined {
    const key = keyOfObject(object);
    const previous = this.objects.get(key);
    if (!previous) return undefined;
    this.unindex(key, previous);
    this.objects.delete(key);
    return previous;
  }

  private index(key: string, object: T): void {
    for (const [name, func] of this.indexFuncs) {
      const values = this.indexes.get(name)!;
      for (const value of safeIndexValues(func, object)) {
        let keys = values.get(value);
        if (!keys) {
          keys = new Set();
          values.set(value, keys);
        }
        keys.add(key);
      }
    }
  }

  private unindex(key: string, object: T): void {
    for (const [name, func] of this.indexFuncs) {
      const values = this.indexes.get(name)!;
      for (const value of safeIndexValues(func, object)) {
        const keys = values.get(value);
        keys?.delete(key);
        if (keys?.size === 0) values.delete(value);
      }
    }
  }
}

export function keyOfObject(object: KubeObject): string {
  return cacheKey(object.metadata?.namespace, object.metadata?.name ?? "");
}

/** An index function that throws on a malformed object indexes it nowhere rather than breaking the cache. */
function safeIndexValues<T>(func: IndexFunc<T>, object: T): readonly string[] {
  try {
    return [...new Set(func(object))];
  } catch {
    return [];
  }
}
