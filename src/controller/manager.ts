import { randomUUID } from "node:crypto";
import type { AzureEndpoints } from "../azure/clients.js";
import type { CredentialProvider } from "../azure/credentials.js";
import { classify } from "../engine/error-policy.js";
import type { KubeClient } from "../kube/client.js";
import { EventRecorder } from "../kube/events.js";
import { LeaderElector } from "../kube/leader-election.js";
import { type KubeObject, objectKey, parseKey } from "../kube/resources.js";
import { StatusWriter } from "../kube/status.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { type RedisConnectionOptions, WorkQueue, type WorkQueueOptions } from "../queue/index.js";
import { AzureWiring } from "./azure-wiring.js";
import { cacheSyncTimeoutError } from "./cache-sync-error.js";
import { InformerSet } from "./caches.js";
import { Enqueuer } from "./enqueuer.js";
import { ControllerError } from "./errors.js";
import { checkThat, type HealthCheck, type HealthReport, runChecks } from "./health.js";
import { keepLeaderDuty } from "./leader-duties.js";
import { DEFAULT_PREDICATE } from "./predicates.js";
import type {
  ControllerDefinition,
  ControllerHandlers,
  ControllerRuntime,
  RuntimeSettings,
} from "./reconciler.js";

export interface ManagerOptions {
  client: KubeClient;
  redis: RedisConnectionOptions;
  redisPrefix: string;
  controllers: readonly ControllerDefinition[];
  settings: RuntimeSettings;
  /** Reconciles at once per controller on this replica. */
  concurrency: number;
  /** Every key is reconciled at least this often; 0 turns resync off. */
  resyncPeriodMs: number;
  /** The Lease that elects the replica running the singleton duties. */
  leaderElection: { namespace: string; name: string };
  /** This replica's name (the pod's): Events' reportingInstance and the Lease holder's prefix. */
  podName: string;
  azure: { endpoints: AzureEndpoints; credentials: CredentialProvider; timeScale: number };
  logger: Logger;
  metrics: Metrics;
  tuning?: ManagerTuning;
}

/** Timings with production defaults that tests shorten. */
export interface ManagerTuning {
  queue?: Pick<WorkQueueOptions, "lockDurationMs" | "stalledIntervalMs" | "backoff" | "retryBucket">;
  lease?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  informerBackoff?: { baseMs: number; capMs: number };
  /** How often the credentials file is looked at. Default 10 s. */
  credentialsPollMs?: number;
  /** Start fails when the caches have not synced by then (controller-runtime: 2 min). */
  cacheSyncTimeoutMs?: number;
  /** Each readiness check's time limit. Default 2 s. */
  healthTimeoutMs?: number;
  /** How long a failed add waits before it is tried again. Default 1 s. */
  addRetryMs?: number;
  /** The wait before a failed leader duty starts again, doubling per failure. Default 1 s to 1 min. */
  dutyBackoff?: { baseMs: number; capMs: number };
}

interface RunningController {
  definition: ControllerDefinition;
  queue: WorkQueue;
  enqueuer: Enqueuer;
  handlers?: ControllerHandlers;
}

/**
 * controller-runtime's manager: one work queue per controller, the informers of every kind the
 * controllers need (synced before any worker starts), their changes mapped to keys, resync through
 * each queue's single scheduler, leader election for singleton duties (workers run on every
 * replica), credentials reload, readiness, and a graceful stop.
 */
export class Manager {
  readonly identity: string;
  private readonly informers: InformerSet;
  private readonly status: StatusWriter;
  private readonly events: EventRecorder;
  private readonly elector: LeaderElector;
  private readonly controllers: RunningController[] = [];
  /**
   * The manager's own Redis connection, opened first whatever the controllers: it fails a start
   * against an unreachable Redis, answers the readiness check, and holds the Azure token buckets.
   */
  private shared: WorkQueue | undefined;
  private readonly azure: AzureWiring;
  private state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  private stopped: Promise<void> | undefined;
  private readonly startAbort = new AbortController();

  constructor(private readonly options: ManagerOptions) {
    const names = new Set<string>(["manager"]);
    for (const controller of options.controllers) {
      if (names.has(controller.name))
        throw new ControllerError(
          "DuplicateController",
          `a controller cannot be named ${controller.name}: taken`,
        );
      names.add(controller.name);
    }
    this.azure = new AzureWiring({
      ...options.azure,
      metrics: options.metrics,
      logger: options.logger,
      credentialsPollMs: options.tuning?.credentialsPollMs,
    });
    this.identity = `${options.podName}_${randomUUID().slice(0, 8)}`;
    const logger = options.logger;
    this.informers = new InformerSet(
      {
        client: options.client,
        namespaces: options.settings.namespaces,
        logger,
        backoff: options.tuning?.informerBackoff,
      },
      options.controllers,
    );
    this.status = new StatusWriter({ client: options.client, logger });
    this.events = new EventRecorder({ client: options.client, reportingInstance: options.podName, logger });
    this.elector = new LeaderElector({
      client: options.client,
      namespace: options.leaderElection.namespace,
      name: options.leaderElection.name,
      identity: this.identity,
      logger,
      ...options.tuning?.lease,
      onStartedLeading: (signal) => this.lead(signal),
    });
  }

