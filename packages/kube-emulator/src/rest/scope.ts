// What every REST operation is given: the server's state and the request's resource,
// version, namespace and write options; and the conversions between a served version and
// the stored form.
import type { ValidatingAdmission } from "../admission/attributes.js";
import type { UserInfo } from "../admission/user-info.js";
import type { Registry } from "../api/registry.js";
import { groupVersion, type ResourceType, type ResourceVersion } from "../api/resource-type.js";
import type { GroupKind, GroupResource } from "../errors.js";
import type { JsonObject } from "../json.js";
import type { ResourceStore, StoredObject } from "../storage/resource-store.js";
import type { Storage } from "../storage/storage.js";

export interface ApiContext {
  readonly storage: Storage;
  readonly registry: Registry;
  /** Runs after validation on every create, update and delete (ValidatingAdmissionPolicy). */
  readonly admission: ValidatingAdmission;
  now(): Date;
}

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface RequestScope {
  readonly ctx: ApiContext;
  readonly type: ResourceType;
  readonly version: ResourceVersion;
  /** The namespace in the URL ("" for cluster-scoped requests and cluster-wide lists). */
  readonly namespace: string;
  /** "finalize" is a namespace's: it writes spec.finalizers only. */
  readonly subresource: "" | "status" | "finalize";
}

export interface WriteOptions {
  dryRun: boolean;
  fieldManager: string;
  fieldValidation: FieldValidation;
  /** Warning headers the answer carries. */
  warnings: string[];
  /** Who makes the request. */
  user: UserInfo;
  /** The CreateOptions, UpdateOptions, PatchOptions or DeleteOptions the request carried. */
  requestOptions?: JsonObject;
}

export function apiVersionOf(scope: Pick<RequestScope, "type" | "version">): string {
  return groupVersion(scope.type.group, scope.version.name);
}

export function groupResource(type: ResourceType): GroupResource {
  return { group: type.group, resource: type.resource };
}

export function groupKind(type: ResourceType): GroupKind {
  return { group: type.group, kind: type.kind };
}

export function storeOf(scope: Pick<RequestScope, "ctx" | "type">): ResourceStore {
  return scope.ctx.storage.store(scope.type.storeId, scope.type.namespaced);
}

/** The stored form of an object written in the request's version. */
export function toStorage(scope: Pick<RequestScope, "type" | "version">, object: JsonObject): JsonObject {
  if (scope.version.toStorage) return scope.version.toStorage(object);
  const storageApiVersion = groupVersion(scope.type.group, scope.type.storageVersion);
  return object.apiVersion === storageApiVersion ? object : { ...object, apiVersion: storageApiVersion };
}

/** A stored object as the request's version shows it (a new object: callers may change it). */
export function fromStorage(scope: Pick<RequestScope, "type" | "version">, object: JsonObject): JsonObject {
  if (scope.version.fromStorage) return scope.version.fromStorage(object);
  return { ...object, apiVersion: apiVersionOf(scope) };
}

/** The JSON of a stored object in the request's version, made once per version and shared. */
export function encodeStored(scope: Pick<RequestScope, "type" | "version">, stored: StoredObject): string {
  const apiVersion = apiVersionOf(scope);
  if (!scope.version.fromStorage && stored.object.apiVersion === apiVersion) return stored.json;
  let json = stored.encodings.get(apiVersion);
  if (json === undefined) {
    json = JSON.stringify(fromStorage(scope, stored.object));
    stored.encodings.set(apiVersion, json);
  }
  return json;
}
