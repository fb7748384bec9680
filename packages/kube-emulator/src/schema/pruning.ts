// Pruning (pkg/apiserver/schema/pruning/algorithm.go), the removal of non-nullable nulls without a
// default (defaulting/prunenulls.go), and the ObjectMeta coercion of embedded resources
// (objectmeta/coerce.go): what the API server does to a custom resource as it decodes it.
import { isJsonObject, type JsonObject } from "./json.js";
import {
  additionalProperties,
  hasDefault,
  isEmbeddedResource,
  isNullable,
  items,
  metaFields,
  preservesUnknownFields,
  property,
} from "./schema-model.js";
import type { JsonSchemaProps } from "./types.js";

/** The fields of ObjectMeta as serialized; anything else in an embedded resource's metadata is dropped. */
const objectMetaFields = new Set([
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
]);

class UnknownFieldPaths {
  readonly paths: string[] = [];
  private readonly parent: string[] = [];

  withKey<T>(key: string, visit: () => T): T {
    const length = this.parent.length;
    if (length > 0) this.parent.push(".");
    this.parent.push(key);
    try {
      return visit();
    } finally {
      this.parent.length = length;
    }
  }

  withIndex<T>(index: number, visit: () => T): T {
    const length = this.parent.length;
    this.parent.push("[", String(index), "]");
    try {
      return visit();
    } finally {
      this.parent.length = length;
    }
  }

  record(key: string): void {
    this.withKey(key, () => this.paths.push(this.parent.join("")));
  }

  get depth(): number {
    return this.parent.length;
  }
}

/** Prunes in place and returns the sorted paths of the dropped fields ("spec.foo", "spec.list[0].bar"). */
export function pruneInPlace(
  object: unknown,
  schema: JsonSchemaProps | undefined,
  isResourceRoot: boolean,
): string[] {
  const root = isResourceRoot ? { ...(schema ?? {}), "x-kubernetes-embedded-resource": true } : schema;
  const tracker = new UnknownFieldPaths();
  prune(object, root, tracker);
  coerceEmbedded(object, root, tracker, isResourceRoot);
  return tracker.paths.sort();
}

function prune(x: unknown, s: JsonSchemaProps | undefined, tracker: UnknownFieldPaths): void {
  if (s && preservesUnknownFields(s)) {
    skipPrune(x, s, tracker);
    return;
  }
  if (isJsonObject(x)) {
    for (const key of Object.keys(x)) {
      if (!s) {
        tracker.record(key);
        delete x[key];
        continue;
      }
      if (isEmbeddedResource(s) && metaFields.has(key)) continue;
      const prop = property(s, key);
      const additional = additionalProperties(s);
      if (prop) tracker.withKey(key, () => prune(x[key], prop, tracker));
      else if (additional) tracker.withKey(key, () => prune(x[key], additional.schema, tracker));
      else {
        if (!metaFields.has(key) || tracker.depth > 0) tracker.record(key);
        delete x[key];
      }
    }
  } else if (Array.isArray(x)) {
    const itemSchema = s ? items(s) : undefined;
    x.forEach((item, i) => {
      tracker.withIndex(i, () => prune(item, itemSchema, tracker));
    });
  }
}

function skipPrune(x: unknown, s: JsonSchemaProps, tracker: UnknownFieldPaths): void {
  if (isJsonObject(x)) {
    for (const key of Object.keys(x)) {
      if (isEmbeddedResource(s) && metaFields.has(key)) continue;
      const prop = property(s, key);
      const additional = additionalProperties(s);
      if (prop) tracker.withKey(key, () => prune(x[key], prop, tracker));
      else if (additional) tracker.withKey(key, () => prune(x[key], additional.schema, tracker));
    }
  } else if (Array.isArray(x)) {
    const itemSchema = items(s);
    if (!itemSchema) return;
    x.forEach((item, i) => {
      tracker.withIndex(i, () => skipPrune(item, itemSchema, tracker));
    });
  }
}

/** Drops unknown ObjectMeta fields of embedded resources (not the root's: the server owns that). */
function coerceEmbedded(
  x: unknown,
  s: JsonSchemaProps | undefined,
  tracker: UnknownFieldPaths,
  isResourceRoot: boolean,
): void {
  if (!s) return;
  if (isJsonObject(x)) {
    if (isEmbeddedResource(s) && !isResourceRoot && isJsonObject(x.metadata)) {
      const metadata = x.metadata as JsonObject;
      tracker.withKey("metadata", () => {
        for (const key of Object.keys(metadata)) {
          if (objectMetaFields.has(key)) continue;
          tracker.record(key);
          delete metadata[key];
        }
      });
      if (metadata.creationTimestamp === null) delete metadata.creationTimestamp;
    }
    for (const key of Object.keys(x)) {
      const prop = property(s, key);
      const additional = additionalProperties(s);
      const sub = prop ?? additional?.schema;
      if (sub) tracker.withKey(key, () => coerceEmbedded(x[key], sub, tracker, false));
    }
  } else if (Array.isArray(x)) {
    const itemSchema = items(s);
    x.forEach((item, i) => {
      tracker.withIndex(i, () => coerceEmbedded(item, itemSchema, tracker, false));
    });
  }
}

function schemaForField(field: string, s: JsonSchemaProps | undefined): JsonSchemaProps | undefined {
  if (!s) return undefined;
  return property(s, field) ?? additionalProperties(s)?.schema;
}

/** PruneNonNullableNullsWithoutDefaults: nulls the schema does not allow and cannot default are removed. */
export function pruneNonNullableNulls(x: unknown, s: JsonSchemaProps | undefined): void {
  if (isJsonObject(x)) {
    for (const key of Object.keys(x)) {
      const sub = schemaForField(key, s);
      if (x[key] === null && sub && !isNullable(sub) && !hasDefault(sub)) delete x[key];
      else pruneNonNullableNulls(x[key], sub);
    }
  } else if (Array.isArray(x)) {
    const itemSchema = s ? items(s) : undefined;
    for (const item of x) pruneNonNullableNulls(item, itemSchema);
  }
}