  isLeader(): boolean {
    return this.elector.isLeader();
  }

  /** The shared caches (informers), for tests and tools. */
  get caches(): InformerSet {
    return this.informers;
  }

  /**
   * Opens the queues (Redis), builds the controllers, starts the informers and waits for them to
   * sync, then starts the workers, leader election and the credentials watch.
   */
  async start(): Promise<void> {
    if (this.state !== "new") throw new ControllerError("AlreadyStarted", "a manager starts once");
    this.state = "starting";
    const { logger } = this.options;
    try {
      const shared = await this.openQueue("manager");
      if (this.state !== "starting") {
        await shared.close({ gracePeriodMs: 0 });
        throw new ControllerError("StoppedWhileStarting", "the manager stopped while starting");
      }
      this.shared = shared;
      for (const definition of this.options.controllers) await this.openController(definition);
      for (const controller of this.controllers) this.watch(controller);
      for (const controller of this.controllers) {
        controller.handlers = controller.definition.setup(this.runtimeFor(controller));
      }
      this.informers.start();
      await this.waitForCaches();
      for (const controller of this.controllers) await this.startWorkers(controller);
      if (this.state !== "starting")
        throw new ControllerError("StoppedWhileStarting", "the manager stopped while starting");
      this.elector.start();
      // A new tenant's credential is used at once, for every resource.
      this.azure.watchCredentials(() => this.reconcileEverything("credentials changed"));
      this.state = "running";
      logger.info(
        { controllers: this.controllers.map((c) => c.definition.name), identity: this.identity },
        "manager started",
      );
    } catch (error) {
      await this.stop({ gracePeriodMs: 0 });
      throw error;
    }
  }

  /** Liveness: the process serves; a manager that stopped is not alive. */
  async liveness(): Promise<HealthReport> {
    const alive = checkThat(
      "manager",
      () => this.state !== "stopped",
      () => "stopped",
    );
    return runChecks([alive], 1000);
  }

  /** Readiness: started and not stopping, caches synced, Redis and the API server answering. */
  async readiness(): Promise<HealthReport> {
    const checks: HealthCheck[] = [
      checkThat(
        "manager",
        () => this.state === "running",
        () => this.state,
      ),
      checkThat(
        "informers",
        () => this.informers.hasSynced(),
        () => "caches not synced",
      ),
      { name: "apiserver", run: () => this.options.client.version() },
      checkThat(
        "redis",
        async () => (await this.shared?.isHealthy()) === true,
        () => "Redis does not answer",
      ),
    ];
    return runChecks(checks, this.options.tuning?.healthTimeoutMs ?? 2000);
  }

  /**
   * Stops taking work and lets running reconciles finish within the grace period (the rest are
   * handed back to the queue for another replica), ends leader duties and releases the lease.
   */
  stop(options: { gracePeriodMs: number }): Promise<void> {
    this.stopped ??= this.shutdown(options.gracePeriodMs);
    return this.stopped;
  }

  private async shutdown(gracePeriodMs: number): Promise<void> {
    const { logger } = this.options;
    this.state = "stopping";
    this.startAbort.abort(new ControllerError("Stopping", "the manager is stopping"));
    this.azure.stop();
    for (const controller of this.controllers) controller.enqueuer.close();
    logger.info({ gracePeriodMs }, "stopping: finishing running reconciles");
    const [reports] = await Promise.all([
      Promise.all(this.controllers.map((controller) => controller.queue.close({ gracePeriodMs }))),
      this.elector.stop(),
    ]);
    const handedBack = reports.flatMap((report) => report.handedBack);
    if (handedBack.length > 0)
      logger.warn({ keys: handedBack }, "handed unfinished reconciles back to the queue");
    await this.shared?.close();
    await this.informers.stop();
    await this.events.close();
    this.state = "stopped";
    logger.info("manager stopped");
  }

  private openQueue(name: string): Promise<WorkQueue> {
    return WorkQueue.open({
      name,
      controller: name,
      redis: this.options.redis,
      prefix: this.options.redisPrefix,
      logger: this.options.logger.child({ controller: name }),
      metrics: this.options.metrics,
      ...this.options.tuning?.queue,
    });
  }

