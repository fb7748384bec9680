import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type RequestContext,
  setHeaderOptions,
  VersionApi,
  Watch,
  WellKnownApi,
} from "@kubernetes/client-node";
import { KubeConfigError, toKubeError } from "./errors.js";
import {
  AZID_GROUP,
  apiVersionOf,
  collectionPath,
  type KubeObject,
  NAMESPACES,
  type ResourceType,
} from "./resources.js";

/** The field manager azid's writes are recorded under (managedFields). */
export const FIELD_MANAGER = "azid-controller";

export interface KubeConfigSource {
  /** A kubeconfig file (`--kubeconfig`, or the sandbox file's). Without it: in-cluster, then $KUBECONFIG / ~/.kube/config. */
  kubeconfigPath?: string;
}

/** Loads the client configuration as kubectl and controller-runtime do, failing clearly when there is none. */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const config = new KubeConfig();
  try {
    if (source.kubeconfigPath) config.loadFromFile(source.kubeconfigPath);
    else if (process.env.KUBERNETES_SERVICE_HOST) config.loadFromCluster();
    else config.loadFromDefault();
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    // client-node repeats the file system's message in its own; say it once, plainly.
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : message;
    throw new KubeConfigError(
      `cannot load the Kubernetes configuration${source.kubeconfigPath ? ` from ${source.kubeconfigPath}` : ""}: ${why}`,
      { cause: error },
    );
  }
  const cluster = config.getCurrentCluster();
  if (!cluster?.server) {
    // A file was given and read, but it is not a kubeconfig (or names no current context).
    if (source.kubeconfigPath) {
      throw new KubeConfigError(
        `${source.kubeconfigPath} is not a usable kubeconfig: it names no current context with a ` +
          `cluster server (kubectl config view --kubeconfig ${source.kubeconfigPath} shows what it holds)`,
      );
    }
    throw new KubeConfigError(
      "no Kubernetes API server configured: give --kubeconfig, --sandbox, or run in a cluster",
    );
  }
  return config;
}

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

/**
 * The KubeConfig as API clients' authentication, with one connection pool per cluster and user.
 * client-node builds a new undici Agent for every request that carries TLS settings (a CA, a
 * client certificate, or skipped verification): every call opened a new connection, and a new TLS
 * handshake, left idle until its keep-alive ran out. Its https.Agent path caches agents by cluster
 * and user; this does the same for the undici path.
 */
