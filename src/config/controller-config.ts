import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { AzureEndpoints } from "../azure/clients.js";
import type { SubscriptionCredential } from "../azure/credentials.js";
import { checkClusterPrefix, type RedisConnectionOptions, type RedisNodeAddress } from "../queue/index.js";
import { AzidError } from "../util/errors.js";
import { parseDuration } from "./duration.js";
import { readSandboxFile, type SandboxConnection } from "./sandbox-file.js";

/** `azid controller`'s flags as given (strings), before validation. */
export interface ControllerFlags {
  kubeconfig?: string;
  redisUrl?: string;
  redisSentinels?: string;
  redisSentinelName?: string;
  redisClusterNodes?: string;
  redisTls?: boolean;
  redisCaFile?: string;
  redisPrefix?: string;
  armEndpoint?: string;
  graphEndpoint?: string;
  authorityHost?: string;
  credentialsFile?: string;
  sandbox?: string;
  namespaces?: string;
  concurrency?: string;
  resyncPeriod?: string;
  metricsAddr?: string;
  logLevel?: string;
  tenantRemediation?: string;
  leaderElectionNamespace?: string;
  leaderElectionId?: string;
  serviceAccountIssuer?: string;
}

export type TenantRemediation = "Manual" | "Auto";

export interface ControllerConfig {
  /** Absent: in-cluster, then $KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
  redis: RedisConnectionOptions;
  redisPrefix: string;
  azure: {
    endpoints: AzureEndpoints;
    authorityHost?: string;
    credentialsFile?: string;
    /** The credential for subscriptions the credentials file does not name (the sandbox's); else DefaultAzureCredential. */
    fallbackCredential?: SubscriptionCredential;
    /** ARM time runs this much faster (the sandbox's time scale); azid paces its ARM calls to match. */
    timeScale: number;
  };
  /** Namespaces watched; empty: all. */
  namespaces: string[];
  concurrency: number;
  /** 0 turns resync off. */
  resyncPeriodMs: number;
  /** `host:port` or `:port` (every interface); "0" serves nothing. */
  metricsAddr: string;
  logLevel: string;
  tenantRemediation: TenantRemediation;
  leaderElection: { namespace: string; id: string };
  /** This replica's name (the pod's), for Events and the Lease holder. */
  podName: string;
  /**
   * The cluster's service-account issuer, when configured; absent: discovered from the API
   * server at start (`/.well-known/openid-configuration`).
   */
  serviceAccountIssuer?: string;
}

export class ConfigError extends AzidError {
  override readonly name = "ConfigError";
  readonly errorCode = "config.InvalidConfiguration";
  readonly code = "InvalidConfiguration";
}

export const DEFAULTS = {
  redisPrefix: "azid",
  concurrency: 4,
  resyncPeriod: "10m",
  /** Loopback unless told otherwise; the chart asks for `:8080` so that probes and Prometheus reach it. */
  metricsAddr: "127.0.0.1:8080",
  logLevel: "info",
  tenantRemediation: "Manual" as TenantRemediation,
  leaderElectionId: "azid",
  armEndpoint: "https://management.azure.com",
  graphEndpoint: "https://graph.microsoft.com",
} as const;

/** The client id azid presents to the sandbox's Entra endpoint, which accepts any application. */
export const SANDBOX_CLIENT_ID = "a2d1d000-0000-4000-8000-00000000a21d";

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PREFIX = /^[^:\s]+$/;

/**
 * Flags first, then environment variables, then the sandbox file, then defaults. Every value is
 * checked here, so a bad one stops the command with a message that names it.
 */
