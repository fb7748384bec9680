// Highly available Redis topologies for tests, from the machine's redis-server and redis-cli:
// Sentinel (1 primary, 1 replica, 3 sentinels) and a Redis Cluster of 3 masters with a replica
// each. Every process is on a free loopback port, without persistence, and killed by stop().
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type { RedisConnectionOptions, RedisNodeAddress } from "../../src/queue/index.js";
import { freePort, makeCertificates } from "./redis.js";

const run = promisify(execFile);
const HOST = "127.0.0.1";

/** One redis-server (data node or sentinel) we started and can kill, pause and resume. */
export class RedisProcess {
  private child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  get address(): RedisNodeAddress {
    return { host: HOST, port: this.port };
  }

  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async start(): Promise<void> {
    const proc = spawn("redis-server", this.args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = proc;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Ready to accept connections|Sentinel ID is/.test(output)) {
          proc.stdout?.off("data", onData);
          proc.stdout?.resume();
          proc.off("exit", onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) =>
        reject(new Error(`redis-server ${this.args.join(" ")} exited with ${code}: ${output}`));
      proc.stdout?.on("data", onData);
      proc.once("exit", onExit);
      proc.once("error", reject);
      setTimeout(
        () => reject(new Error(`redis-server did not start within 20 s: ${output}`)),
        20_000,
      ).unref();
    });
  }

  /** SIGKILL: what it held and had not replicated is gone. */
  async kill(): Promise<void> {
    const proc = this.child;
    if (!proc || !this.running) return;
    const exited = once(proc, "exit");
    proc.kill("SIGCONT");
    proc.kill("SIGKILL");
    await exited;
  }

  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }
}

/** Starts a killed node again and waits until it replicates from the primary. */
async function rejoin(node: RedisProcess, timeoutMs = 60_000): Promise<void> {
  if (!node.running) await node.start();
  await until(
    "the node is a replica in sync",
    async () => {
      const info = (await ask(node.port, (c) => c.info("replication"))) ?? "";
      return /role:slave/.test(info) && /master_link_status:up/.test(info);
    },
    timeoutMs,
  );
}

/** `azid controller`'s flags for a topology. */
export function redisFlags(topology: RedisTopologyUnderTest): string[] {
  const list = (nodes: RedisNodeAddress[]) => nodes.map((n) => `${n.host}:${n.port}`).join(",");
  const { sentinel, cluster } = topology.connection;
  if (sentinel) {
    return ["--redis-sentinels", list(sentinel.sentinels), "--redis-sentinel-name", sentinel.name];
  }
  return ["--redis-cluster-nodes", list(cluster?.nodes ?? [])];
}

function dataNodeArgs(port: number, dir: string, extra: string[] = []): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    HOST,
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--maxmemory-policy",
    "noeviction",
    ...extra,
  ];
}

/** The password of each port that requires one (data nodes and sentinels started with one). */
const PASSWORDS = new Map<number, string>();
/** The CA certificate of each port that speaks only TLS. */
const TLS_CAS = new Map<number, string>();