function withConnectionPool(config: KubeConfig): KubeConfig {
  const pools = new Map<string, Dispatcher>();
  const pooled = Object.create(config) as KubeConfig;
  pooled.applySecurityAuthentication = async (context: RequestContext) => {
    await config.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const key = JSON.stringify([config.getCurrentCluster()?.name, config.getCurrentUser()?.name]);
    const pool = pools.get(key);
    if (!pool) {
      pools.set(key, fresh);
      return;
    }
    // The fresh Agent never connected: closing it frees nothing but its timers.
    void fresh.close().catch(() => undefined);
    context.setDispatcher(pool);
  };
  return pooled;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export interface WatchOptions {
  namespace?: string;
  resourceVersion: string;
  labelSelector?: string;
  /** The server ends the watch after this long (client-go picks 5 to 10 minutes at random). */
  timeoutSeconds?: number;
}

/** One watch event as the API server sends it. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

/** A JSON patch (RFC 6902), the one patch type that can carry a `test` precondition. */
export type JsonPatch = ReadonlyArray<
  { op: "add" | "replace" | "test"; path: string; value: unknown } | { op: "remove"; path: string }
>;

/**
 * The API access azid needs, on @kubernetes/client-node: reads, lists and watches of any kind
 * it caches (the azid kinds and Namespaces), status writes, JSON patches, and the typed clients
 * of Leases and events.k8s.io Events. Objects are plain JSON as the server sends them.
 */
export class KubeClient {
  readonly customObjects: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly events: EventsV1Api;
  /** Kinds azid does not define (ServiceAccounts, ConfigMaps, Secrets, workloads), by apiVersion and kind. */
  private readonly objects: KubernetesObjectApi;
  private readonly versionApi: VersionApi;
  private readonly wellKnown: WellKnownApi;
  private readonly watcher: Watch;

  constructor(readonly config: KubeConfig) {
    const pooled = withConnectionPool(config);
    this.customObjects = pooled.makeApiClient(CustomObjectsApi);
    this.core = pooled.makeApiClient(CoreV1Api);
    this.coordination = pooled.makeApiClient(CoordinationV1Api);
    this.events = pooled.makeApiClient(EventsV1Api);
    this.versionApi = pooled.makeApiClient(VersionApi);
    this.wellKnown = pooled.makeApiClient(WellKnownApi);
    this.objects = pooled.makeApiClient(KubernetesObjectApi);
    this.watcher = new Watch(config);
  }

  /** The API server's URL, for logs. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? "";
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject>(
    resource: ResourceType,
    namespace: string,
    name: string,
  ): Promise<T | undefined> {
    try {
      if (isNamespaces(resource)) return plain(await this.core.readNamespace({ name })) as T;
      if (isForeign(resource)) {
        return plain(await this.objects.read({ ...this.reference(resource, namespace, name) })) as T;
      }
      const where = this.coordinates(resource);
      const object = resource.namespaced
        ? await this.customObjects.getNamespacedCustomObject({ ...where, namespace, name })
        : await this.customObjects.getClusterCustomObject({ ...where, name });
      return object as T;
    } catch (error) {
      const kubeError = toKubeError(error, `get ${resource.kind} ${describe(namespace, name)}`);
      if ((kubeError as { code?: unknown }).code === 404) return undefined;
      throw kubeError;
    }
  }

  /** One page of a list (all namespaces unless one is given). */
  async list<T extends KubeObject>(resource: ResourceType, options: ListOptions = {}): Promise<ListPage<T>> {
    const params = {
      labelSelector: options.labelSelector,
      limit: options.limit,
      _continue: options.continue,
    };
    let list: {
      items?: unknown[];
      metadata?: { resourceVersion?: string; _continue?: string; continue?: string };
    };
    try {
      if (isNamespaces(resource)) {
        list = plain(await this.core.listNamespace(params)) as typeof list;
      } else if (isForeign(resource)) {
        const { labelSelector, limit, _continue } = params;
        list = plain(
          await this.objects.list(
            apiVersionOf(resource),
            resource.kind,
            resource.namespaced ? options.namespace : undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            labelSelector,
            limit,
            _continue,
          ),
        ) as typeof list;
      } else {
        const where = this.coordinates(resource);
        list =
          resource.namespaced && options.namespace
            ? await this.customObjects.listNamespacedCustomObject({
                ...where,
                namespace: options.namespace,
                ...params,
              })
            : await this.customObjects.listClusterCustomObject({ ...where, ...params });
      }
    } catch (error) {
      throw toKubeError(error, `list ${resource.plural}`);
    }
    return {
      items: (list.items ?? []) as T[],
      resourceVersion: list.metadata?.resourceVersion ?? "",
      continue: list.metadata?.continue || list.metadata?._continue || undefined,
    };
  }

  /**
   * Opens a watch; `onEvent` gets each event in order, `onDone` once when it ends (null when the
   * server closed it cleanly). Returns the controller that aborts it.
   */
  watch(
    resource: ResourceType,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController> {
    return this.watcher.watch(
      collectionPath(resource, options.namespace),
      {
        resourceVersion: options.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: options.labelSelector,
        timeoutSeconds: options.timeoutSeconds,
      },
      (type, object) => onEvent({ type: type as WatchEvent["type"], object }),
      onDone,
    );
  }

  /** PUT of the status subresource; the object's resourceVersion makes it fail with 409 when stale. */
  async replaceStatus<T extends KubeObject>(resource: ResourceType, object: T): Promise<T> {
    const { namespace, name } = nameOf(object);
    try {
      const where = { ...this.coordinates(resource), name, body: object, fieldManager: FIELD_MANAGER };
      const written = resource.namespaced
        ? await this.customObjects.replaceNamespacedCustomObjectStatus({ ...where, namespace })
        : await this.customObjects.replaceClusterCustomObjectStatus(where);
      return written as T;
    } catch (error) {
      throw toKubeError(error, `update the status of ${resource.kind} ${describe(namespace, name)}`);
    }
  }

  /** A JSON patch of the object (not its status): the patch type whose `test` operations make it conditional. */
  async jsonPatch<T extends KubeObject>(
    resource: ResourceType,
    namespace: string,
    name: string,
    patch: JsonPatch,
  ): Promise<T> {
    if (isNamespaces(resource)) throw new KubeConfigError("azid never patches Namespaces");
    const options = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
    try {
      const where = { ...this.coordinates(resource), name, body: patch, fieldManager: FIELD_MANAGER };
      const written = resource.namespaced
        ? await this.customObjects.patchNamespacedCustomObject({ ...where, namespace }, options)
        : await this.customObjects.patchClusterCustomObject(where, options);
      return written as T;
    } catch (error) {
      throw toKubeError(error, `patch ${resource.kind} ${describe(namespace, name)}`);
    }
  }

  /**
   * Server-side apply of `body` (apiVersion, kind and metadata are filled in) under azid's field
   * manager: azid then owns exactly the fields the body carries. `force` takes fields another
   * manager owns (without it, that is a 409 conflict).
   */
  async apply<T extends KubeObject>(
    resource: ResourceType,
    namespace: string,
    name: string,
    body: Omit<KubeObject, "apiVersion" | "kind">,
    options: { force: boolean },
  ): Promise<T> {
    const reference = this.reference(resource, namespace, name);
    const object = { ...body, ...reference, metadata: { ...body.metadata, ...reference.metadata } };
    try {
      return plain(
        await this.objects.patch(
          object,
          undefined,
          undefined,
          FIELD_MANAGER,
          options.force,
          PatchStrategy.ServerSideApply,
        ),
      ) as T;
    } catch (error) {
      throw toKubeError(error, `apply ${resource.kind} ${describe(namespace, name)}`);
    }
  }

  /** A JSON merge patch (RFC 7386) of a kind azid does not define, as `kubectl patch --type merge`. */
  async mergePatch<T extends KubeObject>(
    resource: ResourceType,
    namespace: string,
    name: string,
    patch: Record<string, unknown>,
  ): Promise<T> {
    const reference = this.reference(resource, namespace, name);
    try {
      return plain(
        await this.objects.patch(
          { ...patch, ...reference },
          undefined,
          undefined,
          FIELD_MANAGER,
          undefined,
          PatchStrategy.MergePatch,
        ),
      ) as T;
    } catch (error) {
      throw toKubeError(error, `patch ${resource.kind} ${describe(namespace, name)}`);
    }
  }

  private reference(resource: ResourceType, namespace: string, name: string) {
    return {
      apiVersion: apiVersionOf(resource),
      kind: resource.kind,
      metadata: resource.namespaced ? { name, namespace } : { name },
    };
  }

  /** The API server's version: the cheapest authenticated round trip, for readiness. */
  async version(): Promise<string> {
    const info = await this.versionApi.getCode();
    return info.gitVersion;
  }

  /**
   * The API server's service-account issuer discovery document
   * (`GET /.well-known/openid-configuration`, ServiceAccountIssuerDiscovery), as JSON.
   */
  async serviceAccountIssuerDiscovery(): Promise<unknown> {
    try {
      const body: unknown = await this.wellKnown.getServiceAccountIssuerOpenIDConfiguration();
      return typeof body === "string" ? JSON.parse(body) : body;
    } catch (error) {
      if (error instanceof SyntaxError) throw error;
      throw toKubeError(error, "get /.well-known/openid-configuration");
    }
  }

  private coordinates(resource: ResourceType): { group: string; version: string; plural: string } {
    if (resource.group === "") {
      throw new KubeConfigError(`core resource ${resource.plural} is not supported (only namespaces)`);
    }
    return { group: resource.group, version: resource.version, plural: resource.plural };
  }
}

/** A kind azid does not define (core or apps): served through the generic object API. */
function isForeign(resource: ResourceType): boolean {
  return resource.group !== AZID_GROUP && !isNamespaces(resource);
}

function isNamespaces(resource: ResourceType): boolean {
  return resource.group === NAMESPACES.group && resource.plural === NAMESPACES.plural;
}

/** client-node's typed models carry Dates; the cache keeps what the wire carries (strings). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function nameOf(object: KubeObject): { namespace: string; name: string } {
  return { namespace: object.metadata?.namespace ?? "", name: object.metadata?.name ?? "" };
}

function describe(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
