import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { QueueError, WorkQueue } from "../../src/queue/index.js";
import { freePort, type RedisServer, startRedis } from "../support/redis.js";
import {
  eventually,
  openTestQueue,
  RunLog,
  recordingLogger,
  retryAlways,
  silentLogger,
  uniqueName,
} from "./helpers.js";

const servers: RedisServer[] = [];
const opened: WorkQueue[] = [];
let redis: RedisServer;

async function server(options: Parameters<typeof startRedis>[0] = {}): Promise<RedisServer> {
  const started = await startRedis(options);
  servers.push(started);
  return started;
}

function failsWith(code: string, mustNotMention?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof QueueError, `expected a QueueError, got ${err}`);
    assert.equal(err.code, code, err.message);
    if (mustNotMention)
      assert.ok(!err.message.includes(mustNotMention), `the message leaks ${mustNotMention}`);
    return true;
  };
}

/** Adds and reconciles one key through `url`: the connection really works, not just the handshake. */
async function roundTrip(url: string, tlsCa?: string): Promise<void> {
  const queue = await WorkQueue.open({
    name: uniqueName("conn"),
    redis: { url, tlsCa },
    logger: silentLogger,
  });
  opened.push(queue);
  const log = new RunLog();
  await queue.start({ concurrency: 1, reconcile: log.reconciler("r"), classify: retryAlways });
  await queue.add("ns/over-the-wire");
  await eventually("the key was reconciled", () => log.runs.length === 1);
}

before(async () => {
  redis = await server();
});

after(async () => {
  await Promise.all(opened.map((queue) => queue.close({ gracePeriodMs: 100 })));
  await Promise.all(servers.map((started) => started.stop()));
});

