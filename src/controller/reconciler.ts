// The contract between the manager and the controllers it runs (controller-runtime's, in
// TypeScript): a controller names its kind and what else it watches, and gets the shared parts
// (caches, status writer, events, Azure clients) to build its reconciler from.
import type { ClusterIssuer } from "../api/workload-identity.js";
import type { AzureClients, AzureEndpoints } from "../azure/clients.js";
import type { CredentialProvider } from "../azure/credentials.js";
import type { RateGate } from "../azure/rate-gate.js";
import type { TargetLock } from "../azure/target-lock.js";
import type { TenantRemediation } from "../config/controller-config.js";
import type { KubeClient } from "../kube/client.js";
import type { EventRecorder } from "../kube/events.js";
import type { Kind, KubeObject, ObjectRef, ResourceType } from "../kube/resources.js";
import type { StatusWriter } from "../kube/status.js";
import type { CacheReader, IndexFunc } from "../kube/store.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { ReconcileContext, ReconcileResult } from "../queue/index.js";
import type { UpdatePredicate } from "./predicates.js";

/** What a reconcile is about: its key (`Kind/namespace/name`) and the parts of it. */
export interface ReconcileRequest extends ObjectRef {
  key: string;
}

/**
 * A function of a key that re-reads the current state (from the caches) and makes the world match
 * it. It never learns which change caused it and returns the queue's decision: nothing,
 * `{ requeueAfterMs }` to be called again later, or a failure it judged and reported with the
 * error policy (`nextFor` / `judgeSync` in src/engine/error-policy.ts: retry with backoff, or
 * throttled, parked for Retry-After without counting an attempt). Anything it throws goes through
 * the policy's `classify`. `ctx` has the
 * reconcile's logger (with key and reconcileId), its attempt number and an AbortSignal that fires
 * when the key is lost or the replica shuts down past its grace period.
 */
export type Reconciler = (
  request: ReconcileRequest,
  ctx: ReconcileContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: a reconcile with nothing to requeue may simply not return.
) => Promise<ReconcileResult | void>;

/** A change of a watched object: `before` is absent for an add, `after` for a delete. */
export interface ObjectChange<T extends KubeObject = KubeObject> {
  before?: T;
  after?: T;
}

/** Changes of another kind that concern objects of this controller's kind (controller-runtime's Watches + a map function). */
export interface SecondaryWatch {
  resource: ResourceType;
  /** The keys of this controller's kind to reconcile after `change`; `caches` are the manager's. */
  map(change: ObjectChange, caches: Caches): Iterable<string>;
}

/** A secondary index on a cached kind, for `byIndex`. */
export interface IndexDefinition {
  resource: ResourceType;
  name: string;
  index: IndexFunc<KubeObject>;
}

export interface ControllerDefinition {
  /** The work queue's name and the `controller` label of the metrics, e.g. `userassignedidentity`. */
  name: string;
  /** The kind reconciled; one key per object. */
  resource: ResourceType;
  /** Which updates of its own kind enqueue (adds and deletes always do). Default: DEFAULT_PREDICATE. */
  predicate?: UpdatePredicate;
  watches?: readonly SecondaryWatch[];
  /** Kinds read from the cache without enqueuing on their changes. */
  reads?: readonly ResourceType[];
  indexes?: readonly IndexDefinition[];
  /**
   * Builds the reconciler from the manager's shared parts, once, before the informers start: read
   * the caches inside reconciles (workers start only after every cache has synced), not here.
   */
  setup(runtime: ControllerRuntime): ControllerHandlers;
}

export interface ControllerHandlers {
  reconcile: Reconciler;
  /**
   * Runs on the leader only (one replica at a time), e.g. a tenant-move sweep; `signal` aborts when
   * leadership is lost or the replica stops.
   */
  whileLeading?: (signal: AbortSignal) => void | Promise<void>;
}

/** The informer caches of every kind the controllers watch or read. */
export interface Caches {
  /** The cache of a kind some controller declared (as its kind, a watch or a read); throws otherwise. */
  of<T extends KubeObject = KubeObject>(resource: Kind<T>): CacheReader<T>;
}

export interface AzureRuntime {
  endpoints: AzureEndpoints;
  credentials: CredentialProvider;
  /** SDK clients per subscription, paced by `gate`, rebuilt when the credentials change. */
  clients: AzureClients;
  /** Shared by every replica (token buckets in Redis), scaled to the sandbox's clock. */
  gate: RateGate;
  /** Serialises identity PATCHes of one Azure resource across replicas (a Redis lock). */
  targetLock: TargetLock;
  /** ARM time runs this much faster (the sandbox's time scale; 1 against Azure). */
  timeScale: number;
}

export interface RuntimeSettings {
  tenantRemediation: TenantRemediation;
  /** Namespaces watched; empty: all. */
  namespaces: readonly string[];
  /** --resync-period (0: off); how long shared reads (Key Vaults) may be served from memory. */
  resyncPeriodMs?: number;
  /**
   * The cluster's service-account issuer, resolved once before the workers start (configured,
   * or discovered); absent until then and in runtimes that never resolve it.
   */
  serviceAccountIssuer?: ClusterIssuer;
}

/** What a controller's `setup` gets from the manager. */
export interface ControllerRuntime {
  readonly name: string;
  readonly kube: KubeClient;
  readonly caches: Caches;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly azure: AzureRuntime;
  readonly settings: RuntimeSettings;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Whether this replica holds the leader lease now. */
  isLeader(): boolean;
  /**
   * Adds a key of this controller's kind to its queue now (from a leader duty, say). Never fails:
   * while Redis is away the key is kept and added once it is back.
   */
  enqueue(key: string): void;
}

/** The cluster's service-account issuer as resolved at start, for the policy and the planner. */
export function issuerOf(runtime: Pick<ControllerRuntime, "settings">): {
  serviceAccountIssuer?: ClusterIssuer;
} {
  const issuer = runtime.settings.serviceAccountIssuer;
  return issuer ? { serviceAccountIssuer: issuer } : {};
}
