import type { Command } from "commander";
import {
  ConfigError,
  type ControllerFlags,
  resolveControllerConfig,
} from "../../config/controller-config.js";
import { CONTROLLERS } from "../../controller/controllers.js";
import type { ManagerTuning } from "../../controller/manager.js";
import type { ControllerDefinition } from "../../controller/reconciler.js";
import { startControllerProcess } from "../../controller/run.js";
import { createLogger } from "../../observability/logger.js";
import { EXIT } from "../exit-codes.js";

export interface ControllerCommandOptions {
  /** The controllers to run; the production list unless a test brings its own. */
  controllers?: readonly ControllerDefinition[];
  tuning?: ManagerTuning;
  shutdownGracePeriodMs?: number;
}

export function registerControllerCommand(program: Command, options: ControllerCommandOptions = {}): void {
  program
    .command("controller")
    .description(
      "run the controller: reconcile azid resources against Azure, with any number of replicas sharing one Redis",
    )
    .option(
      "--kubeconfig <file>",
      "kubeconfig to use (default: in-cluster, then $KUBECONFIG or ~/.kube/config)",
    )
    .option(
      "--redis-url <url>",
      "redis:// or rediss:// URL of the work queue's Redis (env AZID_REDIS_URL; password from AZID_REDIS_PASSWORD)",
    )
    .option(
      "--redis-sentinels <list>",
      "instead of --redis-url: Redis Sentinel's sentinels, host:port,... (env AZID_REDIS_SENTINELS; their password from AZID_REDIS_SENTINEL_PASSWORD)",
    )
    .option(
      "--redis-sentinel-name <name>",
      "the name the sentinels monitor the primary under (env AZID_REDIS_SENTINEL_NAME)",
    )
    .option(
      "--redis-cluster-nodes <list>",
      "instead of --redis-url: some Redis Cluster nodes, host:port,... (env AZID_REDIS_CLUSTER_NODES)",
    )
    .option(
      "--redis-tls",
      "Sentinel and Cluster: speak TLS to every node and sentinel (env AZID_REDIS_TLS=true; a URL says rediss://)",
    )
    .option(
      "--redis-ca-file <file>",
      "PEM CA certificate(s) that signed Redis's certificate, when not a public CA (env AZID_REDIS_CA_FILE)",
    )
    .option(
      "--redis-prefix <prefix>",
      "prefix of every Redis key, so installations can share one Redis (env AZID_REDIS_PREFIX; default azid, {azid} on Cluster, where it must carry a {hash tag})",
    )
    .option("--arm-endpoint <url>", "Azure Resource Manager endpoint (sovereign clouds)")
    .option("--graph-endpoint <url>", "Microsoft Graph endpoint (sovereign clouds)")
    .option("--authority-host <url>", "Microsoft Entra authority (sovereign clouds)")
    .option(
      "--credentials-file <file>",
      "per-subscription Azure credentials (YAML), reloaded when it changes",
    )
    .option(
      "--sandbox <file>",
      "work against `azid sandbox` (the JSON line it printed): its kubeconfig, ARM, Graph, CA and time scale",
    )
    .option("--namespaces <list>", "comma-separated namespaces to watch (default: all)")
    .option("--concurrency <n>", "reconciles at once per controller on this replica (default 4)")
    .option(
      "--resync-period <duration>",
      "reconcile every resource at least this often (Go duration, default 10m; 0 = never)",
    )
    .option(
      "--metrics-addr <address>",
      "address of /metrics, /healthz and /readyz (host:port, :port for every interface, 0 for none; default 127.0.0.1:8080)",
    )
    .option("--log-level <level>", "fatal, error, warn, info, debug, trace or silent (env AZID_LOG_LEVEL)")
    .option(
      "--tenant-remediation <mode>",
      "after a tenant move: Manual (await an approved TenantMigration, the default) or Auto",
    )
    .option(
      "--leader-election-namespace <namespace>",
      "namespace of the leader election Lease (default: the pod's)",
    )
    .option("--leader-election-id <name>", "name of the leader election Lease (default azid)")
    .option(
      "--service-account-issuer <url>",
      "the cluster's service-account issuer, the issuer of the ServiceAccounts' federated credentials " +
        "(env AZID_SERVICE_ACCOUNT_ISSUER; default: discovered from the API server's /.well-known/openid-configuration)",
    )
    .action(async (flags: ControllerFlags) => {
      await runControllerCommand(flags, options);
    });
}

async function runControllerCommand(
  flags: ControllerFlags,
  options: ControllerCommandOptions,
): Promise<void> {
  let config: ReturnType<typeof resolveControllerConfig>;
  try {
    config = resolveControllerConfig(flags);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`azid controller: ${error.message}\n`);
    process.exit(EXIT.usage);
  }
  const logger = createLogger({ level: config.logLevel });
  // A reconcile's stray promise must not take the replica down with every other reconcile.
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled promise rejection"));

  let controller: Awaited<ReturnType<typeof startControllerProcess>>;
  try {
    controller = await startControllerProcess({
      config,
      controllers: options.controllers ?? CONTROLLERS,
      logger,
      tuning: options.tuning,
      shutdownGracePeriodMs: options.shutdownGracePeriodMs,
    });
  } catch (err) {
    logger.fatal({ err }, "the controller cannot start");
    process.exit(1);
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    logger.info({ signal }, "shutting down gracefully");
    controller.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "error while shutting down");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("uncaughtException", (err) => {
    logger.fatal({ err }, "uncaught exception; shutting down");
    controller.stop().finally(() => process.exit(1));
  });

  try {
    await controller.started;
  } catch (err) {
    if (signals > 0) return;
    logger.fatal({ err }, "the controller cannot start");
    process.exit(1);
  }
}
