import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The controller's metrics, named as controller-runtime names them so that existing
 * dashboards and alerts work, plus azid's own ARM and tenant-move figures.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly reconcileTotal = new Counter({
    name: "controller_runtime_reconcile_total",
    help: "Total number of reconciliations per controller",
    labelNames: ["controller", "result"] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "controller_runtime_reconcile_errors_total",
    help: "Total number of reconciliation errors per controller",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });
  readonly reconcileTime = new Histogram({
    name: "controller_runtime_reconcile_time_seconds",
    help: "Length of time per reconciliation per controller",
    labelNames: ["controller"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly workqueueDepth = new Gauge({
    name: "workqueue_depth",
    help: "Current depth of workqueue",
    labelNames: ["name", "controller"] as const,
    registers: [this.registry],
  });
  readonly workqueueAdds = new Counter({
    name: "workqueue_adds_total",
    help: "Total number of adds handled by workqueue",
    labelNames: ["name", "controller"] as const,
    registers: [this.registry],
  });
  readonly workqueueRetries = new Counter({
    name: "workqueue_retries_total",
    help: "Total number of retries handled by workqueue",
    labelNames: ["name", "controller"] as const,
    registers: [this.registry],
  });
  readonly workqueueQueueDuration = new Histogram({
    name: "workqueue_queue_duration_seconds",
    help: "How long in seconds an item stays in workqueue before being requested",
    labelNames: ["name", "controller"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300],
    registers: [this.registry],
  });
  readonly armRequests = new Counter({
    name: "azid_arm_requests_total",
    help: "ARM requests sent, by operation class and HTTP status",
    labelNames: ["subscription", "class", "code"] as const,
    registers: [this.registry],
  });
  readonly kubeWrites = new Counter({
    name: "azid_kube_writes_total",
    help:
      "Writes of the workload wiring to objects azid does not define (ServiceAccount annotations, " +
      "exports, workload restarts), by kind and outcome; 0 per identity per resync in steady state",
    labelNames: ["kind", "outcome"] as const,
    registers: [this.registry],
  });
  readonly redisUp = new Gauge({
    name: "azid_redis_up",
    help:
      "1 while the work queue's Redis primary answers writes, 0 while it cannot be reached (a failover " +
      "in progress, Redis down): reconciles pause and adds are retried until it is back",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });
  readonly armThrottled = new Counter({
    name: "azid_arm_throttled_total",
    help: "ARM calls held back by azid's own rate gate (source=gate) or answered 429 by ARM (source=arm)",
    labelNames: ["subscription", "class", "source"] as const,
    registers: [this.registry],
  });
  readonly reconcileStopped = new Counter({
    name: "azid_reconcile_stopped_total",
    help: "Reconciles that stopped on a failure no retry fixes (policy, permission, credential): azid rechecks later",
    labelNames: ["controller", "reason"] as const,
    registers: [this.registry],
  });
  readonly credentialTenantMismatch = new Gauge({
    name: "azid_credential_tenant_mismatch",
    help:
      "1 while ARM refuses azid's credential for a subscription as from another tenant (the subscription " +
      "moved: configure a credential from its new tenant), else 0",
    labelNames: ["subscription"] as const,
    registers: [this.registry],
  });
  readonly leaderDutyRestarts = new Counter({
    name: "azid_leader_duty_restarts_total",
    help: "Leader duties (the tenant sweep) started again after they failed or ended while leading",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });
  readonly tenantMismatch = new Gauge({
    name: "azid_tenant_mismatch",
    help: "Resources whose Azure tenant differs from their subscription's current tenant",
    labelNames: ["subscription", "kind"] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}
