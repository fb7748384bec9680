import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../observability/logger.js";
import { QueueError } from "./errors.js";

/** A Redis node's address, as Sentinel and Cluster seed lists name them. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/**
 * Where the queue's Redis is: exactly one of `url` (a single endpoint, the default; a managed
 * primary/replica behind one name fails over under it), `sentinel` or `cluster`.
 */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url?: string;
  /** Redis Sentinel: the sentinels to ask, and the name of the primary they watch. */
  sentinel?: {
    sentinels: RedisNodeAddress[];
    name: string;
    /** The sentinels' own credentials (`requirepass`/ACL on the sentinels), when they have any. */
    username?: string;
    password?: string;
  };
  /** Redis Cluster: some of its nodes (the rest are discovered). The prefix must carry a hash tag. */
  cluster?: { nodes: RedisNodeAddress[] };
  /** Sentinel and Cluster: the data nodes' credentials (a single endpoint carries them in its URL). */
  username?: string;
  password?: string;
  /** Sentinel and Cluster: TLS to every node and sentinel (a single endpoint says so with `rediss://`). */
  tls?: boolean;
  /** PEM certificate(s) of the CA that signed the server's certificate, when it is not a public one. */
  tlsCa?: string | Buffer;
  /** How long opening the queue waits for Redis before failing. Default 10 s. */
  connectTimeoutMs?: number;
  /** Upper bound of the wait between reconnect attempts. Default 2 s. */
  maxReconnectDelayMs?: number;
}

export type RedisTopology = "single" | "sentinel" | "cluster";

/** Either client ioredis makes; both run commands and scripts alike. */
export type RedisClient = Redis | Cluster;

/** The URL with its password replaced, fit for logs and error messages. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable redis url>";
  }
}

function addresses(nodes: RedisNodeAddress[]): string {
  return nodes.map((node) => `${node.host}:${node.port}`).join(",");
}

/** Which topology the options name; refuses none or several, and empty seed lists. */
export function redisTopology(options: RedisConnectionOptions): RedisTopology {
  const named = [
    options.url !== undefined && "url",
    options.sentinel !== undefined && "sentinel",
    options.cluster !== undefined && "cluster",
  ].filter(Boolean);
  if (named.length !== 1) {
    throw new QueueError(
      "InvalidOption",
      `give exactly one of a Redis URL, Sentinel or Cluster nodes (got ${named.length === 0 ? "none" : named.join(" and ")})`,
    );
  }
  if (options.sentinel) {
    if (options.sentinel.sentinels.length === 0 || !options.sentinel.name) {
      throw new QueueError(
        "InvalidOption",
        "Redis Sentinel needs at least one sentinel and the primary's name",
      );
    }
    return "sentinel";
  }
  if (options.cluster) {
    if (options.cluster.nodes.length === 0)
      throw new QueueError("InvalidOption", "Redis Cluster needs at least one node");
    return "cluster";
  }
  return "single";
}

/** Where the queue's Redis is, without secrets: for logs and error messages. */
export function describeRedis(options: RedisConnectionOptions): string {
  if (options.sentinel) {
    return `Redis Sentinel primary ${options.sentinel.name} via ${addresses(options.sentinel.sentinels)}`;
  }
  if (options.cluster) return `Redis Cluster ${addresses(options.cluster.nodes)}`;
  return `Redis at ${redactRedisUrl(options.url ?? "")}`;
}

/**
 * The hash tag Redis Cluster would read in every key under `prefix` (the text between its first
 * `{` and the next `}`), or undefined when keys under it would hash by their whole name and so
 * spread over slots.
 */
export function prefixHashTag(prefix: string): string | undefined {
  const open = prefix.indexOf("{");
  if (open < 0) return undefined;
  const close = prefix.indexOf("}", open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return prefix.slice(open + 1, close);
}

/** Refuses a prefix whose keys Redis Cluster would spread over slots (BullMQ's scripts need one). */
export function checkClusterPrefix(prefix: string): void {
  if (prefixHashTag(prefix) !== undefined) return;
  const inner = prefix.replace(/[{}]/g, "") || "azid";
  throw new QueueError(
    "InvalidOption",
    `on Redis Cluster the prefix must carry a hash tag so that every key of the queue lands in one ` +
      `slot (BullMQ's scripts and azid's locks and token buckets touch several keys at once); ` +
      `"${prefix}" has none: use "{${inner}}"`,
  );
}

function parseRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueError("InvalidRedisUrl", `not a URL: ${redactRedisUrl(url)}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new QueueError(
      "InvalidRedisUrl",
      `Redis URL must start with redis:// or rediss://, got ${parsed.protocol}//${parsed.host}`,
    );
  }
  if (!parsed.hostname)
    throw new QueueError("InvalidRedisUrl", `Redis URL has no host: ${redactRedisUrl(url)}`);
  return parsed;
}

export type RedisRole =
  /** Queue adds and azid's own scripts: a command fails fast while Redis is away instead of hanging. */
  | "command"
  /** Template for BullMQ's worker connections, which BullMQ requires to retry forever. */
  | "worker";

/**
 * A primary demoted to replica by a failover answers writes with READONLY while a client still
 * holds a connection to it: reconnect (Sentinel names the new primary) and send the command again.
 */
function reconnectOnReadonly(err: Error): 2 | false {
  return err.message.startsWith("READONLY") ? 2 : false;
}

/**
 * An ioredis client that has not connected yet (call `connectRedis`). It reconnects by itself
 * until `disconnect()` or `quit()`; `logger` hears when ioredis gave up and it had to step in.
 */