export function resolveControllerConfig(
  flags: ControllerFlags,
  env: NodeJS.ProcessEnv = process.env,
): ControllerConfig {
  const sandbox = flags.sandbox ? readSandbox(flags.sandbox) : undefined;
  const armEndpoint = url("--arm-endpoint", flags.armEndpoint ?? sandbox?.arm ?? DEFAULTS.armEndpoint);
  const graphEndpoint = url(
    "--graph-endpoint",
    flags.graphEndpoint ?? sandbox?.graph ?? DEFAULTS.graphEndpoint,
  );
  const authorityHost = flags.authorityHost ?? sandbox?.authorityHost;
  if (authorityHost !== undefined) url("--authority-host", authorityHost);

  return {
    kubeconfig: flags.kubeconfig ?? sandbox?.kubeconfig,
    ...redisSettings(flags, env),
    azure: {
      endpoints: {
        arm: armEndpoint,
        graph: graphEndpoint,
        // Tokens name the cloud's audience; the sandbox stands in for public Azure and takes its audience.
        armAudience: sandbox ? undefined : armEndpoint,
        graphAudience: sandbox ? undefined : graphEndpoint,
        ca: sandbox?.caPem,
      },
      authorityHost,
      credentialsFile: flags.credentialsFile,
      fallbackCredential:
        sandbox?.tenantId !== undefined
          ? { tenantId: sandbox.tenantId, clientId: SANDBOX_CLIENT_ID, clientSecret: "sandbox" }
          : undefined,
      timeScale: sandbox?.timeScale ?? 1,
    },
    namespaces: namespaces(flags.namespaces),
    concurrency: positiveInteger("--concurrency", flags.concurrency ?? String(DEFAULTS.concurrency)),
    resyncPeriodMs: duration("--resync-period", flags.resyncPeriod ?? DEFAULTS.resyncPeriod),
    metricsAddr: address(flags.metricsAddr ?? DEFAULTS.metricsAddr),
    logLevel: logLevel(flags.logLevel ?? env.AZID_LOG_LEVEL ?? DEFAULTS.logLevel),
    tenantRemediation: tenantRemediation(flags.tenantRemediation ?? DEFAULTS.tenantRemediation),
    leaderElection: {
      namespace: dnsLabel(
        "--leader-election-namespace",
        flags.leaderElectionNamespace ?? inClusterNamespace() ?? "default",
      ),
      id: leaseName(flags.leaderElectionId ?? DEFAULTS.leaderElectionId),
    },
    podName: env.POD_NAME || env.HOSTNAME || hostname(),
    ...issuerSetting(flags.serviceAccountIssuer ?? (env.AZID_SERVICE_ACCOUNT_ISSUER || undefined)),
  };
}

/** Azure takes only https issuers: a typo stops the start instead of every ServiceAccount's credential. */
function issuerSetting(value: string | undefined): { serviceAccountIssuer?: string } {
  if (value === undefined) return {};
  if (!/^https:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/.test(value)) {
    throw new ConfigError(
      `--service-account-issuer (or AZID_SERVICE_ACCOUNT_ISSUER): ${JSON.stringify(value)} is not an https URL; ` +
        "give the cluster's issuer exactly as its tokens carry it (kubectl get --raw /.well-known/openid-configuration)",
    );
  }
  return { serviceAccountIssuer: value };
}

