// The scale subresource (autoscaling/v1 Scale) of Deployments, StatefulSets, ReplicaSets and of
// custom resources whose CRD declares `subresources.scale`: GET reads the replicas and selector,
// PUT and PATCH write spec replicas only (what `kubectl scale` and autoscalers use).
import { badRequest, conflict, fieldErrors, invalid, OBJECT_MODIFIED } from "../errors.js";
import { clone, isObject, type JsonObject, type JsonValue } from "../json.js";
import { metaOf } from "../objects.js";
import { applyJsonPatch, decodeJsonPatch } from "../patch/json-patch.js";
import { applyMergePatch } from "../patch/merge-patch.js";
import { parseBody } from "./decode-request.js";
import { JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH } from "./patch.js";
import { fromStorage, groupResource, type RequestScope, type WriteOptions } from "./scope.js";
import type { GenericStore } from "./store.js";

/** Where a kind keeps its replicas and selector (a CRD's `subresources.scale`, JSON paths like `.spec.replicas`). */
export interface ScalePaths {
  specReplicasPath: string;
  statusReplicasPath: string;
  /** A path to a selector string (custom resources), or "spec.selector" for built-in kinds' LabelSelector. */
  labelSelectorPath?: string;
  /** Built-in workloads: the selector is `.spec.selector` (a LabelSelector) printed as a string. */
  selectorFromLabelSelector?: boolean;
}

const SCALE = { group: "autoscaling", kind: "Scale" };
export const SCALE_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH];

const pathParts = (path: string): string[] => path.replace(/^\./, "").split(".");

function read(object: JsonObject, path: string): JsonValue | undefined {
  let at: JsonValue | undefined = object;
  for (const part of pathParts(path)) at = isObject(at) ? at[part] : undefined;
  return at;
}

function write(object: JsonObject, path: string, value: JsonValue): void {
  const parts = pathParts(path);
  let at = object;
  for (const part of parts.slice(0, -1)) {
    if (!isObject(at[part])) at[part] = {};
    at = at[part] as JsonObject;
  }
  at[parts.at(-1)!] = value;
}

/** A LabelSelector printed as metav1.FormatLabelSelector prints it (requirements sorted by key). */
function formatLabelSelector(selector: JsonObject): string {
  const parts: [string, string][] = [];
  if (isObject(selector.matchLabels))
    for (const [k, v] of Object.entries(selector.matchLabels)) parts.push([k, `${k}=${String(v)}`]);
  if (Array.isArray(selector.matchExpressions))
    for (const e of selector.matchExpressions) {
      if (!isObject(e)) continue;
      const k = String(e.key);
      const values = Array.isArray(e.values) ? [...e.values].map(String).sort().join(",") : "";
      const op = String(e.operator);
      if (op === "In") parts.push([k, `${k} in (${values})`]);
      else if (op === "NotIn") parts.push([k, `${k} notin (${values})`]);
      else if (op === "Exists") parts.push([k, k]);
      else if (op === "DoesNotExist") parts.push([k, `!${k}`]);
    }
  return parts
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((p) => p[1])
    .join(",");
}

/** The Scale of a stored object at its resourceVersion. */
export function scaleOf(scope: RequestScope, stored: JsonObject, rv: number): JsonObject {
  const paths = scope.type.scale!;
  const object = fromStorage(scope, stored);
  const meta = metaOf(object);
  const specReplicas = read(object, paths.specReplicasPath);
  const statusReplicas = read(object, paths.statusReplicasPath);
  let selector: string | undefined;
  if (paths.selectorFromLabelSelector) {
    const labelSelector = read(object, ".spec.selector");
    if (isObject(labelSelector)) selector = formatLabelSelector(labelSelector);
  } else if (paths.labelSelectorPath) {
    const value = read(object, paths.labelSelectorPath);
    if (typeof value === "string") selector = value;
  }
  const status: JsonObject = { replicas: typeof statusReplicas === "number" ? statusReplicas : 0 };
  if (selector !== undefined && selector !== "") status.selector = selector;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: meta.name ?? "",
      namespace: meta.namespace,
      uid: meta.uid,
      resourceVersion: String(rv),
      creationTimestamp: meta.creationTimestamp,
    } as JsonObject,
    spec: { replicas: typeof specReplicas === "number" ? specReplicas : 0 },
    status,
  };
}

/** PUT of a Scale, or PATCH of one (merge, strategic or JSON patch): writes spec replicas; answers the new Scale. */
export function updateScale(
  store: GenericStore,
  scope: RequestScope,
  options: WriteOptions,
  name: string,
  request: { method: "PUT" | "PATCH"; contentType: string; body: string },
): { code: number; scale: JsonObject } {
  const live = store.live(scope, name);
  const current = scaleOf(scope, live.object, live.rv);
  let wanted: JsonValue;
  if (request.method === "PUT") {
    wanted = parseBody(request.body);
  } else {
    const mediaType = request.contentType.split(";")[0]!.trim().toLowerCase();
    const patchBody = parseBody(request.body);
    if (mediaType === JSON_PATCH) wanted = applyJsonPatch(clone(current), decodeJsonPatch(patchBody));
    else if (mediaType === MERGE_PATCH || mediaType === STRATEGIC_MERGE_PATCH) {
      if (!isObject(patchBody)) throw badRequest("the patch must be a JSON object");
      // A Scale has no lists, so a strategic merge patch merges as a JSON merge patch does.
      wanted = applyMergePatch(clone(current), patchBody);
    } else throw badRequest(`unsupported patch type for the scale subresource: ${request.contentType}`);
  }
  if (!isObject(wanted)) throw badRequest("the Scale must be a JSON object");
  const rv = isObject(wanted.metadata) ? wanted.metadata.resourceVersion : undefined;
  if (typeof rv === "string" && rv !== "" && rv !== String(live.rv))
    throw conflict(groupResource(scope.type), name, OBJECT_MODIFIED);
  const replicas = isObject(wanted.spec) ? wanted.spec.replicas : undefined;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
    throw invalid(SCALE, name, [
      fieldErrors.invalid("spec.replicas", replicas ?? null, "must be greater than or equal to 0"),
    ]);
  const next = clone(live.object);
  write(next, scope.type.scale!.specReplicasPath, replicas);
  const result = store.finishUpdate(scope, options, live, next, "update");
  return { code: 200, scale: scaleOf(scope, result.object, Number(metaOf(result.object).resourceVersion)) };
}
