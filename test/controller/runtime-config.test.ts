// `azid controller`'s flags and environment: precedence, the sandbox file, Go durations, the
// Redis password from the environment (against a real redis-server that requires it), and clear
// errors for bad input, also from the command itself.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Command } from "commander";
import { registerControllerCommand } from "../../src/cli/commands/controller.js";
import {
  ConfigError,
  type ControllerFlags,
  resolveControllerConfig,
} from "../../src/config/controller-config.js";
import { parseDuration } from "../../src/config/duration.js";
import { WorkQueue } from "../../src/queue/index.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { renderChart } from "../chart/helm.js";
import { VALUE_SETS } from "../chart/value-sets.js";
import { cleanUp, TestCluster, testLogger, waitFor } from "../kube/support/cluster.js";
import { freePort, startRedis } from "../support/redis.js";

const run = promisify(execFile);
const AZID = join(PACKAGE_ROOT, "bin", "azid.js");

describe("controller configuration", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "azid-config-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("Go durations", () => {
    assert.equal(parseDuration("10m"), 600_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("0"), 0);
    for (const bad of ["", "10", "10x", "-1m", "m", "1m 2s"])
      assert.throws(() => parseDuration(bad), /not a duration/);
  });

  test("the service-account issuer: flag over env, absent means discovery, not https refused", () => {
    const base = { redisUrl: "redis://127.0.0.1:6379" };
    assert.equal(resolveControllerConfig(base, {}).serviceAccountIssuer, undefined);
    const env = { AZID_SERVICE_ACCOUNT_ISSUER: "https://oidc.env.example.com" };
    assert.equal(resolveControllerConfig(base, env).serviceAccountIssuer, "https://oidc.env.example.com");
    assert.equal(
      resolveControllerConfig({ ...base, serviceAccountIssuer: "https://oidc.flag.example.com/x" }, env)
        .serviceAccountIssuer,
      "https://oidc.flag.example.com/x",
    );
    for (const bad of ["http://oidc.example.com", "oidc.example.com", "https://a b"]) {
      assert.throws(
        () => resolveControllerConfig({ ...base, serviceAccountIssuer: bad }, {}),
        (error: Error) =>
          error instanceof ConfigError &&
          /--service-account-issuer .*is not an https URL.*\/.well-known\/openid-configuration/.test(
            error.message,
          ),
      );
    }
  });

  test("defaults: loopback metrics, every namespace, Manual remediation, 10 minute resync", () => {
    const config = resolveControllerConfig({ redisUrl: "redis://127.0.0.1:6379" }, {});
    assert.equal(config.metricsAddr, "127.0.0.1:8080");
    assert.deepEqual(config.namespaces, []);
    assert.equal(config.tenantRemediation, "Manual");
    assert.equal(config.resyncPeriodMs, 600_000);
    assert.equal(config.concurrency, 4);
    assert.equal(config.redisPrefix, "azid");
    assert.equal(config.leaderElection.id, "azid");
    assert.equal(config.azure.endpoints.arm, "https://management.azure.com");
    assert.equal(config.azure.endpoints.armAudience, "https://management.azure.com");
    assert.equal(config.azure.timeScale, 1);
    assert.equal(config.azure.fallbackCredential, undefined, "DefaultAzureCredential unless told otherwise");
  });

  test("the chart's flags as the Deployment passes them", () => {
    const config = resolveControllerConfig(
      {
        metricsAddr: ":8080",
        redisPrefix: "team-a",
        leaderElectionNamespace: "azid-system",
        leaderElectionId: "azid-controller",
        concurrency: "8",
        resyncPeriod: "5m",
        logLevel: "debug",
        tenantRemediation: "Auto",
        namespaces: "team-a, team-b,team-a",
        armEndpoint: "https://management.usgovcloudapi.net/",
        graphEndpoint: "https://graph.microsoft.us",
        authorityHost: "https://login.microsoftonline.us",
        credentialsFile: "/etc/azid/credentials/credentials.yaml",
      },
      { AZID_REDIS_URL: "rediss://cache.example.net:6380", POD_NAME: "azid-7d9f-abcde" },
    );
    assert.equal(config.metricsAddr, ":8080");
    assert.equal(config.redis.url, "rediss://cache.example.net:6380");
    assert.deepEqual(config.namespaces, ["team-a", "team-b"]);
    assert.equal(config.concurrency, 8);
    assert.equal(config.resyncPeriodMs, 300_000);
    assert.equal(config.tenantRemediation, "Auto");
    assert.deepEqual(config.leaderElection, { namespace: "azid-system", id: "azid-controller" });
    assert.equal(config.azure.endpoints.arm, "https://management.usgovcloudapi.net");
    assert.equal(
      config.azure.endpoints.armAudience,
      "https://management.usgovcloudapi.net",
      "a sovereign cloud's audience",
    );
    assert.equal(config.azure.authorityHost, "https://login.microsoftonline.us");
    assert.equal(config.podName, "azid-7d9f-abcde");
  });

  test("every value set of the chart renders arguments and environment the command accepts", () => {
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      const deployment = renderChart(values).find(
        (o) => o.kind === "Deployment" && o.metadata?.name === "azid",
      )!;
      const container = deployment.spec.template.spec.containers.find(
        (c: { name: string }) => c.name === "controller",
      );
      const [command, ...args] = container.args as string[];
      assert.equal(command, "controller", name);
      const flags: Record<string, string> = {};
      for (const arg of args) {
        const match = /^--([a-z-]+)=(.*)$/.exec(arg);
        assert.ok(match, `${name}: ${arg} is --flag=value`);
        flags[match[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = match[2]!;
      }
      const program = new Command();
      registerControllerCommand(program);
      const known = new Set(program.commands[0]!.options.map((option) => option.attributeName()));
      for (const flag of Object.keys(flags))
        assert.ok(known.has(flag), `${name}: azid controller has no --${flag}`);
      // Secrets are mounted as environment variables; a stand-in value is enough to resolve them.
      const env: Record<string, string> = {};
      for (const variable of container.env as { name: string; value?: string }[]) {
        env[variable.name] =
          variable.value ?? (variable.name === "AZID_REDIS_URL" ? "rediss://from-secret:6380" : "x");
      }
      const config = resolveControllerConfig(flags as ControllerFlags, env);
      const { url, sentinel, cluster } = config.redis;
      if (sentinel) assert.ok(sentinel.sentinels.length > 0 && sentinel.name, name);
      else if (cluster) assert.match(config.redisPrefix, /\{.+\}/, `${name}: a hash-tagged prefix`);
      else assert.match(url ?? "", /^rediss?:\/\//, name);
      assert.equal(config.metricsAddr, ":8080", name);
    }
  });

  test("a flag beats the environment; the password comes from AZID_REDIS_PASSWORD unless the URL has one", () => {
    const env = {
      AZID_REDIS_URL: "redis://env:6379",
      AZID_REDIS_PASSWORD: "s3cr:t/@x",
      AZID_LOG_LEVEL: "warn",
    };
    const fromFlag = resolveControllerConfig({ redisUrl: "redis://flag:6379", logLevel: "error" }, env);
    assert.equal(new URL(fromFlag.redis.url ?? "").hostname, "flag");
    assert.equal(fromFlag.logLevel, "error");
    assert.equal(decodeURIComponent(new URL(fromFlag.redis.url ?? "").password), "s3cr:t/@x");
    const withUser = resolveControllerConfig({ redisUrl: "redis://azid@acl:6379" }, env);
    assert.equal(new URL(withUser.redis.url ?? "").username, "azid", "an ACL user stays");
    assert.equal(resolveControllerConfig({}, env).logLevel, "warn");
    const inUrl = resolveControllerConfig({ redisUrl: "redis://:own@host:6379" }, env);
    assert.equal(new URL(inUrl.redis.url ?? "").password, "own");
  });

  test("--sandbox: the kubeconfig, endpoints, CA, tenant credential and time scale of the sandbox file", () => {
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const file = join(dir, "sandbox.json");
    writeFileSync(
      file,
      `${JSON.stringify({
        arm: "https://127.0.0.1:8443",
        graph: "https://127.0.0.1:8443",
        authorityHost: "https://127.0.0.1:8443",
        caFile: ca,
        tenantId: "7a34af61-8fc8-4a40-9dee-7bb7c754d3d1",
        subscriptionId: "f4dc73b7-c536-4b2d-9964-3f5fb8494022",
        timeScale: 50,
        kube: "http://127.0.0.1:6443",
        kubeconfig: "/sandbox/kubeconfig",
      })}\n`,
    );
    const config = resolveControllerConfig({ sandbox: file, redisUrl: "redis://127.0.0.1:6379" }, {});
    assert.equal(config.kubeconfig, "/sandbox/kubeconfig");
    assert.equal(config.azure.endpoints.arm, "https://127.0.0.1:8443");
    assert.equal(config.azure.endpoints.armAudience, undefined, "the sandbox takes public Azure's audience");
    assert.match(config.azure.endpoints.ca ?? "", /BEGIN CERTIFICATE/);
    assert.equal(config.azure.authorityHost, "https://127.0.0.1:8443");
    assert.equal(config.azure.fallbackCredential?.tenantId, "7a34af61-8fc8-4a40-9dee-7bb7c754d3d1");
    assert.equal(config.azure.timeScale, 50);
    const own = resolveControllerConfig({ sandbox: file, kubeconfig: "/mine", redisUrl: "redis://h:1" }, {});
    assert.equal(own.kubeconfig, "/mine", "--kubeconfig wins over the sandbox's");
  });

  test("bad values are refused with the flag named", () => {
    const base = { redisUrl: "redis://127.0.0.1:6379" };
    const cases: [Parameters<typeof resolveControllerConfig>[0], RegExp][] = [
      [{}, /--redis-url \(or AZID_REDIS_URL\) is required/],
      [{ redisUrl: "http://127.0.0.1:6379" }, /redis:\/\/ or rediss:\/\//],
      [{ ...base, concurrency: "0" }, /--concurrency/],
      [{ ...base, concurrency: "2.5" }, /--concurrency/],
      [{ ...base, resyncPeriod: "10" }, /--resync-period/],
      [{ ...base, metricsAddr: "8080" }, /--metrics-addr/],
      [{ ...base, logLevel: "verbose" }, /--log-level/],
      [{ ...base, tenantRemediation: "auto" }, /--tenant-remediation must be Manual or Auto/],
      [{ ...base, namespaces: "Team_A" }, /--namespaces/],
      [{ ...base, leaderElectionId: "Azid!" }, /--leader-election-id/],
      [{ ...base, redisPrefix: "a:b" }, /--redis-prefix/],
      [{ ...base, armEndpoint: "management.azure.com" }, /--arm-endpoint/],
      [{ ...base, sandbox: join(dir, "missing.json") }, /--sandbox/],
    ];
    for (const [flags, message] of cases) {
      assert.throws(
        () => resolveControllerConfig(flags, {}),
        (error: Error) => {
          assert.ok(error instanceof ConfigError, `${JSON.stringify(flags)}: ${error}`);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  test("azid controller over rediss://, trusting the CA from NODE_EXTRA_CA_CERTS as the chart mounts it", async () => {
    const [redis, cluster] = await Promise.all([
      startRedis({ tls: true, password: "tls-pw" }),
      TestCluster.start(),
    ]);
    const ca = join(dir, "redis-ca.pem");
    writeFileSync(ca, redis.tlsCa!);
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        AZID,
        "controller",
        `--kubeconfig=${cluster.kubeconfigPath}`,
        `--metrics-addr=127.0.0.1:${port}`,
        "--log-level=fatal",
      ],
      {
        env: {
          ...process.env,
          AZID_REDIS_URL: redis.url.replace(":tls-pw@", "@"),
          AZID_REDIS_PASSWORD: "tls-pw",
          NODE_EXTRA_CA_CERTS: ca,
        },
        stdio: "ignore",
      },
    );
    try {
      await waitFor(
        async () => {
          assert.equal(child.exitCode, null, "the controller exited");
          const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return response?.status === 200;
        },
        "the controller to be ready",
        20_000,
        100,
      );
    } finally {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = await exited;
      assert.equal(code, 0, "SIGTERM is a clean exit");
      await cleanUp(
        () => cluster.close(),
        () => redis.stop(),
      );
    }
  });

  test("the password from the environment opens a Redis that requires it", async () => {
    const redis = await startRedis({ password: "p@ss:word/with%chars" });
    try {
      const config = resolveControllerConfig(
        { redisUrl: `redis://127.0.0.1:${redis.port}` },
        { AZID_REDIS_PASSWORD: "p@ss:word/with%chars" },
      );
      const queue = await WorkQueue.open({ name: "config", redis: config.redis, logger: testLogger() });
      assert.ok(await queue.isHealthy());
      await queue.close();
    } finally {
      await redis.stop();
    }
  });

  test("azid controller: exit 1 (bad usage, as every command) and a message on stderr for bad flags, exit 1 when Redis is unreachable", async () => {
    await assert.rejects(
      run(process.execPath, [AZID, "controller", "--redis-url=redis://127.0.0.1:1", "--concurrency=zero"]),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /azid controller: --concurrency must be a whole number/);
        return true;
      },
    );
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]",
        "users: [{name: u, user: {}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
      ].join("\n"),
    );
    const port = await freePort();
    await assert.rejects(
      run(
        process.execPath,
        [AZID, "controller", `--kubeconfig=${kubeconfig}`, `--metrics-addr=127.0.0.1:${port}`],
        {
          env: { ...process.env, AZID_REDIS_URL: `redis://:secret-pw@127.0.0.1:${await freePort()}` },
          timeout: 30_000,
        },
      ).catch((error) => {
        throw error;
      }),
      (error: { code: number; stdout: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stdout, /"level":"fatal".*cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
        assert.match(error.stdout, /ECONNREFUSED.*\(is redis-server running there\?\)/);
        assert.doesNotMatch(error.stdout, /secret-pw/, "no password in the logs");
        return true;
      },
    );
  });
});
