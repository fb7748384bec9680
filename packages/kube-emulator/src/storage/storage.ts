// The emulator's "etcd": one global, monotonic resourceVersion and one store per resource.
import type { JsonObject } from "../json.js";
import { objectKey } from "../objects.js";
import { type EventType, ResourceStore, type StoredObject, type StoreEvent } from "./resource-store.js";

export type CommitListener = (store: ResourceStore, event: StoreEvent) => void;

export interface StorageOptions {
  /** Events kept per resource for watches and continue tokens. */
  historyCapacity: number;
  /** The resourceVersion to continue from (state restored from disk). */
  resourceVersion?: number;
}

export class Storage {
  private rv: number;
  private historyCapacity: number;
  private readonly stores = new Map<string, ResourceStore>();
  private readonly listeners: CommitListener[] = [];

  constructor(options: StorageOptions) {
    this.rv = options.resourceVersion ?? 1;
    this.historyCapacity = options.historyCapacity;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  store(id: string, namespaced: boolean): ResourceStore {
    let store = this.stores.get(id);
    if (!store) {
      store = new ResourceStore(id, namespaced, this.historyCapacity, this.rv);
      this.stores.set(id, store);
    }
    return store;
  }

  existingStore(id: string): ResourceStore | undefined {
    return this.stores.get(id);
  }

  allStores(): ResourceStore[] {
    return [...this.stores.values()];
  }

  /** Drops a store with its objects (a CRD went away); its watchers are ended cleanly. */
  removeStore(id: string): void {
    const store = this.stores.get(id);
    if (!store) return;
    store.terminateWatchers(false);
    this.stores.delete(id);
  }

  /** Serialises an object that already carries its resourceVersion. */
  static stored(object: JsonObject, rv: number): StoredObject {
    const meta = object.metadata as { name?: string; namespace?: string };
    const namespace = meta.namespace ?? "";
    const name = meta.name ?? "";
    return {
      object,
      json: JSON.stringify(object),
      rv,
      key: objectKey(namespace, name),
      namespace,
      name,
      encodings: new Map(),
    };
  }

  /** Restores an object from disk, keeping its resourceVersion. */
  load(store: ResourceStore, object: JsonObject): void {
    const rv = Number((object.metadata as { resourceVersion?: string }).resourceVersion ?? "0");
    store.load(Storage.stored(object, rv));
  }

  /** Writes a new state of an object (ADDED or MODIFIED) under the next resourceVersion. */
  write(store: ResourceStore, type: Exclude<EventType, "DELETED">, object: JsonObject): StoredObject {
    const rv = ++this.rv;
    (object.metadata as { resourceVersion?: string }).resourceVersion = String(rv);
    const stored = Storage.stored(object, rv);
    const prev = store.get(stored.key);
    this.commit(store, { type, rv, object: stored, prev, lines: new Map() });
    return stored;
  }

  /** Removes an object; the DELETED event carries its last state under a new resourceVersion. */
  delete(store: ResourceStore, current: StoredObject): StoredObject {
    const rv = ++this.rv;
    const last = structuredClone(current.object);
    (last.metadata as { resourceVersion?: string }).resourceVersion = String(rv);
    const stored = Storage.stored(last, rv);
    this.commit(store, { type: "DELETED", rv, object: stored, prev: current, lines: new Map() });
    return stored;
  }

  /** Empties every history so that watches from before now get 410 Expired; optionally resizes. */
  compactHistory(capacity?: number): void {
    if (capacity !== undefined) this.historyCapacity = capacity;
    for (const store of this.stores.values()) store.compactHistory(this.rv, capacity);
  }

  terminateWatchers(abrupt: boolean): void {
    for (const store of this.stores.values()) store.terminateWatchers(abrupt);
  }

  private commit(store: ResourceStore, event: StoreEvent): void {
    store.commit(event);
    for (const listener of this.listeners) listener(store, event);
  }
}
