// metadata.managedFields: who owns which field, updated on every write the way the API
// server's field manager does it (Update operations take what they changed, Apply
// operations own what they applied and conflict with other owners of what they change).
import { ApiError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { isObject } from "../json.js";
import type { ManagedFieldsEntry } from "../objects.js";
import type { TypeNode } from "../typed.js";
import {
  childPath,
  type FieldPath,
  FieldSet,
  fieldElement,
  pathElements,
  removePath,
  renderPath,
} from "./fieldpath.js";
import { compare, isSame, toFieldSet } from "./typed-value.js";

interface Manager {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource: string;
  time: string | undefined;
  set: FieldSet;
}

/** Fields that are never owned: identity and system metadata (fieldmanager's stripMeta). */
const STRIPPED = new Set<FieldPath>(
  [
    ["apiVersion"],
    ["kind"],
    ["metadata"],
    ["metadata", "name"],
    ["metadata", "namespace"],
    ["metadata", "creationTimestamp"],
    ["metadata", "selfLink"],
    ["metadata", "uid"],
    ["metadata", "clusterName"],
    ["metadata", "generation"],
    ["metadata", "managedFields"],
    ["metadata", "resourceVersion"],
  ].map((names) => names.map(fieldElement).reduce((path, element) => childPath(path, element), "")),
);

export interface FieldManagerContext {
  type: TypeNode;
  /** apiVersion of the request (entries record it). */
  apiVersion: string;
  /** "" for the main resource, "status" for the status subresource. */
  subresource: string;
  /** Top-level fields this endpoint resets, whose ownership is never recorded (status or spec). */
  ignoredFields: string[];
  now: string;
}

function identity(m: Pick<Manager, "manager" | "operation" | "apiVersion" | "subresource">): string {
  return JSON.stringify([m.manager, m.operation, m.operation === "Apply" ? "" : m.apiVersion, m.subresource]);
}

function decodeManagers(entries: ManagedFieldsEntry[] | undefined): Map<string, Manager> {
  const managers = new Map<string, Manager>();
  for (const entry of entries ?? []) {
    if (!isObject(entry as unknown as JsonValue)) continue;
    const manager: Manager = {
      manager: entry.manager ?? "",
      operation: entry.operation === "Apply" ? "Apply" : "Update",
      apiVersion: entry.apiVersion ?? "",
      subresource: entry.subresource ?? "",
      time: entry.time,
      set: FieldSet.fromFieldsV1(entry.fieldsV1),
    };
    managers.set(identity(manager), manager);
  }
  return managers;
}

function encodeManagers(managers: Map<string, Manager>): ManagedFieldsEntry[] {
  const entries = [...managers.values()].filter((m) => m.set.size > 0);
  entries.sort(
    (p, q) =>
      p.operation.localeCompare(q.operation) ||
      Date.parse(p.time ?? "") - Date.parse(q.time ?? "") ||
      p.manager.localeCompare(q.manager) ||
      p.apiVersion.localeCompare(q.apiVersion) ||
      p.subresource.localeCompare(q.subresource),
  );
  return entries.map((m) => {
    const entry: ManagedFieldsEntry = {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
    };
    if (m.time) entry.time = m.time;
    entry.fieldsType = "FieldsV1";
    entry.fieldsV1 = m.set.toFieldsV1();
    if (m.subresource) entry.subresource = m.subresource;
    return entry;
  });
}

function withoutManagedFields(obj: JsonObject): JsonObject {
  const meta = obj.metadata;
  if (!isObject(meta) || meta.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}

function owned(set: FieldSet, ctx: FieldManagerContext): FieldSet {
  const stripped = new FieldSet([...set.paths].filter((p) => !STRIPPED.has(p)));
  return stripped.withoutPrefixes(ctx.ignoredFields.map(fieldElement));
}

/**
 * The managed fields a write starts from: the live object's, unless the request set its own
 * (`[{}]` resets them, an empty or unchanged list keeps the live ones).
 */
function startingManagers(live: JsonObject | undefined, next: JsonObject): Map<string, Manager> | "reset" {
  const requested = (next.metadata as JsonObject | undefined)?.managedFields;
  const current = (live?.metadata as JsonObject | undefined)?.managedFields;
  if (
    Array.isArray(requested) &&
    requested.length === 1 &&
    isObject(requested[0]) &&
    Object.keys(requested[0]).length === 0
  ) {
    return "reset";
  }
  if (!Array.isArray(requested) || requested.length === 0 || live === undefined) {
    return decodeManagers((live === undefined ? requested : current) as ManagedFieldsEntry[] | undefined);
  }
  return decodeManagers(requested as ManagedFieldsEntry[]);
}

function setManagedFields(obj: JsonObject, entries: ManagedFieldsEntry[]): void {
  const meta = (isObject(obj.metadata) ? obj.metadata : {}) as JsonObject;
  if (entries.length > 0) meta.managedFields = entries as unknown as JsonValue;
  else delete meta.managedFields;
  obj.metadata = meta;
}

/** Takes ownership from other managers, or reports the conflicts when not forced. */
function transferOwnership(
  managers: Map<string, Manager>,
  self: string,
  comparison: ReturnType<typeof compare>,
  force: boolean,
): void {
  const changed = comparison.modified.union(comparison.added);
  const conflicts: { manager: Manager; paths: FieldSet }[] = [];
  for (const [id, m] of managers) {
    if (id === self) continue;
    const conflicting = m.set.intersection(changed);
    if (conflicting.size > 0) conflicts.push({ manager: m, paths: conflicting });
  }
  if (!force && conflicts.length > 0) throw applyConflict(conflicts);
  for (const { manager, paths } of conflicts) manager.set = manager.set.difference(paths);
  for (const [id, m] of managers) {
    if (id !== self && comparison.removed.size > 0) m.set = m.set.difference(comparison.removed);
  }
}

/** Records an Update (create, PUT, or a merge/JSON/strategic patch) by `manager`. */
export function recordUpdate(
  live: JsonObject | undefined,
  next: JsonObject,
  manager: string,
  ctx: FieldManagerContext,
): void {
  const start = startingManagers(live, next);
  if (start === "reset") {
    setManagedFields(next, []);
    return;
  }
  const managers = start;
  const before = withoutManagedFields(live ?? {});
  const after = withoutManagedFields(next);
  const raw = compare(before, after, ctx.type);
  const comparison = {
    added: owned(raw.added, ctx),
    modified: owned(raw.modified, ctx),
    removed: owned(raw.removed, ctx),
  };
  const current = "\u0000current-operation";
  transferOwnership(managers, current, comparison, true);
  const took = comparison.modified.union(comparison.added);
  if (!isSame(comparison) && took.size > 0) {
    const id = identity({
      manager,
      operation: "Update",
      apiVersion: ctx.apiVersion,
      subresource: ctx.subresource,
    });
    const previous = managers.get(id);
    managers.set(id, {
      manager,
      operation: "Update",
      apiVersion: ctx.apiVersion,
      subresource: ctx.subresource,
      time: ctx.now,
      set: previous ? previous.set.union(took) : took,
    });
  }
  setManagedFields(next, encodeManagers(managers));
}

/**
 * Server-side apply of `config` by `manager` onto `merged` (the live object with the
 * configuration merged in): records the applier's fields, removes the fields it applied
 * last time and no longer does (unless someone else owns them), and checks conflicts.
 * Returns the object to store, with managedFields set.
 */
export function recordApply(
  live: JsonObject | undefined,
  merged: JsonObject,
  config: JsonObject,
  manager: string,
  force: boolean,
  ctx: FieldManagerContext,
): JsonObject {
  const start = startingManagers(live, live ?? {});
  const managers = start === "reset" ? new Map<string, Manager>() : start;
  const id = identity({
    manager,
    operation: "Apply",
    apiVersion: ctx.apiVersion,
    subresource: ctx.subresource,
  });
  const previous = managers.get(id);
  const applied = owned(toFieldSet(withoutManagedFields(config), ctx.type), ctx);
  managers.set(id, {
    manager,
    operation: "Apply",
    apiVersion: ctx.apiVersion,
    subresource: ctx.subresource,
    time: previous?.time ?? ctx.now,
    set: applied,
  });
  const next = withoutManagedFields(merged);
  if (previous) pruneDropped(next, previous.set, managers);
  const raw = compare(withoutManagedFields(live ?? {}), next, ctx.type);
  const comparison = {
    added: owned(raw.added, ctx),
    modified: owned(raw.modified, ctx),
    removed: owned(raw.removed, ctx),
  };
  transferOwnership(managers, id, comparison, force);
  // As the API server does, the applier's timestamp moves only when the object changed.
  if (!isSame(raw) || !previous) managers.get(id)!.time = ctx.now;
  setManagedFields(next, encodeManagers(managers));
  return next;
}

/** Removes what the applier set last time and dropped now, unless another manager owns it. */
function pruneDropped(obj: JsonObject, lastSet: FieldSet, managers: Map<string, Manager>): void {
  const ownedByAnyone = new FieldSet().union(...[...managers.values()].map((m) => m.set));
  const keep = ownedByAnyone.ancestors();
  const dropped = new Set([...lastSet.paths].filter((p) => !ownedByAnyone.has(p) && !keep.has(p)));
  // Removing a path removes what is under it; removing a child first could change the key
  // its list item is found by, so only the topmost dropped paths are removed.
  const hasDroppedAncestor = (path: FieldPath): boolean => {
    let prefix = "";
    const elements = pathElements(path);
    for (const element of elements.slice(0, -1)) {
      prefix = childPath(prefix, element);
      if (dropped.has(prefix)) return true;
    }
    return false;
  };
  const topmost = [...dropped].filter((path) => !hasDroppedAncestor(path));
  for (const path of topmost) removePath(obj, path);
}

function applyConflict(conflicts: { manager: Manager; paths: FieldSet }[]): ApiError {
  const describe = (m: Manager): string => {
    let text = JSON.stringify(m.manager);
    if (m.subresource) text += ` with subresource ${JSON.stringify(m.subresource)}`;
    if (m.operation === "Update")
      text += m.time ? ` using ${m.apiVersion} at ${m.time}` : ` using ${m.apiVersion}`;
    return text;
  };
  const all = conflicts.flatMap(({ manager, paths }) =>
    [...paths.paths].sort().map((path) => ({ manager, path: renderPath(path) })),
  );
  let message: string;
  if (all.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${describe(all[0]!.manager)}: ${all[0]!.path}`;
  } else {
    const lines: string[] = [];
    const sorted = [...conflicts].sort((a, b) => identity(a.manager).localeCompare(identity(b.manager)));
    for (const { manager, paths } of sorted) {
      lines.push(`conflicts with ${describe(manager)}:`);
      for (const path of [...paths.paths].sort()) lines.push(`- ${renderPath(path)}`);
    }
    message = `Apply failed with ${all.length} conflicts: ${lines.join("\n")}`;
  }
  return new ApiError(409, "Conflict", message, {
    causes: all.map(({ manager, path }) => ({
      reason: "FieldManagerConflict",
      message: `conflict with ${describe(manager)}`,
      field: path,
    })),
  });
}