export function createRedisClient(
  options: RedisConnectionOptions,
  role: RedisRole,
  connectionName: string,
  logger?: Logger,
): RedisClient {
  const client = newRedisClient(options, role, connectionName);
  reconnectWhenEnded(client, Math.min(options.maxReconnectDelayMs ?? 2000, 500), () =>
    logger?.warn(
      { connectionName },
      "the Redis client stopped reconnecting (ioredis ended it mid-failover); connecting it again",
    ),
  );
  return client;
}

function newRedisClient(
  options: RedisConnectionOptions,
  role: RedisRole,
  connectionName: string,
): RedisClient {
  const topology = redisTopology(options);
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const retry = (times: number) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay);
  const common: RedisOptions = {
    lazyConnect: true,
    connectionName,
    maxRetriesPerRequest: role === "worker" ? null : 1,
    retryStrategy: retry,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    reconnectOnError: reconnectOnReadonly,
  };
  const tls = options.tls ? (options.tlsCa ? { ca: options.tlsCa } : {}) : undefined;
  if (topology === "single") {
    const parsed = parseRedisUrl(options.url ?? "");
    if (parsed.protocol === "rediss:") common.tls = options.tlsCa ? { ca: options.tlsCa } : {};
    return new Redis(options.url ?? "", common);
  }
  const credentials = { username: options.username, password: options.password };
  if (topology === "sentinel") {
    const sentinel = options.sentinel!;
    return new Redis({
      ...common,
      ...credentials,
      sentinels: sentinel.sentinels,
      name: sentinel.name,
      sentinelUsername: sentinel.username,
      sentinelPassword: sentinel.password,
      sentinelRetryStrategy: retry,
      enableTLSForSentinelMode: tls !== undefined,
      tls,
      sentinelTLS: tls,
      // Follows the sentinels' +switch-master, so a primary that hangs (not only one that closes its
      // connections) is left for the new one as soon as the sentinels promote it.
      failoverDetector: true,
    });
  }
  const clusterOptions: ClusterOptions = {
    lazyConnect: true,
    redisOptions: { ...common, ...credentials, tls, lazyConnect: undefined },
    clusterRetryStrategy: retry,
    // Retries while a master's replica is being promoted, instead of failing the command at once.
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    slotsRefreshTimeout: 2000,
    // TLS certificates name the host given, not the address it resolves to.
    dnsLookup: (address, callback) => callback(null, address),
  };
  return new Cluster(options.cluster!.nodes, clusterOptions);
}

/**
 * Connects a client again when it ends without having been told to. ioredis ends a Sentinel
 * client for good, instead of retrying, when the sentinels announce +switch-master while the
 * client is already reconnecting: its failover detector closes the connector in the middle of
 * asking the sentinels, that connect fails with "Connection is closed", and a failed connect
 * ends the client. A worker whose connection ended so fetched nothing again (issue 19).
 * `disconnect()` and `quit()` still end the client for good; `connect()` wants it again.
 */
function reconnectWhenEnded(client: RedisClient, delayMs: number, onEnded: () => void): void {
  let closedByOwner = false;
  const { connect, disconnect, quit } = client;
  client.connect = (...args: Parameters<typeof connect>) => {
    closedByOwner = false;
    return connect.apply(client, args);
  };
  client.disconnect = (reconnect?: boolean) => {
    if (!reconnect) closedByOwner = true;
    disconnect.call(client, reconnect);
  };
  client.quit = ((...args: Parameters<typeof quit>) => {
    closedByOwner = true;
    return quit.apply(client, args);
  }) as typeof quit;
  client.on("end", () => {
    if (closedByOwner) return;
    onEnded();
    // A connect that fails ends the client again, which comes back here: the delay paces retries.
    setTimeout(() => {
      if (!closedByOwner && client.status === "end") connect.call(client).catch(() => undefined);
    }, delayMs).unref();
  });
}

/** Connects a lazy client, turning every failure into one clear error without the password in it. */
export async function connectRedis(client: RedisClient, options: RedisConnectionOptions): Promise<void> {
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  let lastError: unknown;
  const onError = (err: unknown) => {
    lastError = err;
  };
  client.on("error", onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(lastError ?? new QueueError("RedisUnavailable", `no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    client.disconnect();
    // ioredis rejects connect() with "Connection is closed."; the error event before it says why.
    const why = lastError ?? err;
    const reason = why instanceof Error ? why.message : String(why);
    // Nothing listens there: the likeliest cause, said in the words of what to check.
    const hint = /ECONNREFUSED/.test(reason) ? " (is redis-server running there?)" : "";
    throw new QueueError("RedisUnavailable", `cannot use ${describeRedis(options)}: ${reason}${hint}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
    client.off("error", onError);
  }
}

/**
 * Reads `maxmemory-policy` (through INFO, which managed Redis services allow where CONFIG is not)
 * and warns unless it is `noeviction`. Returns the policy, or undefined when it could not be read.
 */
export async function checkEvictionPolicy(client: RedisClient, logger: Logger): Promise<string | undefined> {
  let policy: string | undefined;
  try {
    const info = await client.info("memory");
    policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  } catch (err) {
    logger.warn({ err }, "could not read Redis maxmemory-policy; make sure it is noeviction");
    return undefined;
  }
  if (policy !== undefined && policy !== "noeviction") {
    logger.warn(
      { maxmemoryPolicy: policy },
      `Redis maxmemory-policy is "${policy}" but azid needs "noeviction": under memory pressure Redis ` +
        "would silently evict queued work, locks and deduplication keys, so changes could be lost or " +
        "reconciled twice at once. Set maxmemory-policy noeviction on this Redis.",
    );
  }
  return policy;
}
