// State that survives a restart: a snapshot of every store plus a journal of the writes
// since, appended before the write is answered and folded into a new snapshot when it
// grows. The resourceVersion counter is restored with the objects.
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { JsonObject } from "../json.js";
import type { ResourceStore, StoreEvent } from "./resource-store.js";
import type { Storage } from "./storage.js";

const SNAPSHOT = "state.json";
const JOURNAL = "journal.ndjson";
const FORMAT = 1;
/** The journal is folded into a snapshot once it holds this many entries (and more than the objects). */
const MIN_COMPACTION_ENTRIES = 20_000;

export interface RestoredState {
  resourceVersion: number;
  stores: Map<string, { namespaced: boolean; objects: Map<string, JsonObject> }>;
}

interface JournalEntry {
  rv: number;
  store: string;
  namespaced: boolean;
  key: string;
  object?: JsonObject;
}

export class StatePersistence {
  private fd: number | undefined;
  private compactionScheduled = false;
  private entries = 0;
  private closed = false;

  constructor(private readonly dir: string) {}

  /** Reads the snapshot and replays the journal; undefined when there is no saved state. */
  load(): RestoredState | undefined {
    const snapshotPath = join(this.dir, SNAPSHOT);
    const journalPath = join(this.dir, JOURNAL);
    if (!existsSync(snapshotPath) && !existsSync(journalPath)) return undefined;
    const state: RestoredState = { resourceVersion: 1, stores: new Map() };
    if (existsSync(snapshotPath)) {
      const snapshot = JSON.parse(readFileSync(snapshotPath, "utf8")) as {
        format: number;
        resourceVersion: number;
        stores: Record<string, { namespaced: boolean; objects: JsonObject[] }>;
      };
      if (snapshot.format !== FORMAT)
        throw new Error(`unsupported state format ${snapshot.format} in ${snapshotPath}`);
      state.resourceVersion = snapshot.resourceVersion;
      for (const [id, saved] of Object.entries(snapshot.stores)) {
        const objects = new Map<string, JsonObject>();
        for (const object of saved.objects) objects.set(keyOf(object), object);
        state.stores.set(id, { namespaced: saved.namespaced, objects });
      }
    }
    if (existsSync(journalPath)) {
      for (const line of readFileSync(journalPath, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch {
          break; // a line cut short by a crash ends the journal
        }
        let saved = state.stores.get(entry.store);
        if (!saved) {
          saved = { namespaced: entry.namespaced, objects: new Map() };
          state.stores.set(entry.store, saved);
        }
        if (entry.object) saved.objects.set(entry.key, entry.object);
        else saved.objects.delete(entry.key);
        state.resourceVersion = Math.max(state.resourceVersion, entry.rv);
        this.entries++;
      }
    }
    return state;
  }

  /** Journals every committed write of the storage from now on. */
  attach(storage: Storage): void {
    this.fd = openSync(join(this.dir, JOURNAL), "a");
    storage.onCommit((store, event) => this.record(storage, store, event));
  }

  /** Writes a snapshot of the whole storage and starts an empty journal. */
  snapshot(storage: Storage): void {
    const parts: string[] = [];
    for (const store of storage.allStores()) {
      const objects: string[] = [];
      for (const stored of store.scan()) objects.push(stored.json);
      parts.push(
        `${JSON.stringify(store.id)}:{"namespaced":${store.namespaced},"objects":[${objects.join(",")}]}`,
      );
    }
    const text = `{"format":${FORMAT},"resourceVersion":${storage.resourceVersion},"stores":{${parts.join(",")}}}`;
    const snapshotPath = join(this.dir, SNAPSHOT);
    writeFileSync(`${snapshotPath}.tmp`, text);
    renameSync(`${snapshotPath}.tmp`, snapshotPath);
    if (this.fd !== undefined) closeSync(this.fd);
    writeFileSync(join(this.dir, JOURNAL), "");
    this.fd = openSync(join(this.dir, JOURNAL), "a");
    this.entries = 0;
  }

  close(storage: Storage): void {
    this.snapshot(storage);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.closed = true;
  }

  private record(storage: Storage, store: ResourceStore, event: StoreEvent): void {
    if (this.closed || this.fd === undefined) return;
    const head = `{"rv":${event.rv},"store":${JSON.stringify(store.id)},"namespaced":${store.namespaced},"key":${JSON.stringify(event.object.key)}`;
    writeSync(this.fd, event.type === "DELETED" ? `${head}}\n` : `${head},"object":${event.object.json}}\n`);
    this.entries++;
    if (this.compactionScheduled) return;
    this.compactionScheduled = true;
    setImmediate(() => {
      this.compactionScheduled = false;
      if (this.closed) return;
      const objects = storage.allStores().reduce((sum, s) => sum + s.size, 0);
      if (this.entries > Math.max(MIN_COMPACTION_ENTRIES, 2 * objects)) this.snapshot(storage);
    });
  }
}

function keyOf(object: JsonObject): string {
  const meta = object.metadata as { name?: string; namespace?: string };
  return meta.namespace ? `${meta.namespace}/${meta.name}` : (meta.name ?? "");
}
