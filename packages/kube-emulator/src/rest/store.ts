// The generic registry store (apiserver's registry/generic/registry/store.go): create,
// update and delete with the system metadata, the status subresource, generation,
// finalizers, validation, managed fields, dry run and optimistic concurrency.
import { randomInt, randomUUID } from "node:crypto";
import { validateObjectMeta, validateObjectMetaUpdate } from "../api/validation.js";
import {
  alreadyExists,
  badRequest,
  conflict,
  type FieldError,
  forbidden,
  invalid,
  notFound,
  OBJECT_MODIFIED,
  unknownError,
} from "../errors.js";
import type { JsonObject } from "../json.js";
import { clone, deepEqual, isObject } from "../json.js";
import { type FieldManagerContext, recordUpdate } from "../managedfields/field-manager.js";
import { metaOf, type ObjectMeta, objectKey } from "../objects.js";
import { validateObject } from "../schema/index.js";
import type { StoredObject } from "../storage/resource-store.js";
import { rfc3339 } from "../time.js";
import {
  apiVersionOf,
  fromStorage,
  groupKind,
  groupResource,
  type RequestScope,
  storeOf,
  toStorage,
  type WriteOptions,
} from "./scope.js";

export interface WriteResult {
  /** The object to answer with, in stored form. */
  object: JsonObject;
  /** 201 for a create, 200 otherwise. */
  code: number;
  /** Set when the answer is a Status rather than the object (a completed delete). */
  status?: JsonObject;
}

/** How managed fields are kept on a write: recorded as an Update, or already set by server-side apply. */
export type ManagedFieldsMode = "update" | "applied";

export interface DeleteOptions {
  uid?: string;
  resourceVersion?: string;
  propagationPolicy?: string;
}

const NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function generateNameSuffix(): string {
  let out = "";
  for (let i = 0; i < 5; i++) out += NAME_SUFFIX_ALPHABET[randomInt(NAME_SUFFIX_ALPHABET.length)];
  return out;
}

/** The part of an object that generation tracks: everything but metadata and status. */
function specOf(object: JsonObject): JsonObject {
  const { metadata: _metadata, status: _status, ...spec } = object;
  return spec;
}

/** Managed fields are computed on the request version's shape (it differs for events.k8s.io). */
function view(scope: RequestScope, object: JsonObject): JsonObject {
  return scope.version.fromStorage ? fromStorage(scope, object) : object;
}

export function fieldManagerContext(scope: RequestScope, object: JsonObject, now: Date): FieldManagerContext {
  let ignoredFields: string[] = [];
  if (scope.subresource === "status") {
    ignoredFields = Object.keys(object).filter((key) => !["status", "apiVersion", "kind"].includes(key));
  } else if (scope.type.statusSubresource) {
    ignoredFields = ["status"];
  }
  return {
    type: scope.version.type,
    apiVersion: apiVersionOf(scope),
    subresource: scope.subresource,
    ignoredFields,
    now: rfc3339(now),
  };
}

