import type { KubernetesObject } from "@kubernetes/client-node";
import { KINDS } from "../api/kinds.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { IdentityPolicy } from "../api/schemas/identity-policy.js";
import type { SystemAssignedIdentity } from "../api/schemas/system-assigned-identity.js";
import type { TenantMigration } from "../api/schemas/tenant-migration.js";
import type { UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import { AzidError } from "../util/errors.js";

/** An object as the API server sends it: JSON, timestamps as RFC 3339 strings. */
export interface KubeObject extends KubernetesObject {
  metadata?: KubernetesObject["metadata"] & { generation?: number };
  spec?: unknown;
  status?: unknown;
}

/** Where a kind lives in the API. */
export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const AZID_GROUP = "azid.dev";
export const AZID_VERSION = "v1alpha1";

/** The azid.dev kinds, by kind name. */
export const AZID_RESOURCES: Readonly<Record<string, ResourceType>> = Object.fromEntries(
  KINDS.map((definition) => [
    definition.kind,
    {
      group: AZID_GROUP,
      version: AZID_VERSION,
      plural: definition.plural,
      kind: definition.kind,
      namespaced: definition.scope === "Namespaced",
    },
  ]),
);

/**
 * A kind and the type of its objects: caches and writers read through it give that type, so no
 * cast of a Kubernetes object is needed.
 */
export interface Kind<T extends KubeObject = KubeObject> extends ResourceType {
  /** Never set: carries the objects' type for the compiler. */
  readonly objectType?: T;
}

function azidKind<T extends KubeObject>(kind: string): Kind<T> {
  const resource = AZID_RESOURCES[kind];
  if (!resource) throw new Error(`${kind} is not an azid.dev kind (src/api/kinds.ts)`);
  return resource;
}

/** A typed handle per azid.dev kind. */
export const USER_ASSIGNED_IDENTITIES = azidKind<UserAssignedIdentity & KubeObject>("UserAssignedIdentity");
export const SYSTEM_ASSIGNED_IDENTITIES = azidKind<SystemAssignedIdentity & KubeObject>(
  "SystemAssignedIdentity",
);
export const CUSTOM_ROLES = azidKind<CustomRole & KubeObject>("CustomRole");
export const IDENTITY_POLICIES = azidKind<IdentityPolicy & KubeObject>("IdentityPolicy");
export const TENANT_MIGRATIONS = azidKind<TenantMigration & KubeObject>("TenantMigration");

export const NAMESPACES: Kind = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};

/** The collection path, for one namespace or (without one, or for a cluster-scoped kind) the whole cluster. */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const root =
    resource.group === "" ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const scoped = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${root}${scoped}/${resource.plural}`;
}

/** What a reconcile is about: `Kind/namespace/name`, the namespace empty for cluster-scoped kinds. */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

export class InvalidKeyError extends AzidError {
  override readonly name = "InvalidKeyError";
  readonly errorCode = "kube.InvalidKey";
  readonly code = "InvalidKey";
}

export function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}

export function objectKey(resource: ResourceType, object: KubeObject): string {
  return keyOf(
    resource.kind,
    resource.namespaced ? object.metadata?.namespace : "",
    object.metadata?.name ?? "",
  );
}

/** Parses `Kind/namespace/name`; names and namespaces never contain '/', so the split is exact. */
export function parseKey(key: string): ObjectRef {
  const parts = key.split("/");
  if (parts.length !== 3 || !parts[0] || !parts[2]) {
    throw new InvalidKeyError(`not a reconcile key (Kind/namespace/name): ${JSON.stringify(key)}`);
  }
  return { kind: parts[0], namespace: parts[1] ?? "", name: parts[2] };
}

/** `namespace/name` (or `name` for cluster-scoped objects): the informer cache's own key. */
export function cacheKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
