// GET and LIST: selectors, limit/continue with consistent snapshots from the event
// history, resourceVersion semantics (unset, "0", Exact, NotOlderThan).
import { fieldSet } from "../api/resource-type.js";
import { badRequest, expired, tooLargeResourceVersion } from "../errors.js";
import {
  type FieldSelector,
  type LabelSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "../selectors.js";
import type { StoredObject } from "../storage/resource-store.js";
import { type RequestScope, storeOf } from "./scope.js";

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: string;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: StoredObject[];
  resourceVersion: number;
  continueToken?: string;
  remainingItemCount?: number;
}

/** Decides whether a stored object belongs to a list or watch. */
export interface Matcher {
  readonly labels: LabelSelector;
  readonly fields: FieldSelector;
  /** The object name when the field selector pins one (a direct lookup instead of a scan). */
  readonly name: string | undefined;
  matches(stored: StoredObject): boolean;
}

export function makeMatcher(scope: RequestScope, labelSelector?: string, fieldSelector?: string): Matcher {
  const labels = parseLabelSelector(labelSelector);
  const toStorage = scope.version.fieldLabelToStorage ?? {};
  const fields = parseFieldSelector(fieldSelector).map((req) => ({
    ...req,
    field: toStorage[req.field] ?? req.field,
  }));
  const supported = new Set(Object.keys(fieldSet(scope.type, { metadata: {} })));
  for (const req of fields)
    if (!supported.has(req.field)) throw badRequest(`field label not supported: ${req.field}`);
  const name = fields.find((req) => req.field === "metadata.name" && req.operator === "=")?.value;
  const namespace = scope.type.namespaced && scope.namespace ? scope.namespace : undefined;
  return {
    labels,
    fields,
    name,
    matches(stored) {
      if (namespace !== undefined && stored.namespace !== namespace) return false;
      const meta = stored.object.metadata as { labels?: Record<string, string> };
      if (labels.length > 0 && !matchesLabels(labels, meta.labels)) return false;
      return fields.length === 0 || matchesFields(fields, fieldSet(scope.type, stored.object));
    },
  };
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start: `${lastKey}\u0000` })).toString(
    "base64url",
  );
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
      v?: string;
      rv?: number;
      start?: string;
    };
    if (parsed.v !== "meta.k8s.io/v1" || typeof parsed.rv !== "number" || typeof parsed.start !== "string")
      throw new Error();
    return { rv: parsed.rv, start: parsed.start };
  } catch {
    throw badRequest(
      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    );
  }
}

function parseLimit(limit: string | undefined): number {
  if (limit === undefined || limit === "") return 0;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid limit: ${limit}`);
  return n;
}

export function parseResourceVersion(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) throw badRequest(`invalid resource version: ${value}`);
  return Number(value);
}

export function listObjects(scope: RequestScope, query: ListQuery): ListResult {
  const store = storeOf(scope);
  const current = scope.ctx.storage.resourceVersion;
  const matcher = makeMatcher(scope, query.labelSelector, query.fieldSelector);
  const limit = parseLimit(query.limit);
  const namespace = scope.type.namespaced && scope.namespace ? scope.namespace : undefined;
  const requestedRv = parseResourceVersion(query.resourceVersion);
  const match = query.resourceVersionMatch ?? "";
  if (match !== "" && match !== "Exact" && match !== "NotOlderThan") {
    throw badRequest(
      `resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
    );
  }
  let snapshotRv: number | undefined;
  let afterKey: string | undefined;
  if (query.continue) {
    if (query.resourceVersion)
      throw badRequest("specifying resource version is not allowed when using continue");
    const token = decodeContinue(query.continue);
    snapshotRv = token.rv;
    afterKey = token.start;
  } else if (requestedRv !== undefined && requestedRv > current && requestedRv !== 0) {
    throw tooLargeResourceVersion(requestedRv, current);
  } else if (match === "Exact" && requestedRv !== undefined) {
    snapshotRv = requestedRv;
  }

  let source: Iterable<StoredObject>;
  let remainingFrom: (() => number) | undefined;
  if (snapshotRv !== undefined && snapshotRv !== current) {
    const snapshot = store.snapshotAt(snapshotRv, namespace, afterKey);
    if (!snapshot) {
      if (query.continue) {
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
          encodeContinue(current, afterKey!.slice(0, -1)),
        );
      }
      throw expired(`too old resource version: ${snapshotRv} (${store.oldestWatchable()})`);
    }
    let index = 0;
    source = (function* () {
      for (const item of snapshot) {
        index++;
        yield item;
      }
    })();
    remainingFrom = () => snapshot.length - index;
  } else {
    snapshotRv = current;
    const directKey =
      matcher.name === undefined
        ? undefined
        : !scope.type.namespaced
          ? matcher.name
          : namespace !== undefined
            ? `${namespace}/${matcher.name}`
            : undefined;
    if (directKey !== undefined) {
      const direct = store.get(directKey);
      source = direct && (afterKey === undefined || direct.key > afterKey) ? [direct] : [];
    } else {
      source = store.scan(namespace, afterKey);
    }
  }

  const items: StoredObject[] = [];
  let lastKey: string | undefined;
  let more = false;
  for (const stored of source) {
    if (!matcher.matches(stored)) continue;
    if (limit > 0 && items.length === limit) {
      more = true;
      break;
    }
    items.push(stored);
    lastKey = stored.key;
  }
  const result: ListResult = { items, resourceVersion: snapshotRv };
  if (more && lastKey !== undefined) {
    result.continueToken = encodeContinue(snapshotRv, lastKey);
    if (matcher.labels.length === 0 && matcher.fields.length === 0) {
      const remaining = remainingFrom ? remainingFrom() + 1 : store.countAfter(namespace, lastKey);
      result.remainingItemCount = remaining;
    }
  }
  return result;
}
