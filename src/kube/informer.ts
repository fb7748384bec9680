import type { Logger } from "../observability/logger.js";
import { StringPool, withoutBookkeeping } from "./cache-transform.js";
import type { KubeClient } from "./client.js";
import { Reflector } from "./reflector.js";
import type { KubeObject, ResourceType } from "./resources.js";
import { type CacheReader, IndexedStore, type IndexFunc, keyOfObject } from "./store.js";

/** Callbacks of an informer, called in the order the API server made the changes. */
export interface InformerHandler<T> {
  onAdd?(object: T): void;
  onUpdate?(previous: T, object: T): void;
  onDelete?(object: T): void;
}

export interface InformerOptions<T> {
  client: KubeClient;
  resource: ResourceType;
  /** Namespaces to watch, one list+watch each; absent or empty: the whole cluster. Ignored for cluster-scoped kinds. */
  namespaces?: readonly string[];
  labelSelector?: string;
  /** What the cache keeps of each object (after managedFields are dropped); default: all of it. */
  transform?: (object: KubeObject) => KubeObject;
  /** Secondary indexes of the cache (`byIndex`); `namespace` always exists. */
  indexers?: Readonly<Record<string, IndexFunc<T>>>;
  logger: Logger;
  /** Wait after a failed list or watch, doubling per consecutive failure (client-go: 800 ms to 30 s). */
  backoff?: { baseMs: number; capMs: number };
  /** Objects per list page. Default 500, as client-go. */
  pageSize?: number;
  /** Where cached objects' repeated strings are shared; default: one pool for all informers of the process. */
  strings?: StringPool;
}

const processStrings = new StringPool();

/**
 * client-go's shared informer for one kind: lists, then watches from the list's resourceVersion,
 * keeps an indexed local cache, and tells its handlers about every change in order. A dropped
 * watch resumes from the last resourceVersion seen; 410 Gone (history compacted) relists and
 * reports what the relist shows as added, updated and deleted. Errors back off and retry forever.
 */
export class Informer<T extends KubeObject = KubeObject> implements CacheReader<T> {
  readonly resource: ResourceType;
  private readonly store: IndexedStore<T>;
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly reflectors: Reflector<T>[];
  private readonly logger: Logger;
  private readonly strings: StringPool;
  private readonly transform: ((object: KubeObject) => KubeObject) | undefined;
  private started = false;
  private readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(options: InformerOptions<T>) {
    this.resource = options.resource;
    this.logger = options.logger.child({ informer: options.resource.plural });
    this.store = new IndexedStore(options.indexers);
    this.strings = options.strings ?? processStrings;
    this.transform = options.transform;
    const scopes =
      options.resource.namespaced && options.namespaces && options.namespaces.length > 0
        ? [...new Set(options.namespaces)]
        : [undefined];
    this.reflectors = scopes.map(
      (namespace) =>
        new Reflector<T>(
          {
            client: options.client,
            resource: options.resource,
            namespace,
            labelSelector: options.labelSelector,
            pageSize: options.pageSize,
            backoff: options.backoff,
            logger: namespace === undefined ? this.logger : this.logger.child({ namespace }),
          },
          {
            replace: (objects) => this.replace(namespace, objects),
            apply: (type, object) => this.apply(type, object),
            synced: () => {
              if (this.hasSynced()) this.markSynced();
            },
          },
        ),
    );
    this.synced = new Promise((resolve) => {
      this.markSynced = resolve;
    });
  }

  addHandler(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Starts listing and watching in the background; `waitForSync` tells when the cache is complete. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const reflector of this.reflectors) reflector.start();
  }

  /** Every namespace listed at least once: the cache holds the whole state the informer covers. */
  hasSynced(): boolean {
    return this.reflectors.every((reflector) => reflector.synced);
  }

  /** Resolves once synced; rejects when `signal` aborts first. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced()) return;
    if (!signal) return this.synced;
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      this.synced.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /** Why the cache has not synced: the last failure of a scope not listed yet (undefined when none failed). */
  syncFailure(): unknown {
    return this.reflectors.find((reflector) => !reflector.synced && reflector.lastError)?.lastError;
  }

  /** True unless a list or watch of some namespace is failing right now. */
  isConnected(): boolean {
    return this.reflectors.every((reflector) => reflector.connected);
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((reflector) => reflector.stop()));
  }

  get(namespace: string, name: string): T | undefined {
    return this.store.get(this.resource.namespaced ? namespace : "", name);
  }

  list(namespace?: string): T[] {
    return this.store.list(namespace);
  }

  byIndex(index: string, value: string): T[] {
    return this.store.byIndex(index, value);
  }

  get size(): number {
    return this.store.size;
  }

  private apply(type: "ADDED" | "MODIFIED" | "DELETED", received: T): void {
    const object = this.transform ? (this.transform(received) as T) : received;
    withoutBookkeeping(object);
    if (type === "DELETED") {
      const previous = this.store.delete(object);
      if (previous) this.dispatch((handler) => handler.onDelete?.(object));
      return;
    }
    this.strings.internValues(object);
    const previous = this.store.upsert(object);
    if (!previous) this.dispatch((handler) => handler.onAdd?.(object));
    else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
      this.dispatch((handler) => handler.onUpdate?.(previous, object));
    }
  }

  /** A relist of one scope: what is gone was deleted while nobody watched. */
  private replace(namespace: string | undefined, objects: T[]): void {
    const fresh = new Set(objects.map(keyOfObject));
    const inScope = namespace === undefined ? this.store.list() : this.store.list(namespace);
    for (const cached of inScope) {
      if (!fresh.has(keyOfObject(cached))) this.apply("DELETED", cached);
    }
    for (const object of objects) this.apply("ADDED", object);
  }

  private dispatch(call: (handler: InformerHandler<T>) => void): void {
    for (const handler of this.handlers) {
      try {
        call(handler);
      } catch (err) {
        this.logger.error({ err }, "an informer handler threw; the informer goes on");
      }
    }
  }
}
