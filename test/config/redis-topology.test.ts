import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, resolveControllerConfig } from "../../src/config/controller-config.js";
import { describeRedis, prefixHashTag, QueueError, WorkQueue } from "../../src/queue/index.js";
import { silentLogger } from "../queue/helpers.js";

const refused = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
  assert.match(error.message, pattern);
  return true;
};

describe("Redis topology configuration", () => {
  test("Sentinel: sentinels and the primary's name from flags or environment, passwords from the environment", () => {
    const config = resolveControllerConfig(
      { redisSentinels: "sentinel-0.redis:26379, [fd00::1]:26380", redisSentinelName: "mymaster" },
      {
        AZID_REDIS_PASSWORD: "data-secret",
        AZID_REDIS_SENTINEL_PASSWORD: "sentinel-secret",
        AZID_REDIS_TLS: "true",
      },
    );
    assert.deepEqual(config.redis.sentinel, {
      sentinels: [
        { host: "sentinel-0.redis", port: 26379 },
        { host: "fd00::1", port: 26380 },
      ],
      name: "mymaster",
      username: undefined,
      password: "sentinel-secret",
    });
    assert.equal(config.redis.password, "data-secret");
    assert.equal(config.redis.tls, true);
    assert.equal(config.redis.url, undefined);
    assert.equal(config.redisPrefix, "azid", "Sentinel keeps the plain prefix");
    assert.ok(!describeRedis(config.redis).includes("secret"), "no password in what logs show");

    const fromEnv = resolveControllerConfig(
      {},
      { AZID_REDIS_SENTINELS: "a:1,b:2", AZID_REDIS_SENTINEL_NAME: "primary" },
    );
    assert.equal(fromEnv.redis.sentinel?.name, "primary");
    assert.equal(fromEnv.redis.tls, false);
  });

  test("Cluster: the prefix defaults to {azid}; one without a hash tag is refused with the fix", () => {
    const config = resolveControllerConfig({ redisClusterNodes: "10.0.0.1:6379,10.0.0.2:6379" }, {});
    assert.deepEqual(config.redis.cluster?.nodes, [
      { host: "10.0.0.1", port: 6379 },
      { host: "10.0.0.2", port: 6379 },
    ]);
    assert.equal(config.redisPrefix, "{azid}");
    assert.equal(
      resolveControllerConfig({ redisClusterNodes: "n:1", redisPrefix: "team-{a}" }, {}).redisPrefix,
      "team-{a}",
    );
    for (const prefix of ["azid", "{}azid", "az{id", "azid}"]) {
      assert.throws(
        () => resolveControllerConfig({ redisClusterNodes: "n:1", redisPrefix: prefix }, {}),
        refused(/hash tag.*one slot.*use "\{[a-z]+\}"/),
        prefix,
      );
    }
  });

  test("exactly one kind of Redis, each with what it needs", () => {
    assert.throws(
      () => resolveControllerConfig({}, {}),
      refused(/--redis-url.*or --redis-sentinels.*or --redis-cluster-nodes/),
    );
    assert.throws(
      () => resolveControllerConfig({ redisUrl: "redis://h:6379", redisClusterNodes: "n:1" }, {}),
      refused(/only one of --redis-url, --redis-cluster-nodes/),
    );
    assert.throws(
      () => resolveControllerConfig({ redisSentinels: "s:26379" }, {}),
      refused(/needs --redis-sentinel-name/),
    );
    assert.throws(
      () => resolveControllerConfig({ redisUrl: "redis://h:6379", redisSentinelName: "m" }, {}),
      refused(/goes with --redis-sentinels/),
    );
    for (const bad of ["host", "host:", "host:0", "host:70000", ":6379", "a b:1"]) {
      assert.throws(
        () => resolveControllerConfig({ redisClusterNodes: `ok:1,${bad}` }, {}),
        refused(/is not host:port/),
        bad,
      );
    }
    assert.throws(
      () => resolveControllerConfig({ redisUrl: "redis://h:6379", redisCaFile: "/nonexistent/ca.pem" }, {}),
      refused(/--redis-ca-file: cannot read/),
    );
  });

  test("the queue itself refuses an untagged prefix on Cluster before it connects", async () => {
    assert.equal(prefixHashTag("{azid}"), "azid");
    assert.equal(prefixHashTag("x{a}{b}"), "a");
    assert.equal(prefixHashTag("{}x{a}"), undefined, "Redis reads the first braces, empty here");
    await assert.rejects(
      WorkQueue.open({
        name: "q",
        prefix: "azid",
        // Nothing listens there: the refusal must come before any connection attempt.
        redis: { cluster: { nodes: [{ host: "127.0.0.1", port: 1 }] } },
        logger: silentLogger,
      }),
      (error: unknown) =>
        error instanceof QueueError && error.code === "InvalidOption" && /use "\{azid\}"/.test(error.message),
    );
  });
});
