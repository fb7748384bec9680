// PATCH (apiserver's endpoints/handlers/patch.go): JSON patch, merge patch, strategic merge
// patch (built-in kinds only) and server-side apply, each ending in the store's update.
import {
  badRequest,
  conflict,
  fieldErrors,
  invalid,
  OBJECT_MODIFIED,
  unsupportedMediaType,
} from "../errors.js";
import type { JsonObject } from "../json.js";
import { clone, isObject } from "../json.js";
import { recordApply } from "../managedfields/field-manager.js";
import { mergeApplied } from "../managedfields/typed-value.js";
import { metaOf, objectKey } from "../objects.js";
import { applyJsonPatch, decodeJsonPatch } from "../patch/json-patch.js";
import { applyMergePatch } from "../patch/merge-patch.js";
import { applyStrategicMergePatch } from "../patch/strategic-merge-patch.js";
import { applyDefaults } from "../schema/index.js";
import { checkKind, decodeObject, duplicateFields, parseBody } from "./decode-request.js";
import {
  fromStorage,
  groupResource,
  type RequestScope,
  storeOf,
  toStorage,
  type WriteOptions,
} from "./scope.js";
import { fieldManagerContext, type GenericStore, type WriteResult } from "./store.js";

export const JSON_PATCH = "application/json-patch+json";
export const MERGE_PATCH = "application/merge-patch+json";
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
export const APPLY_PATCH = "application/apply-patch+yaml";

export function acceptedPatchTypes(scope: RequestScope): string[] {
  return scope.type.crdName === undefined
    ? [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH]
    : [JSON_PATCH, MERGE_PATCH, APPLY_PATCH];
}

const PATCH_OPTIONS = { group: "meta.k8s.io", kind: "PatchOptions" };

export interface PatchRequest {
  contentType: string;
  body: string;
  /** The `force` query parameter, when given. */
  force: boolean | undefined;
  /** Whether the client named a field manager (apply requires one). */
  fieldManagerGiven: boolean;
}

export function patch(
  store: GenericStore,
  scope: RequestScope,
  options: WriteOptions,
  name: string,
  request: PatchRequest,
): WriteResult {
  const mediaType = request.contentType.split(";")[0]!.trim().toLowerCase();
  if (!acceptedPatchTypes(scope).includes(mediaType)) {
    throw unsupportedMediaType(request.contentType, acceptedPatchTypes(scope));
  }
  if (mediaType === APPLY_PATCH) return apply(store, scope, options, name, request);
  if (request.force !== undefined) {
    throw invalid(PATCH_OPTIONS, "", [
      fieldErrors.forbidden("force", "may not be specified for non-apply patch"),
    ]);
  }
  const patchBody = parseBody(request.body);
  const live = store.live(scope, name);
  const current = clone(fromStorage(scope, live.object));
  let patched: unknown;
  let duplicates: string[] = [];
  if (mediaType === JSON_PATCH) {
    patched = applyJsonPatch(current, decodeJsonPatch(patchBody));
  } else {
    if (!isObject(patchBody)) throw badRequest("the patch must be a JSON object");
    duplicates = duplicateFields(request.body, options);
    patched =
      mediaType === MERGE_PATCH
        ? applyMergePatch(current, patchBody)
        : applyStrategicMergePatch(current, patchBody, scope.version.type);
  }
  if (!isObject(patched)) throw badRequest("the patched object is not a JSON object");
  const decoded = decodeObject(scope, patched, options, duplicates);
  checkPreconditions(scope, name, decoded, live.rv);
  return store.finishUpdate(scope, options, live, toStorage(scope, decoded), "update");
}

/** A resourceVersion in the patched object is a precondition on the live one. */
function checkPreconditions(scope: RequestScope, name: string, object: JsonObject, liveRv: number): void {
  const rv = metaOf(object).resourceVersion;
  if (rv && rv !== String(liveRv)) throw conflict(groupResource(scope.type), name, OBJECT_MODIFIED);
}

/** Server-side apply: merge the configuration, record its owner, refuse conflicts unless forced. */
function apply(
  store: GenericStore,
  scope: RequestScope,
  options: WriteOptions,
  name: string,
  request: PatchRequest,
): WriteResult {
  if (!request.fieldManagerGiven) {
    throw invalid(PATCH_OPTIONS, "", [fieldErrors.required("fieldManager", "is required for apply patch")]);
  }
  const parsed = parseBody(request.body, true);
  if (!isObject(parsed)) throw badRequest("the apply configuration must be an object");
  checkKind(scope, parsed);
  const meta = metaOf(parsed);
  if (meta.managedFields !== undefined) throw badRequest("metadata.managedFields must be nil");
  if (meta.name === undefined || meta.name === "") meta.name = name;
  if (meta.name !== name) {
    throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  }
  const duplicates = duplicateFields(request.body, options);
  const config = decodeObject(scope, parsed, options, duplicates, { defaults: false });
  const force = request.force === true;
  const key = objectKey(scope.type.namespaced ? scope.namespace : "", name);
  const live = storeOf(scope).get(key);
  const now = scope.ctx.now();
  if (!live) {
    if (scope.subresource === "status") store.live(scope, name);
    const created = recordApply(
      undefined,
      clone(config),
      config,
      options.fieldManager,
      force,
      fieldManagerContext(scope, config, now),
    );
    return store.create(scope, options, withDefaults(scope, created), "applied");
  }
  checkPreconditions(scope, name, config, live.rv);
  const current = clone(fromStorage(scope, live.object));
  const merged = mergeApplied(current, config, scope.version.type) as JsonObject;
  const next = recordApply(
    current,
    merged,
    config,
    options.fieldManager,
    force,
    fieldManagerContext(scope, merged, now),
  );
  return store.finishUpdate(scope, options, live, toStorage(scope, withDefaults(scope, next)), "applied");
}

function withDefaults(scope: RequestScope, object: JsonObject): JsonObject {
  return scope.version.schema ? applyDefaults(scope.version.schema, object) : object;
}