function readSandbox(path: string): SandboxConnection {
  try {
    return readSandboxFile(path);
  } catch (error) {
    throw new ConfigError(`--sandbox: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Where the queue's Redis is: one URL (the default), Sentinel or Cluster, exactly one of them.
 * Passwords come from the environment (the chart keeps them in a Secret). On Cluster the prefix
 * defaults to `{azid}` and must carry a hash tag, so every key of a queue lands in one slot.
 */
function redisSettings(
  flags: ControllerFlags,
  env: NodeJS.ProcessEnv,
): { redis: RedisConnectionOptions; redisPrefix: string } {
  const rawUrl = flags.redisUrl ?? env.AZID_REDIS_URL;
  const sentinels = flags.redisSentinels ?? env.AZID_REDIS_SENTINELS;
  const clusterNodes = flags.redisClusterNodes ?? env.AZID_REDIS_CLUSTER_NODES;
  const given = [
    rawUrl && "--redis-url",
    sentinels && "--redis-sentinels",
    clusterNodes && "--redis-cluster-nodes",
  ].filter((flag): flag is string => Boolean(flag));
  if (given.length === 0) {
    throw new ConfigError(
      "--redis-url (or AZID_REDIS_URL) is required, or --redis-sentinels with --redis-sentinel-name, or --redis-cluster-nodes",
    );
  }
  if (given.length > 1) {
    throw new ConfigError(`give only one of ${given.join(", ")}: they name different kinds of Redis`);
  }
  const tlsCa = caFile(flags.redisCaFile ?? env.AZID_REDIS_CA_FILE);
  const common = {
    username: env.AZID_REDIS_USERNAME || undefined,
    password: env.AZID_REDIS_PASSWORD || undefined,
    tls: flags.redisTls === true || isTrue(env.AZID_REDIS_TLS),
    tlsCa,
  };
  const explicitPrefix = flags.redisPrefix ?? env.AZID_REDIS_PREFIX;
  if (rawUrl) {
    if (flags.redisSentinelName ?? env.AZID_REDIS_SENTINEL_NAME) {
      throw new ConfigError("--redis-sentinel-name goes with --redis-sentinels, not with --redis-url");
    }
    return {
      redis: { ...singleRedis(rawUrl, common.password), tlsCa },
      redisPrefix: prefix(explicitPrefix ?? DEFAULTS.redisPrefix),
    };
  }
  if (sentinels) {
    const name = flags.redisSentinelName ?? env.AZID_REDIS_SENTINEL_NAME;
    if (!name) {
      throw new ConfigError(
        "--redis-sentinels needs --redis-sentinel-name (or AZID_REDIS_SENTINEL_NAME): the name the sentinels monitor the primary under, e.g. mymaster",
      );
    }
    return {
      redis: {
        ...common,
        sentinel: {
          sentinels: hostPorts("--redis-sentinels", sentinels),
          name,
          username: env.AZID_REDIS_SENTINEL_USERNAME || undefined,
          password: env.AZID_REDIS_SENTINEL_PASSWORD || undefined,
        },
      },
      redisPrefix: prefix(explicitPrefix ?? DEFAULTS.redisPrefix),
    };
  }
  const clusterPrefix = prefix(explicitPrefix ?? `{${DEFAULTS.redisPrefix}}`);
  try {
    checkClusterPrefix(clusterPrefix);
  } catch (error) {
    throw new ConfigError(`--redis-prefix: ${(error as Error).message}`);
  }
  return {
    redis: { ...common, cluster: { nodes: hostPorts("--redis-cluster-nodes", clusterNodes!) } },
    redisPrefix: clusterPrefix,
  };
}

/**
 * The Redis URL with the password from AZID_REDIS_PASSWORD when the URL carries none (the chart
 * keeps the password in a Secret); a user in the URL stays (Redis ACLs).
 */
function singleRedis(rawUrl: string, password: string | undefined): { url: string } {
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch {
    throw new ConfigError("--redis-url is not a URL (redis://host:port or rediss://host:port)");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ConfigError(`--redis-url must start with redis:// or rediss:// (got ${parsed.protocol}//)`);
  }
  if (password && !parsed.password) parsed.password = encodeURIComponent(password);
  return { url: parsed.toString() };
}

/** `host:port,host:port` (IPv6 in brackets: `[::1]:26379`). */
function hostPorts(flag: string, value: string): RedisNodeAddress[] {
  const list = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (list.length === 0) throw new ConfigError(`${flag} needs at least one host:port`);
  return list.map((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) {
      throw new ConfigError(`${flag}: ${JSON.stringify(entry)} is not host:port (e.g. redis-0.redis:26379)`);
    }
    return { host: (match[1] ?? match[2])!, port };
  });
}

function caFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`--redis-ca-file: cannot read ${path}: ${(error as Error).message}`);
  }
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes"].includes(value.trim().toLowerCase());
}

function url(flag: string, value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("not http(s)");
  } catch {
    throw new ConfigError(`${flag} must be an http(s) URL (got ${JSON.stringify(value)})`);
  }
  return value.replace(/\/+$/, "");
}

function prefix(value: string): string {
  if (!PREFIX.test(value)) throw new ConfigError(`--redis-prefix must be non-empty, without ':' or spaces`);
  return value;
}

function namespaces(value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") return [];
  const list = [...new Set(value.split(",").map((name) => name.trim()))].filter((name) => name !== "");
  for (const name of list) dnsLabel("--namespaces", name);
  return list;
}

function dnsLabel(flag: string, value: string): string {
  if (!DNS_LABEL.test(value))
    throw new ConfigError(`${flag}: ${JSON.stringify(value)} is not a namespace name`);
  return value;
}

function leaseName(value: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(value)) {
    throw new ConfigError(`--leader-election-id: ${JSON.stringify(value)} is not a valid Lease name`);
  }
  return value;
}

function positiveInteger(flag: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new ConfigError(`${flag} must be a whole number of 1 or more`);
  return parsed;
}

function duration(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new ConfigError(`${flag}: ${(error as Error).message}`);
  }
}

function address(value: string): string {
  if (value === "0") return value;
  const match = /^(.*):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) {
    throw new ConfigError(`--metrics-addr must be host:port or :port, or 0 to serve nothing (got ${value})`);
  }
  return value;
}

function logLevel(value: string): string {
  if (!LOG_LEVELS.includes(value))
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  return value;
}

function tenantRemediation(value: string): TenantRemediation {
  if (value !== "Manual" && value !== "Auto")
    throw new ConfigError("--tenant-remediation must be Manual or Auto");
  return value;
}

function inClusterNamespace(): string | undefined {
  if (!existsSync(SERVICE_ACCOUNT_NAMESPACE)) return undefined;
  return readFileSync(SERVICE_ACCOUNT_NAMESPACE, "utf8").trim() || undefined;
}
