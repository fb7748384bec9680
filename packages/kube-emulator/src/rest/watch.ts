// WATCH: a chunked stream of {"type","object"} lines (the watch cache's cacheWatcher):
// initial ADDED events or the history after a resourceVersion, selector filtering with
// ADDED/DELETED on selector transitions, bookmarks on request, the initial-events-end
// bookmark, timeoutSeconds, and 410 Expired for a resourceVersion the history has lost.
import type { ServerResponse } from "node:http";
import { badRequest, expired, fieldErrors, invalid, tooLargeResourceVersion } from "../errors.js";
import type { JsonObject } from "../json.js";
import type { StoredObject, StoreEvent, WatchSink } from "../storage/resource-store.js";
import { Storage } from "../storage/storage.js";
import { queryBool, queryOptionalBool } from "./query-bool.js";
import { type ListQuery, type Matcher, makeMatcher, parseResourceVersion } from "./read.js";
import { apiVersionOf, encodeStored, type RequestScope, storeOf } from "./scope.js";
import { type TableOptions, tableJson } from "./table.js";

export interface WatchQuery extends ListQuery {
  allowWatchBookmarks?: string;
  timeoutSeconds?: string;
  sendInitialEvents?: string;
}

export interface WatchSettings {
  /** How often bookmarks are sent when asked for (the API server sends one about every minute). */
  bookmarkIntervalMs: number;
  /** A watcher whose unsent output exceeds this is closed, as the API server drops unresponsive watchers. */
  maxBufferedBytes: number;
  /** Server-side printing, when the client asked for Tables. */
  table?: TableOptions;
}

const PRE_TIMEOUT_BOOKMARK_MS = 2000;

const LIST_OPTIONS = { group: "meta.k8s.io", kind: "ListOptions" };

type EventType = "ADDED" | "MODIFIED" | "DELETED";

interface WatchPlan {
  initial: StoredObject[];
  history: StoreEvent[];
  initialEventsEnd: boolean;
  expiredAt?: number;
}

