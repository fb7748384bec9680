import { setTimeout as sleep } from "node:timers/promises";
import { type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.js";
import type { KubeClient } from "./client.js";
import { KubeError, toKubeError } from "./errors.js";

export interface LeaderElectionOptions {
  client: KubeClient;
  /** Where the Lease lives (`--leader-election-namespace`) and its name (`--leader-election-id`). */
  namespace: string;
  name: string;
  /** Unique per replica: the pod name and a random suffix. */
  identity: string;
  logger: Logger;
  /** How long a lease holds without renewal (client-go: 15 s); whole seconds in the Lease. */
  leaseDurationMs?: number;
  /** The leader steps down when it could not renew for this long (client-go: 10 s). */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew (client-go: 2 s). */
  retryPeriodMs?: number;
  /** Runs the singleton duties; `signal` aborts when leadership is lost or the elector stops. */
  onStartedLeading?: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading?: () => void;
  /** Another replica (or this one) was observed holding the lease. */
  onNewLeader?: (identity: string) => void;
  now?: () => Date;
}

interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number;
  renewTime: number;
  leaseTransitions: number;
}

/**
 * client-go's leader election on a coordination.k8s.io/v1 Lease: a candidate takes the lease when
 * it is free or its holder has not renewed it for leaseDuration (measured on the candidate's own
 * clock from when it last saw the record change, so clock skew between replicas does not matter);
 * the leader renews every retryPeriod and steps down when it could not renew within renewDeadline;
 * stopping releases the lease so another replica takes over at once. Writes are PUTs carrying the
 * resourceVersion read, so two candidates never both win.
 */
export class LeaderElector {
  private leading = false;
  private observed: { record: LeaseRecord; at: number; resourceVersion?: string } | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private leadership: AbortController | undefined;
  private duty: Promise<void> | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: LeaderElectionOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new RangeError("leader election needs leaseDuration > renewDeadline > retryPeriod");
    }
    if (this.leaseDurationMs < 1000) throw new RangeError("a Lease lasts at least one second");
    this.now = options.now ?? (() => new Date());
  }

  get identity(): string {
    return this.options.identity;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last observed, if any. */
  leader(): string | undefined {
    return this.observed?.record.holderIdentity || undefined;
  }

  start(): void {
    this.running ??= this.run();
  }

  /**
   * Stops campaigning. With `release` (the default) a leader ends its duties and gives the lease
   * up, so another replica takes over without waiting for it to expire; without it the lease is
   * left to expire, as when the process dies.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopping.abort();
    await this.running;
    const wasLeading = this.leading;
    this.stepDown("stopping");
    await this.duty;
    if (wasLeading && options.release !== false) await this.release();
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      if (!(await this.tryAcquireOrRenew())) {
        await this.pause(this.retryPeriodMs * (1 + Math.random() * 1.2));
        continue;
      }
      this.startLeading();
      await this.renewUntilLost();
      if (this.stopping.signal.aborted) return;
      this.stepDown("could not renew the lease within the renew deadline");
    }
  }

  /** Renews every retryPeriod; returns when a renewal failed for renewDeadline, or on stop. */
  private async renewUntilLost(): Promise<void> {
    let lastRenewal = Date.now();
    while (!this.stopping.signal.aborted) {
      await this.pause(this.retryPeriodMs);
      if (this.stopping.signal.aborted) return;
      if (await this.tryAcquireOrRenew()) {
        lastRenewal = Date.now();
      } else if (Date.now() - lastRenewal >= this.renewDeadlineMs || !this.holdsLease()) {
        return;
      }
    }
  }

  private holdsLease(): boolean {
    return this.observed?.record.holderIdentity === this.options.identity;
  }

  private startLeading(): void {
    this.leading = true;
    this.leadership = new AbortController();
    this.options.logger.info({ lease: this.leaseName }, "became leader");
    const signal = this.leadership.signal;
    const started = this.options.onStartedLeading;
    if (started) {
      this.duty = Promise.resolve()
        .then(() => started(signal))
        .catch((err) => this.options.logger.error({ err }, "a leader duty failed"));
    }
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.leadership?.abort(new KubeError("LeadershipLost", `leadership lost: ${why}`));
    const level = this.stopping.signal.aborted ? "info" : "warn";
    this.options.logger[level]({ lease: this.leaseName, why }, "stopped leading");
    try {
      this.options.onStoppedLeading?.();
    } catch (err) {
      this.options.logger.error({ err }, "onStoppedLeading threw");
    }
  }

  private get leaseName(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  /** client-go's tryAcquireOrRenew: true when this replica holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, logger } = this.options;
    const now = this.now().getTime();
    const record: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    try {
      let lease: V1Lease;
      try {
        lease = await client.coordination.readNamespacedLease({ name, namespace });
      } catch (error) {
        const kubeError = toKubeError(error, `read lease ${this.leaseName}`) as { code?: number };
        if (kubeError.code !== 404) throw kubeError;
        const created = await client.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: specOf(record) },
        });
        this.observe(record, created.metadata?.resourceVersion);
        return true;
      }
      const old = recordOf(lease);
      if (!this.observed || !sameRecord(this.observed.record, old)) {
        this.observe(old, lease.metadata?.resourceVersion);
      }
      const heldByOther = old.holderIdentity !== "" && old.holderIdentity !== identity;
      if (heldByOther && this.observed!.at + old.leaseDurationSeconds * 1000 > Date.now()) return false;
      if (old.holderIdentity === identity) {
        record.acquireTime = old.acquireTime;
        record.leaseTransitions = old.leaseTransitions;
      } else {
        record.leaseTransitions = old.leaseTransitions + 1;
      }
      const updated = await client.coordination.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: specOf(record) },
      });
      this.observe(record, updated.metadata?.resourceVersion);
      return true;
    } catch (error) {
      logger.debug(
        { err: toKubeError(error, `acquire or renew lease ${this.leaseName}`) },
        "lease not taken",
      );
      return false;
    }
  }

  private observe(record: LeaseRecord, resourceVersion: string | undefined): void {
    const previous = this.observed?.record.holderIdentity;
    this.observed = { record, at: Date.now(), resourceVersion };
    if (record.holderIdentity && record.holderIdentity !== previous) {
      try {
        this.options.onNewLeader?.(record.holderIdentity);
      } catch (err) {
        this.options.logger.error({ err }, "onNewLeader threw");
      }
    }
  }

  /** client-go's release: an empty holder and a one-second duration, so any candidate takes it at once. */
  private async release(): Promise<void> {
    const { client, namespace, name, identity, logger } = this.options;
    try {
      const lease = await client.coordination.readNamespacedLease({ name, namespace });
      if (recordOf(lease).holderIdentity !== identity) return;
      const now = this.now().getTime();
      await client.coordination.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: specOf({
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: recordOf(lease).leaseTransitions,
          }),
        },
      });
      logger.info({ lease: this.leaseName }, "released the lease");
    } catch (error) {
      logger.warn(
        { err: toKubeError(error, `release lease ${this.leaseName}`) },
        "could not release the lease; it expires",
      );
    }
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }
}

function recordOf(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: spec.acquireTime ? new Date(spec.acquireTime).getTime() : 0,
    renewTime: spec.renewTime ? new Date(spec.renewTime).getTime() : 0,
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

function specOf(record: LeaseRecord): NonNullable<V1Lease["spec"]> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: new V1MicroTime(record.acquireTime),
    renewTime: new V1MicroTime(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}