  private async openController(definition: ControllerDefinition): Promise<void> {
    const { logger } = this.options;
    const queue = await this.openQueue(definition.name);
    if (this.state !== "starting") {
      // Stopped while Redis was being reached: this queue was not there for the shutdown to close.
      await queue.close({ gracePeriodMs: 0 });
      throw new ControllerError("StoppedWhileStarting", "the manager stopped while starting");
    }
    const enqueuer = new Enqueuer(
      (key) => queue.add(key),
      logger.child({ controller: definition.name }),
      this.options.tuning?.addRetryMs,
    );
    this.controllers.push({ definition, queue, enqueuer });
  }

  /** Informer changes to keys: the controller's own kind, then the kinds it watches through a map. */
  private watch(controller: RunningController): void {
    const { definition, enqueuer } = controller;
    const own = this.informers.informer(definition.resource);
    const predicate = definition.predicate ?? DEFAULT_PREDICATE;
    const keyOf = (object: KubeObject) => objectKey(definition.resource, object);
    own.addHandler({
      onAdd: (object) => enqueuer.enqueue(keyOf(object)),
      onUpdate: (before, after) => {
        if (predicate(before, after)) enqueuer.enqueue(keyOf(after));
      },
      onDelete: (object) => enqueuer.enqueue(keyOf(object)),
    });
    for (const watch of definition.watches ?? []) {
      const map = (before: KubeObject | undefined, after: KubeObject | undefined) => {
        for (const key of watch.map({ before, after }, this.informers)) enqueuer.enqueue(key);
      };
      this.informers.informer(watch.resource).addHandler({
        onAdd: (object) => map(undefined, object),
        onUpdate: (before, after) => map(before, after),
        onDelete: (object) => map(object, undefined),
      });
    }
  }

  private runtimeFor(controller: RunningController): ControllerRuntime {
    const { options } = this;
    const name = controller.definition.name;
    return {
      name,
      kube: options.client,
      caches: this.informers,
      status: this.status,
      events: this.events,
      azure: this.azure.runtimeOn(this.shared!),
      settings: options.settings,
      logger: options.logger.child({ controller: name }),
      metrics: options.metrics,
      isLeader: () => this.elector.isLeader(),
      // Through the enqueuer: an add while Redis is away is kept and retried, never a rejection.
      enqueue: (key) => controller.enqueuer.enqueue(key),
    };
  }

  private async waitForCaches(): Promise<void> {
    const timeoutMs = this.options.tuning?.cacheSyncTimeoutMs ?? 120_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, this.startAbort.signal]);
    try {
      await this.informers.waitForSync(signal);
    } catch (error) {
      if (timeout.aborted) throw cacheSyncTimeoutError(this.informers.all(), timeoutMs);
      throw error;
    }
    this.options.logger.info(
      { kinds: this.informers.all().map((informer) => `${informer.resource.plural}:${informer.size}`) },
      "caches synced",
    );
  }

  private async startWorkers(controller: RunningController): Promise<void> {
    const { definition, queue, handlers } = controller;
    const { resyncPeriodMs, concurrency } = this.options;
    const own = this.informers.informer(definition.resource);
    const reconcile = handlers!.reconcile;
    await queue.start({
      concurrency,
      classify,
      reconcile: (key, ctx) => {
        const ref = parseKey(key);
        if (ref.kind !== definition.resource.kind) {
          ctx.logger.error("a key of another kind in this queue; dropped");
          return Promise.resolve();
        }
        return reconcile({ key, ...ref }, ctx);
      },
      resync:
        resyncPeriodMs > 0
          ? {
              periodMs: resyncPeriodMs,
              listKeys: () => own.list().map((object) => objectKey(definition.resource, object)),
            }
          : undefined,
    });
  }

  private lead(signal: AbortSignal): Promise<void> {
    const duties = this.controllers.flatMap((controller) => {
      const duty = controller.handlers?.whileLeading;
      return duty ? [{ name: controller.definition.name, duty }] : [];
    });
    const { logger, metrics, tuning } = this.options;
    return Promise.all(
      duties.map(({ name, duty }) =>
        keepLeaderDuty(name, duty, signal, { logger, metrics, backoff: tuning?.dutyBackoff }),
      ),
    ).then(() => undefined);
  }

  /** Every object of every controller's kind to its queue again, e.g. once azid's credential changed. */
  private reconcileEverything(why: string): void {
    let keys = 0;
    for (const controller of this.controllers) {
      for (const object of this.informers.informer(controller.definition.resource).list()) {
        controller.enqueuer.enqueue(objectKey(controller.definition.resource, object));
        keys++;
      }
    }
    this.options.logger.info({ keys }, `${why}; reconciling every resource again`);
  }
}
