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
  /** What an informer of this kind lists and keeps (kinds azid does not own: only what it reads). */
  cache?: CacheShape;
}

/** Narrows an informer: a label selector for the list and watch, and what is kept of each object. */
export interface CacheShape {
  labelSelector?: string;
  /** Returns the part of the object the cache keeps; the rest is garbage at once. */
  transform?: (object: KubeObject) => KubeObject;
}

/** The API version of a kind as objects carry it: `v1` for the core group, `group/version` otherwise. */
export function apiVersionOf(resource: ResourceType): string {
  return resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;
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

/** The label azid puts on what it creates in a namespace, to cache only those (the exports). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_AZID = "azid";

/** The annotations prefix of Azure Workload Identity; a cached ServiceAccount keeps only these. */
export const WORKLOAD_IDENTITY_PREFIX = "azure.workload.identity/";

/**
 * ServiceAccounts: every one of the cluster is watched (one may appear that an identity names),
 * but only its name, namespace, resourceVersion and workload-identity annotations are kept.
 */
export const SERVICE_ACCOUNTS: Kind = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
  cache: { transform: keepMetadata(WORKLOAD_IDENTITY_PREFIX) },
};

/** The exports azid wrote (labelled managed-by=azid): the ConfigMaps and Secrets of others are never cached. */
export const CONFIG_MAPS: Kind = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
  cache: { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_AZID}` },
};
export const SECRETS: Kind = {
  group: "",
  version: "v1",
  plural: "secrets",
  kind: "Secret",
  namespaced: true,
  cache: { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_AZID}` },
};

/** The workloads azid restarts; never cached: listed in one namespace when a client id changes. */
export const WORKLOAD_KINDS: readonly ResourceType[] = ["Deployment", "StatefulSet", "DaemonSet"].map(
  (kind) => ({
    group: "apps",
    version: "v1",
    plural: `${kind.toLowerCase()}s`,
    kind,
    namespaced: true,
  }),
);

/** A transform keeping identity metadata and the annotations under one prefix. */
function keepMetadata(annotationPrefix: string): (object: KubeObject) => KubeObject {
  return (object) => {
    const metadata = object.metadata ?? {};
    const annotations = Object.entries(metadata.annotations ?? {}).filter(([key]) =>
      key.startsWith(annotationPrefix),
    );
    return {
      apiVersion: object.apiVersion,
      kind: object.kind,
      metadata: {
        name: metadata.name,
        namespace: metadata.namespace,
        uid: metadata.uid,
        resourceVersion: metadata.resourceVersion,
        ...(annotations.length > 0 ? { annotations: Object.fromEntries(annotations) } : {}),
      },
    };
  };
}

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
