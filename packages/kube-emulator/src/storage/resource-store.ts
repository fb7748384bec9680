// The objects of one stored resource (like one etcd prefix plus its watch cache): a map by
// key, sorted key indexes for lists, a bounded history of events for watches and
// consistent continue tokens, and the watchers to fan events out to.
import type { JsonObject } from "../json.js";
import { RingBuffer } from "./ring-buffer.js";
import { SortedKeys } from "./sorted-keys.js";

/** An object as stored: never mutated, serialised once. */
export interface StoredObject {
  readonly object: JsonObject;
  readonly json: string;
  readonly rv: number;
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** Encodings for other API versions or views, made once and shared by every reader. */
  readonly encodings: Map<string, string>;
}

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  readonly type: EventType;
  readonly rv: number;
  /** For DELETED, the last state of the object carrying the deletion's resourceVersion. */
  readonly object: StoredObject;
  readonly prev: StoredObject | undefined;
  /** Watch lines made from this event, by encoding, so that each is serialised once for all watchers. */
  readonly lines: Map<string, string>;
}

/** Something that receives every event of a store (a watch connection). */
export interface WatchSink {
  deliver(event: StoreEvent): void;
  /** Ends the watch: the store is going away, or an admin dropped watches. */
  terminate(abrupt: boolean): void;
}

export type HistoryAnswer = { events: StoreEvent[] } | { expiredAt: number };

export class ResourceStore {
  private readonly objects = new Map<string, StoredObject>();
  private readonly all = new SortedKeys();
  private readonly byNamespace = new Map<string, SortedKeys>();
  private readonly history: RingBuffer<StoreEvent>;
  /** Every event after this resourceVersion is in the history until the first eviction. */
  private historyStart: number;
  /** The resourceVersion of the last event the history dropped, once it has dropped one. */
  private lastEvicted: number | undefined;
  readonly watchers = new Set<WatchSink>();

  constructor(
    readonly id: string,
    readonly namespaced: boolean,
    historyCapacity: number,
    startRv: number,
  ) {
    this.history = new RingBuffer(historyCapacity);
    this.historyStart = startRv;
  }

  get size(): number {
    return this.objects.size;
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  namespaceSize(namespace: string): number {
    return this.byNamespace.get(namespace)?.size ?? 0;
  }

  /** Current objects in key order, optionally in one namespace and after a key. */
  *scan(namespace?: string, afterKey?: string): Generator<StoredObject> {
    const keys = namespace === undefined ? this.all : this.byNamespace.get(namespace);
    if (!keys) return;
    for (const key of keys.from(afterKey)) yield this.objects.get(key)!;
  }

  /** How many current objects come after a key, optionally in one namespace. */
  countAfter(namespace?: string, afterKey?: string): number {
    const keys = namespace === undefined ? this.all : this.byNamespace.get(namespace);
    return keys ? keys.countAfter(afterKey) : 0;
  }

  /** Loads an object without an event (state restored at start-up). */
  load(stored: StoredObject): void {
    this.index(stored);
  }

  commit(event: StoreEvent): void {
    if (event.type === "DELETED") this.unindex(event.object);
    else this.index(event.object);
    const evicted = this.history.push(event);
    if (evicted) this.lastEvicted = evicted.rv;
    for (const watcher of this.watchers) watcher.deliver(event);
  }

  /** The lowest resourceVersion a watch may start from (the watch cache's "oldest - 1"). */
  oldestWatchable(): number {
    if (this.lastEvicted === undefined) return this.historyStart;
    const first = this.history.first();
    return first ? first.rv - 1 : this.lastEvicted;
  }

  /** Events after `rv` in order, or the resourceVersion the history now starts at. */
  eventsAfter(rv: number): HistoryAnswer {
    const oldest = this.oldestWatchable();
    if (rv < oldest) return { expiredAt: oldest };
    const events: StoreEvent[] = [];
    for (let i = this.history.size - 1; i >= 0; i--) {
      const event = this.history.at(i);
      if (event.rv <= rv) break;
      events.push(event);
    }
    return { events: events.reverse() };
  }

  /**
   * The objects as they were at `rv` (for a continue token), in key order after `afterKey`;
   * undefined when the history no longer reaches back that far.
   */
  snapshotAt(
    rv: number,
    namespace: string | undefined,
    afterKey: string | undefined,
  ): StoredObject[] | undefined {
    const answer = this.eventsAfter(rv);
    if ("expiredAt" in answer) return undefined;
    const before = new Map<string, StoredObject | null>();
    for (let i = answer.events.length - 1; i >= 0; i--) {
      const event = answer.events[i]!;
      before.set(event.object.key, event.type === "ADDED" ? null : (event.prev ?? null));
    }
    const out: StoredObject[] = [];
    for (const stored of this.scan(namespace, afterKey)) if (!before.has(stored.key)) out.push(stored);
    for (const [key, stored] of before) {
      if (stored === null) continue;
      if (namespace !== undefined && stored.namespace !== namespace) continue;
      if (afterKey !== undefined && key <= afterKey) continue;
      out.push(stored);
    }
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  /** Empties the history (and optionally resizes it): watches from before `currentRv` get 410. */
  compactHistory(currentRv: number, capacity?: number): void {
    if (capacity !== undefined) this.history.resize(capacity);
    this.history.clear();
    this.historyStart = currentRv;
    this.lastEvicted = undefined;
  }

  terminateWatchers(abrupt: boolean): void {
    for (const watcher of [...this.watchers]) watcher.terminate(abrupt);
    this.watchers.clear();
  }

  private index(stored: StoredObject): void {
    const existed = this.objects.has(stored.key);
    this.objects.set(stored.key, stored);
    if (existed) return;
    this.all.insert(stored.key);
    if (this.namespaced) {
      let keys = this.byNamespace.get(stored.namespace);
      if (!keys) {
        keys = new SortedKeys();
        this.byNamespace.set(stored.namespace, keys);
      }
      keys.insert(stored.key);
    }
  }

  private unindex(stored: StoredObject): void {
    if (!this.objects.delete(stored.key)) return;
    this.all.delete(stored.key);
    const keys = this.byNamespace.get(stored.namespace);
    if (keys) {
      keys.delete(stored.key);
      if (keys.size === 0) this.byNamespace.delete(stored.namespace);
    }
  }
}