/** Validates the query and decides what the stream starts with; errors here are plain HTTP errors. */
function plan(scope: RequestScope, query: WatchQuery, matcher: Matcher, bookmarks: boolean): WatchPlan {
  const store = storeOf(scope);
  const current = scope.ctx.storage.resourceVersion;
  const rv = parseResourceVersion(query.resourceVersion);
  const sendInitial = queryOptionalBool(query.sendInitialEvents);
  if (sendInitial !== undefined) {
    const errors = [];
    if (query.resourceVersionMatch !== "NotOlderThan") {
      errors.push(
        fieldErrors.forbidden(
          "resourceVersionMatch",
          "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ),
      );
    }
    if (sendInitial && !bookmarks) {
      errors.push(
        fieldErrors.forbidden(
          "allowWatchBookmarks",
          "sendInitialEvents requires setting allowWatchBookmarks to true",
        ),
      );
    }
    if (errors.length > 0) throw invalid(LIST_OPTIONS, "", errors);
  } else if (query.resourceVersionMatch) {
    throw badRequest("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided");
  }
  if (rv !== undefined && rv > current) throw tooLargeResourceVersion(rv, current);
  const snapshot = (): StoredObject[] => {
    const namespace = scope.type.namespaced && scope.namespace ? scope.namespace : undefined;
    const out: StoredObject[] = [];
    for (const stored of store.scan(namespace)) if (matcher.matches(stored)) out.push(stored);
    return out;
  };
  if (sendInitial === true) return { initial: snapshot(), history: [], initialEventsEnd: true };
  if (sendInitial === false && (rv === undefined || rv === 0))
    return { initial: [], history: [], initialEventsEnd: false };
  if (rv === undefined || rv === 0) return { initial: snapshot(), history: [], initialEventsEnd: false };
  const answer = store.eventsAfter(rv);
  if ("expiredAt" in answer)
    return { initial: [], history: [], initialEventsEnd: false, expiredAt: answer.expiredAt };
  return { initial: [], history: answer.events, initialEventsEnd: false };
}

export class WatchStream implements WatchSink {
  private closed = false;
  private headersSent = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private preTimeoutBookmark: NodeJS.Timeout | undefined;
  private readonly apiVersion: string;

  constructor(
    private readonly scope: RequestScope,
    private readonly res: ServerResponse,
    private readonly matcher: Matcher,
    private readonly settings: WatchSettings,
    private readonly bookmarks: boolean,
    private readonly requestedRv: string,
    private readonly onClose: (stream: WatchStream) => void,
  ) {
    this.apiVersion = apiVersionOf(scope);
  }

  deliver(event: StoreEvent): void {
    if (this.closed) return;
    const passes = event.type !== "DELETED" && this.matcher.matches(event.object);
    const passed = event.prev !== undefined && this.matcher.matches(event.prev);
    if (passes && passed) this.sendEvent(event, "MODIFIED");
    else if (passes) this.sendEvent(event, "ADDED");
    else if (passed) this.sendDeleted(event);
  }

  terminate(abrupt: boolean): void {
    if (this.closed) return;
    if (abrupt) {
      this.close();
      this.res.destroy();
    } else {
      this.close();
      this.res.end();
    }
  }

  start(plan: WatchPlan, timeoutSeconds: number | undefined): void {
    this.res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "X-Content-Type-Options": "nosniff",
    });
    // Headers go out at once: client-node's informer waits for them before it reports started.
    this.res.flushHeaders();
    this.res.on("close", () => this.close());
    if (plan.expiredAt !== undefined) {
      const status = expired(`too old resource version: ${this.requestedRv} (${plan.expiredAt})`).toStatus();
      this.write(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
      this.close();
      this.res.end();
      return;
    }
    for (const stored of plan.initial) this.write(this.line("ADDED", stored));
    if (plan.initialEventsEnd) this.sendBookmark({ "k8s.io/initial-events-end": "true" });
    for (const event of plan.history) this.deliver(event);
    if (this.bookmarks) {
      this.bookmarkTimer = setInterval(() => this.sendBookmark(), this.settings.bookmarkIntervalMs);
      this.bookmarkTimer.unref();
    }
    if (timeoutSeconds !== undefined && timeoutSeconds > 0) {
      this.timeoutTimer = setTimeout(() => this.terminate(false), timeoutSeconds * 1000);
      this.timeoutTimer.unref();
      // The cacher sends a bookmark 2 s before the deadline, so that a client resumes the next
      // watch from a recent resourceVersion rather than relisting (cacheWatcher.nextBookmarkTime).
      const preTimeoutMs = timeoutSeconds * 1000 - PRE_TIMEOUT_BOOKMARK_MS;
      if (this.bookmarks && preTimeoutMs > 0) {
        this.preTimeoutBookmark = setTimeout(() => this.sendBookmark(), preTimeoutMs);
        this.preTimeoutBookmark.unref();
      }
    }
  }

  private sendEvent(event: StoreEvent, type: EventType): void {
    if (this.settings.table) {
      this.write(this.line(type, event.object));
      return;
    }
    const key = `${type}|${this.apiVersion}`;
    let line = event.lines.get(key);
    if (line === undefined) {
      line = this.line(type, event.object);
      event.lines.set(key, line);
    }
    this.write(line);
  }

  /** A DELETED event: the object's last state, or its previous state when it left the selector. */
  private sendDeleted(event: StoreEvent): void {
    if (event.type === "DELETED") {
      this.sendEvent(event, "DELETED");
      return;
    }
    const previous = structuredClone(event.prev!.object);
    (previous.metadata as JsonObject).resourceVersion = String(event.rv);
    this.write(this.line("DELETED", Storage.stored(previous, event.rv)));
  }

  private line(type: EventType, stored: StoredObject): string {
    let object: string;
    if (this.settings.table) {
      object = tableJson(
        this.scope,
        [stored],
        { resourceVersion: String(stored.rv) },
        { ...this.settings.table, noHeaders: this.headersSent },
      );
      this.headersSent = true;
    } else {
      object = encodeStored(this.scope, stored);
    }
    return `{"type":"${type}","object":${object}}\n`;
  }

  private sendBookmark(annotations?: Record<string, string>): void {
    const metadata: JsonObject = { resourceVersion: String(this.scope.ctx.storage.resourceVersion) };
    if (annotations) metadata.annotations = annotations;
    const object = { kind: this.scope.type.kind, apiVersion: this.apiVersion, metadata };
    this.write(`{"type":"BOOKMARK","object":${JSON.stringify(object)}}\n`);
  }

  private write(line: string): void {
    if (this.closed) return;
    this.res.write(line);
    if (this.res.writableLength > this.settings.maxBufferedBytes) this.terminate(true);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.bookmarkTimer);
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.preTimeoutBookmark);
    this.onClose(this);
  }
}

/** Starts a watch on the response; throws (before any byte is written) for a bad request. */
export function startWatch(
  scope: RequestScope,
  res: ServerResponse,
  query: WatchQuery,
  settings: WatchSettings,
): WatchStream {
  const matcher = makeMatcher(scope, query.labelSelector, query.fieldSelector);
  const bookmarks = queryBool(query.allowWatchBookmarks);
  const timeout = query.timeoutSeconds === undefined ? undefined : Number(query.timeoutSeconds);
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0)) {
    throw badRequest(`invalid timeoutSeconds: ${query.timeoutSeconds}`);
  }
  const watchPlan = plan(scope, query, matcher, bookmarks);
  const store = storeOf(scope);
  const requestedRv = query.resourceVersion ?? "";
  const stream = new WatchStream(scope, res, matcher, settings, bookmarks, requestedRv, (s) =>
    store.watchers.delete(s),
  );
  store.watchers.add(stream);
  stream.start(watchPlan, timeout);
  return stream;
}
