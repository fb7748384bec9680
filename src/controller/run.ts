import { CredentialProvider } from "../azure/credentials.js";
import type { ControllerConfig } from "../config/controller-config.js";
import { KubeClient, loadKubeConfig } from "../kube/client.js";
import { resolveClusterIssuer } from "../kube/service-account-issuer.js";
import type { Logger } from "../observability/logger.js";
import { Metrics } from "../observability/metrics.js";
import { Manager, type ManagerTuning } from "./manager.js";
import type { ControllerDefinition, RuntimeSettings } from "./reconciler.js";
import { type HealthServer, startHealthServer } from "./server.js";

/**
 * How long in-flight reconciles may run on after SIGTERM. The chart gives the pod 60 s
 * (terminationGracePeriodSeconds); the rest is for handing unfinished keys back and releasing the lease.
 */
export const SHUTDOWN_GRACE_PERIOD_MS = 45_000;

export interface RunOptions {
  config: ControllerConfig;
  controllers: readonly ControllerDefinition[];
  logger: Logger;
  tuning?: ManagerTuning;
  shutdownGracePeriodMs?: number;
}

export interface ControllerProcess {
  manager: Manager;
  server: HealthServer | undefined;
  /** Settles once the manager runs; rejects (after stopping everything) when it cannot start. */
  started: Promise<void>;
  /** Stops the manager within the grace period (also while it is starting), then the server. */
  stop(): Promise<void>;
}

/**
 * `azid controller`'s body: the health server first, so that probes answer while the caches sync,
 * then the manager in the background (`started`). A failure to start (Redis or the API server
 * unreachable, caches not syncing) rejects `started` after stopping what was started.
 */
export async function startControllerProcess(options: RunOptions): Promise<ControllerProcess> {
  const { config, logger } = options;
  const client = new KubeClient(loadKubeConfig({ kubeconfigPath: config.kubeconfig }));
  const credentials = new CredentialProvider({
    file: config.azure.credentialsFile,
    fallback: config.azure.fallbackCredential,
    authorityHost: config.azure.authorityHost,
    tlsOptions: config.azure.endpoints.ca ? { ca: config.azure.endpoints.ca } : undefined,
  });
  const metrics = new Metrics();
  const settings: RuntimeSettings = {
    tenantRemediation: config.tenantRemediation,
    namespaces: config.namespaces,
    resyncPeriodMs: config.resyncPeriodMs,
  };
  const manager = new Manager({
    client,
    redis: config.redis,
    redisPrefix: config.redisPrefix,
    controllers: options.controllers,
    settings,
    concurrency: config.concurrency,
    resyncPeriodMs: config.resyncPeriodMs,
    leaderElection: { namespace: config.leaderElection.namespace, name: config.leaderElection.id },
    podName: config.podName,
    azure: { endpoints: config.azure.endpoints, credentials, timeScale: config.azure.timeScale },
    logger,
    metrics,
    tuning: options.tuning,
  });
  const server =
    config.metricsAddr === "0"
      ? undefined
      : await startHealthServer({
          address: config.metricsAddr,
          metrics,
          liveness: () => manager.liveness(),
          readiness: () => manager.readiness(),
          logger,
        });
  logger.info(
    { apiServer: client.server, namespaces: config.namespaces, controllers: options.controllers.length },
    "starting the controller",
  );
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await manager.stop({ gracePeriodMs: options.shutdownGracePeriodMs ?? SHUTDOWN_GRACE_PERIOD_MS });
      await server?.close();
    })();
    return stopping;
  };
  const started = resolveIssuer(config, client, settings, logger)
    .then(() => manager.start())
    .catch(async (error) => {
      await stop();
      throw error;
    });
  return { manager, server, started, stop };
}

/**
 * Once, before the workers start: the issuer the ServiceAccounts' federated credentials trust.
 * A failed discovery is logged and reported by the identities that need it (IssuerUnknown).
 */
async function resolveIssuer(
  config: ControllerConfig,
  client: KubeClient,
  settings: RuntimeSettings,
  logger: Logger,
): Promise<void> {
  const issuer = await resolveClusterIssuer(config.serviceAccountIssuer, client);
  settings.serviceAccountIssuer = issuer;
  if (issuer.url !== undefined) {
    const from =
      issuer.source === "configuration"
        ? "from --service-account-issuer (AZID_SERVICE_ACCOUNT_ISSUER)"
        : "discovered from the API server's /.well-known/openid-configuration";
    logger.info(
      { issuer: issuer.url, source: issuer.source },
      `service-account issuer ${issuer.url}, ${from}`,
    );
    // Entra fetches the issuer's discovery document from the internet: a cluster-internal one never validates.
    if (/\.(svc|cluster\.local)(:\d+)?(\/|$)/.test(issuer.url)) {
      logger.warn(
        { issuer: issuer.url },
        "the service-account issuer is cluster-internal: Entra cannot reach it, so tokens will not match the " +
          "ServiceAccounts' federated credentials; enable the cluster's public OIDC issuer and set --service-account-issuer",
      );
    }
  } else {
    logger.warn(
      { problem: issuer.problem },
      "service-account issuer unknown: identities with serviceAccounts report IssuerUnknown; set --service-account-issuer",
    );
  }
}
