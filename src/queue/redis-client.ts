import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../observability/logger.js";
import { QueueError } from "./errors.js";

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /** PEM certificate(s) of the CA that signed the server's certificate, when it is not a public one. */
  tlsCa?: string | Buffer;
  /** How long opening the queue waits for Redis before failing. Default 10 s. */
  connectTimeoutMs?: number;
  /** Upper bound of the wait between reconnect attempts. Default 2 s. */
  maxReconnectDelayMs?: number;
}

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

/** An ioredis client that has not connected yet (call `connectRedis`). */
export function createRedisClient(
  options: RedisConnectionOptions,
  role: RedisRole,
  connectionName: string,
): Redis {
  const parsed = parseRedisUrl(options.url);
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const clientOptions: RedisOptions = {
    lazyConnect: true,
    connectionName,
    maxRetriesPerRequest: role === "worker" ? null : 1,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    connectTimeout: options.connectTimeoutMs ?? 10_000,
  };
  if (parsed.protocol === "rediss:") {
    clientOptions.tls = options.tlsCa ? { ca: options.tlsCa } : {};
  }
  return new Redis(options.url, clientOptions);
}

/** Connects a lazy client, turning every failure into one clear error without the password in it. */
export async function connectRedis(client: Redis, options: RedisConnectionOptions): Promise<void> {
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
          () => reject(lastError ?? new Error(`no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    client.disconnect();
    const reason = err instanceof Error ? err.message : String(err);
    throw new QueueError(
      "RedisUnavailable",
      `cannot use Redis at ${redactRedisUrl(options.url)}: ${reason}`,
      {
        cause: err,
      },
    );
  } finally {
    clearTimeout(timer);
    client.off("error", onError);
  }
}

/**
 * Reads `maxmemory-policy` (through INFO, which managed Redis services allow where CONFIG is not)
 * and warns unless it is `noeviction`. Returns the policy, or undefined when it could not be read.
 */
export async function checkEvictionPolicy(client: Redis, logger: Logger): Promise<string | undefined> {
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
