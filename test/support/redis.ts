import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free TCP port on loopback, as the kernel hands it out. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export interface RedisServer {
  readonly port: number;
  /** The URL a client uses, credentials included when the server requires them. */
  readonly url: string;
  /** PEM of the CA that signed the server's certificate, when started with `tls`. */
  readonly tlsCa?: string;
  /** SIGKILL: the server's data is lost (no persistence is configured). */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port after kill(). */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Default noeviction, as azid requires. */
  maxmemoryPolicy?: string;
  /** Requires this password (`requirepass`), or this ACL user's password when `user` is set too. */
  password?: string;
  /** An ACL user allowed everything, and the default user disabled. */
  user?: string;
  /** Serve TLS only, with a certificate from a throwaway CA. */
  tls?: boolean;
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI. */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=azid test CA",
    "-keyout",
    path("ca.key"),
    "-out",
    path("ca.pem"),
  );
  writeFileSync(path("san.cnf"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    path("server.key"),
    "-out",
    path("server.csr"),
  );
  openssl(
    "x509",
    "-req",
    "-in",
    path("server.csr"),
    "-CA",
    path("ca.pem"),
    "-CAkey",
    path("ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    path("san.cnf"),
    "-out",
    path("server.pem"),
  );
  return { ca: path("ca.pem"), cert: path("server.pem"), key: path("server.key") };
}

/**
 * A real redis-server on a free loopback port, without persistence, with
 * maxmemory-policy noeviction as azid requires (unless told otherwise).
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "azid-redis-"));
  const certificates = options.tls ? makeCertificates(dir) : undefined;
  const args = [
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--maxmemory-policy",
    options.maxmemoryPolicy ?? "noeviction",
  ];
  if (certificates) {
    args.push("--port", "0", "--tls-port", String(port), "--tls-auth-clients", "no");
    args.push("--tls-cert-file", certificates.cert, "--tls-key-file", certificates.key);
    args.push("--tls-ca-cert-file", certificates.ca);
  } else {
    args.push("--port", String(port));
  }
  if (options.password !== undefined && options.user !== undefined) {
    args.push("--user", options.user, "on", `>${options.password}`, "~*", "&*", "+@all");
    args.push("--user", "default", "off");
  } else if (options.password !== undefined) {
    args.push("--requirepass", options.password);
  }
  let child: ChildProcess | undefined;

  async function launch(): Promise<void> {
    const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          proc.stdout?.off("data", onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on("data", onData);
      proc.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    });
  }

  async function kill(): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, "exit");
    proc.kill("SIGKILL");
    await exited;
  }

  const credentials =
    options.password === undefined
      ? ""
      : `${encodeURIComponent(options.user ?? "")}:${encodeURIComponent(options.password)}@`;
  await launch();
  return {
    port,
    url: `${certificates ? "rediss" : "redis"}://${credentials}127.0.0.1:${port}`,
    tlsCa: certificates ? readFileSync(certificates.ca, "utf8") : undefined,
    kill,
    restart: launch,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    async stop() {
      child?.kill("SIGCONT");
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
