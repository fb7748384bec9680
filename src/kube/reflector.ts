import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../observability/logger.js";
import type { KubeClient, WatchEvent } from "./client.js";
import { KubeApiError, KubeError } from "./errors.js";
import type { KubeObject, ResourceType } from "./resources.js";

export interface ReflectorOptions {
  client: KubeClient;
  resource: ResourceType;
  /** One namespace, or (undefined) the whole cluster. */
  namespace: string | undefined;
  labelSelector?: string;
  pageSize?: number;
  backoff?: { baseMs: number; capMs: number };
  logger: Logger;
}

/** Where a reflector puts what it learns: the informer's cache. */
export interface ReflectorSink<T> {
  /** A complete list of the reflector's scope. */
  replace(objects: T[]): void;
  apply(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void;
  /** The first list is in. */
  synced(): void;
}

const DEFAULT_BACKOFF = { baseMs: 800, capMs: 30_000 };
/** A watch that ends this soon after it opened, having delivered nothing, counts as a failure. */
const SHORT_WATCH_MS = 1000;

/**
 * client-go's reflector: lists one namespace (or the whole cluster) page by page, then watches from
 * the list's resourceVersion, and hands every change to the sink in order. A watch that ends is
 * resumed from the last resourceVersion seen; 410 Gone relists; errors back off, forever.
 */
export class Reflector<T extends KubeObject> {
  synced = false;
  connected = false;
  /** The last list or watch failure, until a list succeeds: what a caller stuck waiting for sync reports. */
  lastError: unknown;
  private resourceVersion = "";
  private stopped = false;
  private failures = 0;
  private running: Promise<void> | undefined;
  private request: Promise<AbortController> | undefined;
  private readonly wake = new AbortController();

  constructor(
    private readonly options: ReflectorOptions,
    private readonly sink: ReflectorSink<T>,
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
    return this.options.logger;
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
        this.lastError = err;
        this.failures++;
        const delayMs = this.backoffMs();
        this.logger.warn({ err: describeError(err), delayMs }, "list/watch failed; retrying");
        await sleep(delayMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
      }
    }
  }

  private backoffMs(): number {
    const { baseMs, capMs } = this.options.backoff ?? DEFAULT_BACKOFF;
    const delay = Math.min(capMs, baseMs * 2 ** Math.min(this.failures - 1, 30));
    // Jitter so that replicas restarted together do not relist in step.
    return delay * (0.5 + Math.random() / 2);
  }

  private async relist(): Promise<void> {
    const { client, resource, labelSelector, pageSize, namespace } = this.options;
    const items: T[] = [];
    let resourceVersion = "";
    let token: string | undefined;
    do {
      const page = await client.list<T>(resource, {
        namespace,
        labelSelector,
        limit: pageSize ?? 500,
        continue: token,
      });
      items.push(...page.items);
      resourceVersion = page.resourceVersion;
      token = page.continue;
    } while (token && !this.stopped);
    if (this.stopped) return;
    this.sink.replace(items);
    this.resourceVersion = resourceVersion;
    this.connected = true;
    this.failures = 0;
    this.lastError = undefined;
    if (!this.synced) {
      this.synced = true;
      this.sink.synced();
    }
    this.logger.debug({ objects: items.length, resourceVersion }, "listed");
  }

  /** One watch from the current resourceVersion; resolves when it ends in a way that calls for no backoff. */
  private watchOnce(): Promise<void> {
    const { client, resource, labelSelector, namespace } = this.options;
    const opened = Date.now();
    let delivered = false;
    /** An ERROR event other than 410, reported once the watch has ended. */
    let pending: unknown;
    return new Promise<void>((settle, fail) => {
      // Stopping ends the wait at once, even for a watch still waiting for the server's headers.
      const onStop = () => settle();
      this.wake.signal.addEventListener("abort", onStop, { once: true });
      let ended = false;
      const resolve = () => {
        ended = true;
        this.wake.signal.removeEventListener("abort", onStop);
        settle();
      };
      const reject = (error: unknown) => {
        ended = true;
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
        if (event.type !== "BOOKMARK") this.sink.apply(event.type, event.object as T);
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
          return reject(new KubeError("WatchClosed", "the watch ended as soon as it opened"));
        }
        resolve();
      };
      this.request = client.watch(
        resource,
        {
          namespace,
          resourceVersion: this.resourceVersion,
          labelSelector,
          // The server ends each watch after 5 to 10 minutes, as client-go asks, to spread reconnects.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        },
        onEvent,
        onDone,
      );
      // The server accepted the watch (client-node resolves once the response began).
      this.request.then(() => {
        if (!ended) this.connected = true;
      }, reject);
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