/** A CA and a certificate it signed for 127.0.0.1, made with openssl for servers started here. */
export interface TlsMaterial {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The CA certificate's PEM, for clients. */
  ca: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1 under `dir` (redis.ts makes them). */
export async function makeTlsMaterial(dir: string): Promise<TlsMaterial> {
  const { ca, cert, key } = makeCertificates(dir);
  return { caFile: ca, certFile: cert, keyFile: key, ca: readFileSync(ca, "utf8") };
}

/** redis-server flags that make a node speak only TLS on `port` (replication and cluster bus too). */
function tlsArgs(port: number, tls: TlsMaterial): string[] {
  return [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    tls.certFile,
    "--tls-key-file",
    tls.keyFile,
    "--tls-ca-cert-file",
    tls.caFile,
    "--tls-auth-clients",
    "no",
    "--tls-replication",
    "yes",
    "--tls-cluster",
    "yes",
  ];
}

/** Asks one node and closes the connection; undefined when it does not answer. */
async function ask<T>(port: number, command: (client: Redis) => Promise<T>): Promise<T | undefined> {
  const client = new Redis({
    host: HOST,
    port,
    password: PASSWORDS.get(port),
    tls: TLS_CAS.has(port) ? { ca: TLS_CAS.get(port) } : undefined,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 1000,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await command(client);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

export interface RedisTopologyUnderTest {
  readonly kind: "sentinel" | "cluster";
  /** What azid is given to reach it. */
  readonly connection: RedisConnectionOptions;
  /** The prefix azid uses on it ({azid}-style on Cluster). */
  readonly prefix: string;
  /** The data node that holds `prefix`'s keys now (the primary, or the Cluster master of its slot). */
  primary(): Promise<RedisProcess>;
  /** Waits until another node has taken over from `old` and takes writes. */
  waitForFailover(old: RedisProcess, timeoutMs?: number): Promise<RedisProcess>;
  /** Starts a killed node again (empty) and waits until it is a replica in sync: the next failover's target. */
  rejoin(node: RedisProcess, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const SENTINEL_NAME = "azid-primary";

export interface SentinelOptions {
  /** How long the sentinels wait before they call an unanswering primary down. Default 1000 ms. */
  downAfterMs?: number;
  /** The data nodes require this password (and replicate with it). */
  password?: string;
  /** The sentinels require this password (of clients and of each other). */
  sentinelPassword?: string;
  /** Every node and sentinel speaks only TLS, with a CA made for the test. */
  tls?: boolean;
}

/** 1 primary, 1 replica and 3 sentinels (quorum 2), ready: the replica in sync and known to all. */
export async function startSentinelSet(options: SentinelOptions = {}): Promise<RedisTopologyUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), "azid-sentinel-"));
  const processes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nodes: RedisProcess[] = [];
    const primaryPort = await freePort();
    const tls = options.tls ? await makeTlsMaterial(dir) : undefined;
    const auth =
      options.password === undefined
        ? []
        : ["--requirepass", options.password, "--masterauth", options.password];
    for (const [i, extra] of [auth, [...auth, "--replicaof", HOST, String(primaryPort)]].entries()) {
      const port = i === 0 ? primaryPort : await freePort();
      if (options.password !== undefined) PASSWORDS.set(port, options.password);
      if (tls) TLS_CAS.set(port, tls.ca);
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir, { recursive: true });
      const node = new RedisProcess(
        port,
        dataNodeArgs(port, nodeDir, [...(tls ? tlsArgs(port, tls) : []), ...extra]),
      );
      processes.push(node);
      nodes.push(node);
      await node.start();
    }
    await until("the replica is in sync", async () =>
      /master_link_status:up/.test((await ask(nodes[1]!.port, (c) => c.info("replication"))) ?? ""),
    );
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        file,
        [
          ...(tls
            ? [
                "port 0",
                `tls-port ${port}`,
                `tls-cert-file ${tls.certFile}`,
                `tls-key-file ${tls.keyFile}`,
                `tls-ca-cert-file ${tls.caFile}`,
                "tls-auth-clients no",
                // Sentinels reach the data nodes and each other over TLS too.
                "tls-replication yes",
              ]
            : [`port ${port}`]),
          `bind ${HOST}`,
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_NAME} ${HOST} ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_NAME} ${options.downAfterMs ?? 1000}`,
          // Also the least time between two failovers of one primary name (twice this).
          `sentinel failover-timeout ${SENTINEL_NAME} 3000`,
          `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
          ...(options.password === undefined
            ? []
            : [`sentinel auth-pass ${SENTINEL_NAME} ${options.password}`]),
          ...(options.sentinelPassword === undefined
            ? []
            : [
                `requirepass ${options.sentinelPassword}`,
                `sentinel sentinel-pass ${options.sentinelPassword}`,
              ]),
          "",
        ].join("\n"),
      );
      if (options.sentinelPassword !== undefined) PASSWORDS.set(port, options.sentinelPassword);
      if (tls) TLS_CAS.set(port, tls.ca);
      const sentinel = new RedisProcess(port, [file, "--sentinel"]);
      processes.push(sentinel);
      sentinels.push(sentinel);
      await sentinel.start();
    }
    await until("every sentinel knows the replica and the other sentinels", async () => {
      for (const sentinel of sentinels) {
        const known = await ask(sentinel.port, async (c) => {
          const replicas = (await c.call("SENTINEL", "REPLICAS", SENTINEL_NAME)) as unknown[];
          const peers = (await c.call("SENTINEL", "SENTINELS", SENTINEL_NAME)) as unknown[];
          return replicas.length === 1 && peers.length === 2;
        });
        if (!known) return false;
      }
      return true;
    });

    const masterPort = async (): Promise<number | undefined> => {
      for (const sentinel of sentinels) {
        if (!sentinel.running) continue;
        const reply = await ask(sentinel.port, (c) =>
          c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_NAME),
        );
        if (Array.isArray(reply)) return Number(reply[1]);
      }
      return undefined;
    };
    const byPort = (port: number | undefined) => {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`the sentinels name no node of ours as primary (${port})`);
      return node;
    };
    return {
      kind: "sentinel",
      connection: {
        sentinel: {
          sentinels: sentinels.map((s) => s.address),
          name: SENTINEL_NAME,
          password: options.sentinelPassword,
        },
        password: options.password,
        tls: tls !== undefined,
        tlsCa: tls?.ca,
        connectTimeoutMs: 5000,
      },
      prefix: "azid",
      primary: async () => byPort(await masterPort()),
      async waitForFailover(old, timeoutMs = 30_000) {
        let next: RedisProcess | undefined;
        await until(
          "the sentinels promoted the replica",
          async () => {
            const port = await masterPort();
            if (port === undefined || port === old.port) return false;
            const role = await ask(port, (c) => c.info("replication"));
            if (!/role:master/.test(role ?? "")) return false;
            next = byPort(port);
            return true;
          },
          timeoutMs,
        );
        return next!;
      },
      rejoin,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Slot ranges and their master's port, as CLUSTER SLOTS reports them. */
async function slotOwners(port: number): Promise<{ start: number; end: number; master: number }[]> {
  const reply = (await ask(port, (c) => c.call("CLUSTER", "SLOTS"))) as
    | [number, number, [string, number, ...unknown[]], ...unknown[]][]
    | undefined;
  return (reply ?? []).map(([start, end, master]) => ({ start, end, master: Number(master[1]) }));
}

/** 3 masters with a replica each, every slot covered and every node agreeing the cluster is ok. */
export async function startRedisCluster(
  options: { password?: string; tls?: boolean } = {},
): Promise<RedisTopologyUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), "azid-cluster-"));
  const nodes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const tls = options.tls ? await makeTlsMaterial(dir) : undefined;
    const secured = (port: number): string[] => [
      ...(tls ? tlsArgs(port, tls) : []),
      ...(options.password === undefined
        ? []
        : ["--requirepass", options.password, "--masterauth", options.password]),
    ];
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir, { recursive: true });
      if (options.password !== undefined) PASSWORDS.set(port, options.password);
      if (tls) TLS_CAS.set(port, tls.ca);
      const node = new RedisProcess(
        port,
        dataNodeArgs(port, nodeDir, [
          ...secured(port),
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(nodeDir, "nodes.conf"),
          "--cluster-node-timeout",
          "1000",
          // The bus port defaults to port + 10000, which nothing checked was free.
          "--cluster-port",
          String(await freePort()),
        ]),
      );
      nodes.push(node);
      await node.start();
    }
    await run(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...nodes.map((n) => `${HOST}:${n.port}`),
        "--cluster-replicas",
        "1",
        "--cluster-yes",
        ...(tls ? ["--tls", "--cacert", tls.caFile] : []),
        ...(options.password === undefined ? [] : ["-a", options.password, "--no-auth-warning"]),
      ],
      { timeout: 30_000 },
    );
    await until("every node sees the cluster ok, with a replica per master", async () => {
      for (const node of nodes) {
        const info = (await ask(node.port, (c) => c.call("CLUSTER", "INFO"))) as string | undefined;
        if (!/cluster_state:ok/.test(info ?? "")) return false;
      }
      const replication = await Promise.all(nodes.map((n) => ask(n.port, (c) => c.info("replication"))));
      const synced = replication.filter((info) => /master_link_status:up/.test(info ?? "")).length;
      return synced === 3;
    });
    const prefix = "{azid}";
    const slot = Number(await ask(nodes[0]!.port, (c) => c.call("CLUSTER", "KEYSLOT", prefix)));
    const masterOfSlot = async (): Promise<number | undefined> => {
      for (const node of nodes) {
        if (!node.running) continue;
        const owners = await slotOwners(node.port);
        const owner = owners.find((range) => range.start <= slot && slot <= range.end);
        if (owner) return owner.master;
      }
      return undefined;
    };
    const byPort = (port: number | undefined) => {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no node of ours owns slot ${slot} (${port})`);
      return node;
    };
    return {
      kind: "cluster",
      connection: {
        cluster: { nodes: nodes.slice(0, 3).map((n) => n.address) },
        password: options.password,
        tls: tls !== undefined,
        tlsCa: tls?.ca,
        connectTimeoutMs: 5000,
      },
      prefix,
      primary: async () => byPort(await masterOfSlot()),
      async waitForFailover(old, timeoutMs = 30_000) {
        let next: RedisProcess | undefined;
        await until(
          `a replica took slot ${slot} over`,
          async () => {
            const port = await masterOfSlot();
            if (port === undefined || port === old.port) return false;
            const info = (await ask(port, (c) => c.call("CLUSTER", "INFO"))) as string | undefined;
            if (!/cluster_state:ok/.test(info ?? "")) return false;
            next = byPort(port);
            return true;
          },
          timeoutMs,
        );
        return next!;
      },
      rejoin,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
