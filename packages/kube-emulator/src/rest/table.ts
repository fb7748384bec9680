// Server-side printing: a list, an object or a watch event as a meta.k8s.io/v1 Table, which
// `kubectl get` asks for with Accept: application/json;as=Table;v=v1;g=meta.k8s.io.
import type { JsonObject } from "../json.js";
import type { StoredObject } from "../storage/resource-store.js";
import { encodeStored, type RequestScope } from "./scope.js";

export type IncludeObject = "None" | "Metadata" | "Object";

export interface TableOptions {
  includeObject: IncludeObject;
  /** Watches send the column definitions with the first event only. */
  noHeaders?: boolean;
}

export function parseIncludeObject(value: string | undefined): IncludeObject {
  return value === "None" || value === "Object" ? value : "Metadata";
}

function rowObject(scope: RequestScope, stored: StoredObject, include: IncludeObject): string | undefined {
  if (include === "None") return undefined;
  if (include === "Object") return encodeStored(scope, stored);
  const { managedFields: _managedFields, ...metadata } = stored.object.metadata as JsonObject;
  return JSON.stringify({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata });
}

export function tableJson(
  scope: RequestScope,
  items: StoredObject[],
  listMeta: JsonObject,
  options: TableOptions,
  now = Date.now(),
): string {
  const columns = scope.version.columns;
  const definitions = options.noHeaders
    ? []
    : columns.map((c) => {
        const definition: JsonObject = {
          name: c.name,
          type: c.type,
          format: c.format ?? "",
          description: c.description,
          priority: c.priority,
        };
        return definition;
      });
  const rows = items.map((stored) => {
    const cells = JSON.stringify(columns.map((c) => c.cell(stored.object, now) ?? null));
    const object = rowObject(scope, stored, options.includeObject);
    return object === undefined ? `{"cells":${cells}}` : `{"cells":${cells},"object":${object}}`;
  });
  return `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(listMeta)},"columnDefinitions":${JSON.stringify(definitions)},"rows":[${rows.join(",")}]}`;
}
