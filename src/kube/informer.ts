import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../observability/logger.js";
import type { KubeClient, WatchEvent } from "./client.js";
import { KubeApiError } from "./errors.js";
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
  /** Secondary indexes of the cache (`byIndex`); `namespace` always exists. */
  indexers?: Readonly<Record<string, IndexFunc<T>>>;
  logger: Logger;
  /** Wait after a failed list or watch, doubling per consecutive failure (client-go: 800 ms to 30 s). */
  backoff?: { baseMs: number; capMs: number };
  /** Objects per list page. Default 500, as client-go. */
  pageSize?: number;
}

const DEFAULT_BACKOFF = { baseMs: 800, capMs: 30_000 };
/** A watch that ends this soon after it opened, having delivered nothing, counts as a failure. */
const SHORT_WATCH_MS = 1000;

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
  private started = false;
  private readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(private readonly options: InformerOptions<T>) {
    this.resource = options.resource;
    this.logger = options.logger.child({ informer: options.resource.plural });
    this.store = new IndexedStore(options.indexers);
    const scopes =
      options.resource.namespaced && options.namespaces && options.namespaces.length > 0
        ? [...new Set(options.namespaces)]
        : [undefined];
    this.reflectors = scopes.map((namespace) => new Reflector(this, namespace));
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

  /** @internal the reflectors' way in */
  get settings(): InformerOptions<T> {
    return this.options;
  }

  /** @internal */
  get log(): Logger {
    return this.logger;
  }

  /** @internal */
  reflectorSynced(): void {
    if (this.hasSynced()) this.markSynced();
  }

  /** @internal */
  apply(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void {
    if (type === "DELETED") {
      const previous = this.store.delete(object);
      if (previous) this.dispatch((handler) => handler.onDelete?.(object));
      return;
    }
    const previous = this.store.upsert(object);
    if (!previous) this.dispatch((handler) => handler.onAdd?.(object));
    else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
      this.dispatch((handler) => handler.onUpdate?.(previous, object));
    }
  }

  /** @internal a relist of one scope: what is gone was deleted while we were not watching. */
  replace(namespace: string | undefined, objects: T[]): void {
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

/** List and watch of one namespace (or of the whole cluster), feeding the informer. */
class Reflector<T extends KubeObject> {
  synced = false;
  connected = false;
  private resourceVersion = "";
  private stopped = false;
  private failures = 0;
  private running: Promise<void> | undefined;
  private request: Promise<AbortController> | undefined;
  private readonly wake = new AbortController();

  constructor(
    private readonly informer: Informer<T>,
    private readonly namespace: string | undefined,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    // client-node hands the watch's AbortController over only once the response headers arrived;
    // a watch still connecting is aborted when they do, without holding the stop up.
    void this.request?.then((request) => request.abort()).catch(() => undefined);
    await this.running;
  }

  private get logger(): Logger {
    return this.namespace === undefined
      ? this.informer.log
      : this.informer.log.child({ namespace: this.namespace });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        if (this.stopped) break;
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) break;
        this.connected = false;
        this.failures++;
        const delayMs = this.backoffMs();
        this.logger.warn({ err: describeError(err), delayMs }, "list/watch failed; retrying");
        await sleep(delayMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
      }
    }
  }

  private backoffMs(): number {
    const { baseMs, capMs } = this.informer.settings.backoff ?? DEFAULT_BACKOFF;
    const delay = Math.min(capMs, baseMs * 2 ** Math.min(this.failures - 1, 30));
    // Jitter so that replicas restarted together do not relist in step.
    return delay * (0.5 + Math.random() / 2);
  }

  private async relist(): Promise<void> {
    const { client, resource, labelSelector, pageSize } = this.informer.settings;
    const items: T[] = [];
    let resourceVersion = "";
    let token: string | undefined;
    do {
      const page = await client.list<T>(resource, {
        namespace: this.namespace,
        labelSelector,
        limit: pageSize ?? 500,
        continue: token,
      });
      items.push(...page.items);
      resourceVersion = page.resourceVersion;
      token = page.continue;
    } while (token && !this.stopped);
    if (this.stopped) return;
    this.informer.replace(this.namespace, items);
    this.resourceVersion = resourceVersion;
    this.connected = true;
    this.failures = 0;
    if (!this.synced) {
      this.synced = true;
      this.informer.reflectorSynced();
    }
    this.logger.debug({ objects: items.length, resourceVersion }, "listed");
  }

  /** One watch from the current resourceVersion; resolves when it ends in a way that calls for no backoff. */
  private watchOnce(): Promise<void> {
    const { client, resource, labelSelector } = this.informer.settings;
    const opened = Date.now();
    let delivered = false;
    /** An ERROR event other than 410, reported once the watch has ended. */
    let pending: unknown;
    return new Promise<void>((settle, fail) => {
      // Stopping ends the wait at once, even for a watch still waiting for the server's headers.
      const onStop = () => settle();
      this.wake.signal.addEventListener("abort", onStop, { once: true });
      const resolve = () => {
        this.wake.signal.removeEventListener("abort", onStop);
        settle();
      };
      const reject = (error: unknown) => {
        this.wake.signal.removeEventListener("abort", onStop);
        fail(error);
      };
      const onEvent = (event: WatchEvent) => {
        if (this.stopped) return;
        if (event.type === "ERROR") {
          const status = event.object;
          if (status.code === 410) {
            this.logger.info("watch history expired (410); relisting");
            this.resourceVersion = "";
            delivered = true;
          } else {
            pending = new KubeApiError(
              status.code ?? 500,
              status.reason ?? "Unknown",
              status.message ?? "watch error",
            );
          }
          this.request?.then((request) => request.abort()).catch(() => undefined);
          return;
        }
        delivered = true;
        this.failures = 0;
        this.connected = true;
        const rv = event.object.metadata?.resourceVersion;
        if (event.type !== "BOOKMARK") this.informer.apply(event.type, event.object as T);
        if (rv) this.resourceVersion = rv;
      };
      const onDone = (err: unknown) => {
        if (this.stopped) return resolve();
        const failure = pending ?? err;
        if (statusCodeOf(failure) === 410) {
          this.logger.info("watch history expired (410); relisting");
          this.resourceVersion = "";
          return resolve();
        }
        if (failure && !isTimeout(failure) && !(delivered && isAbort(failure))) return reject(failure);
        if (!delivered && Date.now() - opened < SHORT_WATCH_MS && !isTimeout(failure)) {
          return reject(new Error("the watch ended as soon as it opened"));
        }
        resolve();
      };
      this.request = client.watch(
        resource,
        {
          namespace: this.namespace,
          resourceVersion: this.resourceVersion,
          labelSelector,
          // The server ends each watch after 5 to 10 minutes, as client-go asks, to spread reconnects.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        },
        onEvent,
        onDone,
      );
      this.request.catch(reject);
    });
  }
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode === "number") return statusCode;
  return typeof code === "number" ? code : undefined;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === "TimeoutError";
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

function describeError(error: unknown): unknown {
  return error instanceof Error ? error : new Error(String(error));
}
