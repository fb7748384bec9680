// The Azure side of the controller, apart from the generic host (the manager): SDK clients per
// subscription paced by the token buckets every replica shares in Redis, the identity-PATCH lock,
// and the credentials file watch that makes a new tenant's credential count at once.
import { AzureClients, type AzureEndpoints } from "../azure/clients.js";
import type { CredentialProvider } from "../azure/credentials.js";
import type { TargetLock } from "../azure/target-lock.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { TokenBuckets } from "../queue/token-bucket.js";
import type { AzureRuntime } from "./reconciler.js";
import { RedisRateGate } from "./redis-rate-gate.js";

export interface AzureWiringOptions {
  endpoints: AzureEndpoints;
  credentials: CredentialProvider;
  /** ARM time runs this much faster (the sandbox's time scale; 1 against Azure). */
  timeScale: number;
  metrics: Metrics;
  logger: Logger;
  /** How often the credentials file is looked at. Default 10 s. */
  credentialsPollMs?: number;
}

export class AzureWiring {
  private runtime: AzureRuntime | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AzureWiringOptions) {}

  /** One Azure runtime for every controller, pacing ARM calls with buckets every replica shares. */
  runtimeOn(redis: { buckets: TokenBuckets; locks: TargetLock }): AzureRuntime {
    if (!this.runtime) {
      const { endpoints, credentials, timeScale, metrics, logger } = this.options;
      const gate = new RedisRateGate(redis.buckets, { timeScale });
      const clients = new AzureClients({ endpoints, credentials, gate, metrics, logger });
      this.runtime = { endpoints, credentials, clients, gate, targetLock: redis.locks, timeScale };
    }
    return this.runtime;
  }

  /** Polls the credentials file; `onChange` runs after a change that can be used. */
  watchCredentials(onChange: () => void): void {
    const { credentials, logger } = this.options;
    this.timer = setInterval(() => {
      try {
        if (!credentials.reloadIfChanged()) return;
      } catch (err) {
        logger.error({ err }, "the credentials file changed but cannot be used; keeping the previous one");
        return;
      }
      onChange();
    }, this.options.credentialsPollMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