describe("Redis configuration", () => {
  test("warns clearly when Redis may evict keys, and not when it runs noeviction", async () => {
    const evicting = await server({ maxmemoryPolicy: "allkeys-lru" });
    const warned = recordingLogger("info");
    opened.push(await openTestQueue(evicting.url, { logger: warned.logger }));
    const warning = warned.lines.find((line) => line.maxmemoryPolicy !== undefined);
    assert.ok(warning, "a warning names the eviction policy");
    assert.equal(warning.level, "warn");
    assert.equal(warning.maxmemoryPolicy, "allkeys-lru");
    assert.match(String(warning.msg), /noeviction/);

    const quiet = recordingLogger("info");
    opened.push(await openTestQueue(redis.url, { logger: quiet.logger }));
    assert.equal(quiet.lines.filter((line) => line.maxmemoryPolicy !== undefined).length, 0);
  });

  test("two installations with different prefixes share a Redis without touching each other's work", async () => {
    const name = "shared-name";
    const alpha = await openTestQueue(redis.url, { name, prefix: "alpha" });
    const beta = await openTestQueue(redis.url, { name, prefix: "beta" });
    opened.push(alpha, beta);
    const log = new RunLog();
    let alphaFailures = 0;
    await alpha.start({
      concurrency: 2,
      reconcile: log.reconciler("alpha", async (_key, ctx) => {
        if (ctx.attempt === 1 && alphaFailures++ < 3) throw new Error("alpha fails once per key");
      }),
      classify: retryAlways,
    });
    await beta.start({ concurrency: 2, reconcile: log.reconciler("beta"), classify: retryAlways });
    for (const key of ["ns/x", "ns/y", "ns/z"]) await alpha.add(key);
    await eventually(
      "alpha reconciled its keys",
      () => log.runs.filter((run) => run.replica === "alpha").length === 6,
    );
    assert.equal(log.runs.filter((run) => run.replica === "beta").length, 0, "beta never saw alpha's keys");
    await beta.add("ns/x");
    await eventually("beta reconciled its own ns/x", () => log.runs.some((run) => run.replica === "beta"));
    assert.equal(
      log.runs.find((run) => run.replica === "beta")!.attempt,
      1,
      "alpha's failures are not beta's",
    );
    const raw = new Redis(redis.url);
    try {
      const keys = await raw.keys("*");
      const stray = keys.filter(
        (key) => !key.startsWith("alpha:") && !key.startsWith("beta:") && !/^azid:/.test(key),
      );
      assert.deepEqual(stray, [], "every key sits under an installation's prefix");
      assert.ok(
        keys.some((key) => key.startsWith("alpha:bucket:")),
        "token buckets live under the prefix too",
      );
    } finally {
      raw.disconnect();
    }
  });

  test("a password-protected Redis works through the URL, and a wrong password fails clearly", async () => {
    const protectedRedis = await server({ password: "s3cret-pass" });
    await roundTrip(protectedRedis.url);
    const wrong = protectedRedis.url.replace("s3cret-pass", "wrong-pass");
    await assert.rejects(
      WorkQueue.open({
        name: uniqueName("auth"),
        redis: { url: wrong, connectTimeoutMs: 2000 },
        logger: silentLogger,
      }),
      failsWith("RedisUnavailable", "wrong-pass"),
    );
  });

  test("an ACL user and password work through the URL", async () => {
    const acl = await server({ user: "azid", password: "acl-pass" });
    assert.match(acl.url, /^redis:\/\/azid:acl-pass@/);
    await roundTrip(acl.url);
  });

  test("rediss:// speaks TLS, trusting the CA it is given", async () => {
    const tls = await server({ tls: true, password: "tls-pass" });
    assert.match(tls.url, /^rediss:\/\//);
    await roundTrip(tls.url, tls.tlsCa);
    await assert.rejects(
      WorkQueue.open({
        name: uniqueName("tls"),
        redis: { url: tls.url, connectTimeoutMs: 2000 },
        logger: silentLogger,
      }),
      failsWith("RedisUnavailable", "tls-pass"),
      "an unknown CA is refused",
    );
  });

  test("bad input gets a clear error", async () => {
    const open = (overrides: Partial<Parameters<typeof WorkQueue.open>[0]>) =>
      WorkQueue.open({ name: "ok", redis: { url: redis.url }, logger: silentLogger, ...overrides });
    await assert.rejects(open({ redis: { url: "http://127.0.0.1:1" } }), failsWith("InvalidRedisUrl"));
    await assert.rejects(open({ redis: { url: "not a url" } }), failsWith("InvalidRedisUrl"));
    await assert.rejects(open({ name: "has:colon" }), failsWith("InvalidOption"));
    await assert.rejects(open({ prefix: "" }), failsWith("InvalidOption"));
    await assert.rejects(open({ lockDurationMs: -5 }), failsWith("InvalidOption"));
    const nobody = `redis://:pw-nobody@127.0.0.1:${await freePort()}`;
    await assert.rejects(
      open({ redis: { url: nobody, connectTimeoutMs: 500 } }),
      failsWith("RedisUnavailable", "pw-nobody"),
    );
    const queue = await openTestQueue(redis.url);
    opened.push(queue);
    await assert.rejects(queue.add(""), failsWith("InvalidKey"));
    await assert.rejects(queue.addAfter("ns/k", -1), failsWith("InvalidOption"));
    await assert.rejects(queue.addAfter("ns/k", Number.NaN), failsWith("InvalidOption"));
    await assert.rejects(
      queue.start({ concurrency: 0, reconcile: async () => {}, classify: retryAlways }),
      failsWith("InvalidOption"),
    );
  });

  test("Redis memory stays bounded: finished jobs and their bookkeeping are removed", async () => {
    const name = uniqueName("memory");
    const queue = await openTestQueue(redis.url, {
      name,
      backoff: { baseMs: 1 },
      retryBucket: { capacity: 10_000, refillPerSecond: 10_000 },
    });
    opened.push(queue);
    let runs = 0;
    const requeued = new Set<string>();
    await queue.start({
      concurrency: 16,
      reconcile: async (key, ctx) => {
        runs++;
        if (key.endsWith("7") && ctx.attempt === 1) throw new Error("fails once");
        if (key.endsWith("3") && !requeued.has(key)) {
          requeued.add(key);
          return { requeueAfterMs: 5 };
        }
      },
      classify: (err) => ((err as Error).message === "terminal" ? { kind: "terminal" } : { kind: "retry" }),
    });
    const keys = Array.from({ length: 400 }, (_, i) => `ns/obj-${i}`);
    for (let round = 0; round < 5; round++) for (const key of keys) await queue.add(key);
    await eventually("the queue drained", async () => {
      const counts = await queue.counts();
      return runs >= keys.length && counts.ready + counts.delayed + counts.active === 0;
    });
    const raw = new Redis(redis.url);
    try {
      const left = await raw.keys(`azid:${name}:*`);
      const lasting: string[] = [];
      for (const key of left) {
        const ttl = await raw.pttl(key);
        if (ttl < 0) lasting.push(key.slice(`azid:${name}:`.length));
        else assert.ok(ttl <= 2000, `${key} expires within the lock duration`);
      }
      assert.deepEqual(
        lasting.sort(),
        ["events", "id", "meta"].filter((suffix) => lasting.includes(suffix)),
        `only the queue's fixed bookkeeping stays, not per-job or per-key state: ${lasting.join(", ")}`,
      );
      assert.ok((await raw.xlen(`azid:${name}:events`)) <= 1100, "the event stream is capped");
    } finally {
      raw.disconnect();
    }
  });
});