export class GenericStore {
  /** Creates an object given in the request's version (already decoded). */
  create(
    scope: RequestScope,
    options: WriteOptions,
    input: JsonObject,
    managed: ManagedFieldsMode,
  ): WriteResult {
    const { type, ctx } = scope;
    const object = toStorage(scope, input);
    const meta = metaOf(object);
    if (type.namespaced) {
      if (meta.namespace && meta.namespace !== scope.namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      meta.namespace = scope.namespace;
    } else {
      delete meta.namespace;
    }
    if (meta.resourceVersion)
      throw unknownError("resourceVersion should not be set on objects to be created");
    const now = ctx.now();
    fillSystemFields(meta, type.tracksGeneration, now);
    if (type.statusSubresource) delete object.status;
    type.strategy.prepareForCreate?.(object);
    const store = storeOf(scope);
    if (!meta.name && meta.generateName) {
      do meta.name = `${meta.generateName}${generateNameSuffix()}`;
      while (store.get(objectKey(meta.namespace ?? "", meta.name)));
    }
    this.checkNamespace(scope, meta.namespace, meta.name ?? "");
    const errors = [
      ...validateObjectMeta(meta, type.nameRule, type.namespaced),
      ...(type.strategy.validate?.(object, undefined) ?? []),
      ...this.schemaErrors(scope, object, undefined),
    ];
    if (errors.length > 0) throw invalid(groupKind(type), meta.name ?? "", errors);
    // Admission runs before storage finds a name taken, as in registry.Store.Create.
    ctx.admission.validate({
      operation: "CREATE",
      scope,
      name: meta.name!,
      namespace: meta.namespace ?? "",
      object,
      options,
    });
    const key = objectKey(meta.namespace ?? "", meta.name!);
    if (store.get(key)) throw alreadyExists(groupResource(type), meta.name!);
    if (managed === "update") {
      const next = view(scope, object);
      recordUpdate(undefined, next, options.fieldManager, fieldManagerContext(scope, next, now));
      metaOf(object).managedFields = metaOf(next).managedFields;
    }
    if (!metaOf(object).managedFields) delete metaOf(object).managedFields;
    if (options.dryRun) return { object, code: 201 };
    const stored = ctx.storage.write(store, "ADDED", object);
    return { object: stored.object, code: 201 };
  }

  /** Reads the live object or answers 404. */
  live(scope: RequestScope, name: string): StoredObject {
    const stored = storeOf(scope).get(objectKey(scope.type.namespaced ? scope.namespace : "", name));
    if (!stored) throw notFound(groupResource(scope.type), name);
    return stored;
  }

  /** PUT: replaces the object (or its status) given in the request's version. */
  update(scope: RequestScope, options: WriteOptions, name: string, input: JsonObject): WriteResult {
    const { type } = scope;
    const meta = metaOf(input);
    if (meta.name !== name) {
      throw badRequest(
        `the name of the object (${meta.name ?? ""}) does not match the name on the URL (${name})`,
      );
    }
    if (type.namespaced) {
      if (meta.namespace && meta.namespace !== scope.namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      meta.namespace = scope.namespace;
    }
    const live = storeOf(scope).get(objectKey(type.namespaced ? scope.namespace : "", name));
    if (!live) {
      if (type.allowCreateOnUpdate && scope.subresource === "" && !meta.resourceVersion) {
        return this.create(scope, options, input, "update");
      }
      throw notFound(groupResource(type), name);
    }
    if (!meta.resourceVersion) {
      if (!type.allowUnconditionalUpdate) {
        throw invalid(groupKind(type), name, [
          // Go renders the unset uint64 as 0x0.
          {
            type: "FieldValueInvalid",
            field: "metadata.resourceVersion",
            message: "Invalid value: 0x0: must be specified for an update",
          },
        ]);
      }
    } else if (meta.resourceVersion !== String(live.rv)) {
      throw conflict(groupResource(type), name, OBJECT_MODIFIED);
    }
    return this.finishUpdate(scope, options, live, toStorage(scope, input), "update");
  }

  /**
   * The common end of every update (PUT, patch, apply): system metadata, status handling,
   * generation, validation, managed fields, then the write, a no-op, or the deletion of an
   * object whose last finalizer went away.
   */
  finishUpdate(
    scope: RequestScope,
    options: WriteOptions,
    live: StoredObject,
    candidate: JsonObject,
    managed: ManagedFieldsMode,
  ): WriteResult {
    const { type, ctx } = scope;
    const old = live.object;
    const oldMeta = metaOf(old);
    let next = candidate;
    if (scope.subresource === "status") {
      const status = next.status;
      const managedFields = metaOf(next).managedFields;
      next = clone(old);
      if (status === undefined) delete next.status;
      else next.status = status;
      if (managedFields) metaOf(next).managedFields = managedFields;
    } else if (scope.subresource === "finalize") {
      const finalizers = isObject(next.spec) ? next.spec.finalizers : undefined;
      next = clone(old);
      const spec = isObject(next.spec) ? next.spec : {};
      if (finalizers === undefined) delete spec.finalizers;
      else spec.finalizers = finalizers;
      next.spec = spec;
    } else {
      if (type.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
      type.strategy.prepareForUpdate?.(next, old);
    }
    const meta = metaOf(next);
    keepSystemFields(meta, oldMeta);
    if (type.tracksGeneration) {
      const generation = typeof oldMeta.generation === "number" ? oldMeta.generation : 1;
      meta.generation = deepEqual(specOf(next), specOf(old)) ? generation : generation + 1;
    }
    const errors: FieldError[] = [
      ...validateObjectMeta(meta, type.nameRule, type.namespaced),
      ...validateObjectMetaUpdate(meta, oldMeta),
      ...(type.strategy.validate?.(next, old) ?? []),
      ...this.schemaErrors(scope, next, old),
    ];
    if (errors.length > 0) throw invalid(groupKind(type), oldMeta.name ?? "", errors);
    ctx.admission.validate({
      operation: "UPDATE",
      scope,
      name: oldMeta.name ?? "",
      namespace: oldMeta.namespace ?? "",
      object: next,
      oldObject: old,
      options,
    });
    const now = ctx.now();
    if (managed === "update") {
      const before = view(scope, old);
      const after = view(scope, next);
      recordUpdate(before, after, options.fieldManager, fieldManagerContext(scope, after, now));
      meta.managedFields = metaOf(after).managedFields;
    }
    if (!meta.managedFields) delete meta.managedFields;
    meta.resourceVersion = String(live.rv);
    const store = storeOf(scope);
    if (
      meta.deletionTimestamp &&
      (meta.finalizers ?? []).length === 0 &&
      !pendingNamespaceFinalizers(type.kind, next)
    ) {
      if (options.dryRun) return { object: old, code: 200 };
      ctx.storage.delete(store, live);
      return { object: old, code: 200 };
    }
    if (deepEqual(next, old)) return { object: old, code: 200 };
    if (options.dryRun) return { object: next, code: 200 };
    return { object: ctx.storage.write(store, "MODIFIED", next).object, code: 200 };
  }

  /** DELETE: marks the object as deleting while finalizers remain, removes it otherwise. */
  delete(
    scope: RequestScope,
    options: WriteOptions,
    name: string,
    deleteOptions: DeleteOptions,
  ): WriteResult {
    const { type, ctx } = scope;
    const live = this.live(scope, name);
    const meta = metaOf(live.object);
    const gr = groupResource(type);
    if (deleteOptions.uid !== undefined && deleteOptions.uid !== meta.uid) {
      throw conflict(
        gr,
        name,
        `Precondition failed: UID in precondition: ${deleteOptions.uid}, UID in object meta: ${meta.uid ?? ""}`,
      );
    }
    if (
      deleteOptions.resourceVersion !== undefined &&
      deleteOptions.resourceVersion !== meta.resourceVersion
    ) {
      throw conflict(
        gr,
        name,
        `Precondition failed: ResourceVersion in precondition: ${deleteOptions.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion ?? ""}`,
      );
    }
    ctx.admission.validate({
      operation: "DELETE",
      scope,
      name,
      namespace: meta.namespace ?? "",
      oldObject: live.object,
      options,
    });
    const next = clone(live.object);
    const nextMeta = metaOf(next);
    const now = ctx.now();
    type.strategy.beforeDelete?.(next, rfc3339(now));
    const pending = (nextMeta.finalizers ?? []).length > 0 || pendingNamespaceFinalizers(type.kind, next);
    const store = storeOf(scope);
    if (pending) {
      if (!nextMeta.deletionTimestamp) {
        if (type.tracksGeneration && typeof nextMeta.generation === "number") nextMeta.generation++;
        nextMeta.deletionTimestamp = rfc3339(now);
        nextMeta.deletionGracePeriodSeconds = 0;
      }
      if (deepEqual(next, live.object) || options.dryRun) return { object: next, code: 200 };
      return { object: ctx.storage.write(store, "MODIFIED", next).object, code: 200 };
    }
    if (!options.dryRun) ctx.storage.delete(store, live);
    if (type.returnDeletedObject) return { object: live.object, code: 200 };
    return {
      object: live.object,
      code: 200,
      status: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        details: { name, group: type.group, kind: type.resource, uid: meta.uid ?? "" },
      },
    };
  }

  /** Namespaced objects need their namespace, which must not be terminating (NamespaceLifecycle). */
  private checkNamespace(scope: RequestScope, namespace: string | undefined, name: string): void {
    if (!scope.type.namespaced || namespace === undefined) return;
    const ns = scope.ctx.storage.store("/namespaces", false).get(namespace);
    if (!ns) throw notFound({ group: "", resource: "namespaces" }, namespace);
    if (metaOf(ns.object).deletionTimestamp) {
      throw forbidden(
        groupResource(scope.type),
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        [
          {
            reason: "NamespaceTerminating",
            message: `namespace ${namespace} is being terminated`,
            field: "metadata.namespace",
          },
        ],
      );
    }
  }

  /** A custom resource's schema validation, with the stored object as oldSelf on update. */
  private schemaErrors(scope: RequestScope, object: JsonObject, old: JsonObject | undefined): FieldError[] {
    const schema = scope.version.schema;
    if (!schema) return [];
    const self = view(scope, object);
    return validateObject(schema, self, old ? view(scope, old) : undefined).map((cause) => ({
      type: cause.reason,
      field: cause.field,
      message: cause.message,
    }));
  }
}

function fillSystemFields(meta: ObjectMeta, tracksGeneration: boolean, now: Date): void {
  meta.uid = randomUUID();
  meta.creationTimestamp = rfc3339(now);
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  if (tracksGeneration) meta.generation = 1;
  else delete meta.generation;
}

/** rest.BeforeUpdate: identity and deletion state cannot be changed by an update. */
function keepSystemFields(meta: ObjectMeta, old: ObjectMeta): void {
  if (!meta.uid) meta.uid = old.uid!;
  if (old.creationTimestamp) meta.creationTimestamp = old.creationTimestamp;
  if (old.deletionTimestamp) meta.deletionTimestamp = old.deletionTimestamp;
  else delete meta.deletionTimestamp;
  if (old.deletionGracePeriodSeconds !== undefined)
    meta.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
  else delete meta.deletionGracePeriodSeconds;
  if (old.generation === undefined) delete meta.generation;
  else meta.generation = old.generation;
  delete meta.selfLink;
}

/** A namespace stays until the namespace controller has emptied it and removed spec.finalizers. */
function pendingNamespaceFinalizers(kind: string, object: JsonObject): boolean {
  if (kind !== "Namespace") return false;
  const spec = object.spec;
  return isObject(spec) && Array.isArray(spec.finalizers) && spec.finalizers.length > 0;
}
