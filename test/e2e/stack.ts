// The whole product on one machine, as a platform team would run it: the ARM and Kubernetes
// emulators, a real redis-server, the CRDs applied with kubectl, and real `azid controller`
// processes started from bin/azid.js with --sandbox. Tests talk to it through kubectl and read
// Azure through the emulator's HTTP API.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";
import { type Kubectl, type KubeEmulator, kubectlFor, startTestKube } from "../support/kube.js";
import { freePort, type RedisServer, startRedis } from "../support/redis.js";
import { type RedisTopologyUnderTest, redisFlags } from "../support/redis-ha.js";

export interface StackOptions {
  timeScale?: number;
  /** Throttling by ARM's documented buckets (on by default in the emulator). */
  throttling?: boolean;
  /** Controllers use this highly available Redis instead of the single redis-server. */
  redisHa?: () => Promise<RedisTopologyUnderTest>;
}

export interface ControllerOptions {
  resyncPeriod?: string;
  tenantRemediation?: "Manual" | "Auto";
  concurrency?: number;
  credentialsFile?: string;
  logLevel?: string;
}

export class ControllerProcess {
  private exited: Promise<unknown>;
  constructor(
    readonly child: ChildProcess,
    readonly metricsUrl: string,
    readonly logFile: string,
  ) {
    this.exited = once(child, "exit");
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`azid controller exited with ${this.child.exitCode}`);
      try {
        if ((await fetch(`${this.metricsUrl}/readyz`)).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error("azid controller did not become ready");
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.metricsUrl}/metrics`)).text();
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
}

export class Stack {
  readonly controllers: ControllerProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), "azid-e2e-"));
  readonly sandboxFile = join(this.dir, "sandbox.json");
  /** The highly available Redis the controllers use, when the stack was started with one. */
  redisHa: RedisTopologyUnderTest | undefined;

  private constructor(
    readonly arm: ArmFixture,
    readonly kube: KubeEmulator,
    readonly redis: RedisServer,
    readonly kubectl: Kubectl,
  ) {}

  static async start(options: StackOptions = {}): Promise<Stack> {
    const [arm, kube, redis] = await Promise.all([
      startArmFixture({ timeScale: options.timeScale ?? 20 }),
      startTestKube(),
      startRedis(),
    ]);
    if (options.throttling === false) arm.arm.updateSettings({ throttling: false });
    const stack = new Stack(arm, kube, redis, kubectlFor(kube));
    try {
      stack.redisHa = await options.redisHa?.();
    } catch (error) {
      await stack.close();
      throw error;
    }
    writeFileSync(
      stack.sandboxFile,
      `${JSON.stringify({
        arm: arm.arm.url,
        caFile: arm.arm.caFile,
        tenantId: arm.arm.tenantId,
        subscriptionId: arm.arm.subscriptionId,
        authorityHost: arm.arm.authorityHost,
        graph: arm.arm.graphUrl,
        timeScale: arm.arm.timeScale,
        kube: kube.url,
        kubeconfig: kube.kubeconfigPath,
      })}\n`,
    );
    try {
      await stack.installCrds();
    } catch (error) {
      await stack.close();
      throw error;
    }
    return stack;
  }

  private async installCrds(): Promise<void> {
    const crds = readdirSync(join(PACKAGE_ROOT, "crds")).map((file) => join(PACKAGE_ROOT, "crds", file));
    await this.must(["apply", ...crds.flatMap((file) => ["-f", file])]);
    await this.must([
      "wait",
      "--for=condition=established",
      "--timeout=60s",
      "crd",
      "-l",
      "app.kubernetes.io/name=azid",
    ]);
  }

  get subscriptionId(): string {
    return this.arm.arm.subscriptionId;
  }

  /** Runs kubectl and fails with its stderr when it fails. */
  async must(args: string[], input?: string): Promise<string> {
    const result = await this.kubectl.run(args, input === undefined ? {} : { input });
    if (result.code !== 0)
      throw new Error(`kubectl ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  /** kubectl apply of objects given as JSON (what a GitOps sync does). */
  apply(...objects: object[]): Promise<string> {
    return this.must(
      ["apply", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
    );
  }

  async get<T = Record<string, unknown>>(
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    const result = await this.kubectl.run([
      "get",
      kind,
      name,
      ...(namespace ? ["-n", namespace] : []),
      "-o",
      "json",
    ]);
    return result.code === 0 ? (JSON.parse(result.stdout) as T) : undefined;
  }

  /** `kubectl wait --for=condition=Ready` on every object of a kind in a namespace. */
  async waitReady(kind: string, namespace: string, timeout = "120s", selector = "--all"): Promise<void> {
    await this.must([
      "wait",
      "--for=condition=Ready",
      `--timeout=${timeout}`,
      "-n",
      namespace,
      kind,
      selector,
    ]);
  }

  async startController(options: ControllerOptions = {}): Promise<ControllerProcess> {
    const port = await freePort();
    const logFile = join(this.dir, `controller-${this.controllers.length}.log`);
    const args = [
      join(PACKAGE_ROOT, "bin", "azid.js"),
      "controller",
      "--sandbox",
      this.sandboxFile,
      ...(this.redisHa ? redisFlags(this.redisHa) : ["--redis-url", this.redis.url]),
      "--metrics-addr",
      `127.0.0.1:${port}`,
      "--leader-election-namespace",
      "default",
      "--resync-period",
      options.resyncPeriod ?? "10m",
      "--tenant-remediation",
      options.tenantRemediation ?? "Manual",
      "--concurrency",
      String(options.concurrency ?? 8),
      "--log-level",
      options.logLevel ?? "info",
      ...(options.credentialsFile ? ["--credentials-file", options.credentialsFile] : []),
    ];
    const { createWriteStream } = await import("node:fs");
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const controller = new ControllerProcess(child, `http://127.0.0.1:${port}`, logFile);
    this.controllers.push(controller);
    await controller.ready();
    return controller;
  }

  async close(): Promise<void> {
    await Promise.all(this.controllers.map((controller) => controller.kill("SIGTERM")));
    this.kubectl.dispose();
    await Promise.all([this.arm.close(), this.kube.close(), this.redis.stop(), this.redisHa?.stop()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
