// What the server knows about one resource (a built-in kind or a custom resource): its
// names for discovery, its versions with their types, and the strategy hooks that the
// generic store calls, as the API server's registry.Store is parameterised per kind.
import type { FieldError } from "../errors.js";
import type { JsonObject } from "../json.js";
import type { ScalePaths } from "../rest/scale.js";
import type { JsonSchemaProps } from "../schema/index.js";
import type { TypeNode } from "../typed.js";

/** One column of the Table a `kubectl get` prints (metav1.TableColumnDefinition plus its cell). */
export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  cell(object: JsonObject, now: number): unknown;
}

/** How a served version's objects look and convert from and to the stored form. */
export interface ResourceVersion {
  name: string;
  /** The object's type, for strict decoding, strategic merge patch and server-side apply. */
  type: TypeNode;
  /** The name of the built-in kind's schema in the OpenAPI components. */
  openApiComponent?: string;
  /** The CRD's openAPIV3Schema, for the schema engine (custom resources only). */
  schema?: JsonSchemaProps;
  columns: PrinterColumn[];
  /** Conversions when this version's shape differs from the stored one (events.k8s.io). */
  fromStorage?(stored: JsonObject): JsonObject;
  toStorage?(object: JsonObject): JsonObject;
  /** Field selector names of this version mapped to the stored object's (events.k8s.io). */
  fieldLabelToStorage?: Record<string, string>;
  deprecationWarning?: string;
}

export type NameRule = "subdomain" | "label" | "label1035";

/** Per-kind behaviour around the generic create / update / delete. */
export interface Strategy {
  /** Normalises a new object before validation (status reset, defaults the server sets). */
  prepareForCreate?(object: JsonObject): void;
  /** Normalises an updated object; `old` is the stored state. */
  prepareForUpdate?(object: JsonObject, old: JsonObject): void;
  validate?(object: JsonObject, old: JsonObject | undefined): FieldError[];
  /** Marks an object on its first DELETE (a CRD's cleanup finalizer, a namespace's Terminating phase). */
  beforeDelete?(object: JsonObject, now: string): void;
}

export interface ResourceType {
  readonly group: string;
  /** Served versions, the preferred one first. */
  readonly versions: readonly ResourceVersion[];
  readonly storageVersion: string;
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly string[];
  /** Resources served by two groups share one store (core/v1 and events.k8s.io/v1 events). */
  readonly storeId: string;
  readonly statusSubresource: boolean;
  /** The scale subresource, when served: where the kind keeps its replicas and selector. */
  readonly scale?: ScalePaths;
  /** Whether metadata.generation is maintained (custom resources and kinds with a spec). */
  readonly tracksGeneration: boolean;
  /** PUT of a missing object creates it (Leases, Events). */
  readonly allowCreateOnUpdate: boolean;
  /** PUT without a resourceVersion overwrites; custom resources refuse it with 422. */
  readonly allowUnconditionalUpdate: boolean;
  /** DELETE answers with the object rather than a Status (registry.Store.ReturnDeletedObject). */
  readonly returnDeletedObject: boolean;
  readonly nameRule: NameRule;
  readonly strategy: Strategy;
  /** Field selector values beyond metadata.name and metadata.namespace, read from the stored object. */
  readonly selectableFields?: (object: JsonObject) => Record<string, string>;
  /** Set for custom resources: the CustomResourceDefinition that serves them. */
  readonly crdName?: string;
}

export const STANDARD_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function versionOf(type: ResourceType, name: string): ResourceVersion | undefined {
  return type.versions.find((v) => v.name === name);
}

/** The fields every object can be selected by, plus the kind's own. */
export function fieldSet(type: ResourceType, object: JsonObject): Record<string, string> {
  const meta = object.metadata as { name?: string; namespace?: string };
  const fields: Record<string, string> = { "metadata.name": meta.name ?? "" };
  if (type.namespaced) fields["metadata.namespace"] = meta.namespace ?? "";
  if (type.selectableFields) Object.assign(fields, type.selectableFields(object));
  return fields;
}
