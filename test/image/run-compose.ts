// docker-compose.yml brought up with podman as `docker compose up --build` would (no Docker
// engine here; podman-compose 1.0 passes network_mode: service:X to podman as is and ignores
// depends_on conditions): one build per build section, a project network where services find each
// other by name, the named volumes, each service's user, read-only root, capabilities, security
// options, tmpfs, volumes, environment, command, restart policy and healthcheck, started in
// depends_on order once each condition holds. The host ports are free ones instead of the file's
// fixed ports (other work runs on this machine). Every compose key the translation does not
// know throws. Then the stack must work from that alone: the controller Ready, one identity
// applied through the published Kubernetes port reconciled into the published ARM.
//   node dist/test/image/run-compose.js NODE_DIGEST RUNTIME_DIGEST [CA_FILE]
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { parseDocument } from "yaml";
import { KubeApi } from "../../src/cli/demo/kube-api.js";
import { freeLoopbackPort } from "../../src/cli/demo/processes.js";
import {
  createSampleAzureResources,
  SAMPLE_NAMESPACE,
  sampleNamespaceAndPolicy,
} from "../../src/cli/demo/sample.js";
import { parseDuration } from "../../src/config/duration.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

// biome-ignore lint/suspicious/noExplicitAny: the compose file is read field by field
type Json = any;

const SERVICE_KEYS = [
  "image",
  "build",
  "pull_policy",
  "command",
  "user",
  "read_only",
  "cap_drop",
  "security_opt",
  "tmpfs",
  "volumes",
  "ports",
  "environment",
  "network_mode",
  "depends_on",
  "healthcheck",
  "restart",
  "stop_grace_period",
];

function say(line: string): void {
  process.stdout.write(`image-test: compose: ${line}\n`);
}

async function podman(
  args: string[],
  check = true,
): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("podman", args, {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    const result = {
      status: typeof failed.code === "number" ? failed.code : 1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
    if (check)
      throw new Error(
        `podman ${args.join(" ").slice(0, 800)}: exit ${result.status}: ${result.stderr.trim().slice(-2000)}`,
      );
    return result;
  }
}

const seconds = (duration: string | undefined, fallback: number) =>
  duration === undefined ? fallback : Math.ceil(parseDuration(duration) / 1000);

/** Services in an order where each comes after what it depends on (or shares a network with). */
function startOrder(services: Record<string, Json>): string[] {
  const order: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new Error(`depends_on cycle: ${[...path, name].join(" -> ")}`);
    const service = services[name];
    if (!service) throw new Error(`unknown service ${name}`);
    const needs = Object.keys(dependsOn(service));
    const shared = /^service:(.+)$/.exec(service.network_mode ?? "")?.[1];
    for (const dependency of shared ? [...needs, shared] : needs) visit(dependency, [...path, name]);
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name, []);
  return order;
}

function dependsOn(service: Json): Record<string, { condition: string }> {
  const raw = service.depends_on ?? {};
  if (Array.isArray(raw))
    return Object.fromEntries(raw.map((name: string) => [name, { condition: "service_started" }]));
  return raw;
}

async function main(): Promise<void> {
  const [nodeDigest, runtimeDigest, caFile] = process.argv.slice(2);
  if (!nodeDigest || !runtimeDigest)
    throw new Error("usage: run-compose.js NODE_DIGEST RUNTIME_DIGEST [CA_FILE]");
  const file = parseDocument(readFileSync(join(PACKAGE_ROOT, "docker-compose.yml"), "utf8"), { merge: true });
  const compose = file.toJS({ maxAliasCount: 10 }) as Json;
  const project = `azid-it-${process.pid}`;
  const services: Record<string, Json> = compose.services;
  for (const [name, service] of Object.entries(services)) {
    const unknown = Object.keys(service).filter((key) => !SERVICE_KEYS.includes(key));
    if (unknown.length > 0)
      throw new Error(`service ${name}: ${unknown.join(", ")} not handled by the image test`);
  }
  const cleanups: Array<() => Promise<unknown>> = [];
  const started: string[] = [];
  const container = (name: string) => `${project}_${name}_1`;
  try {
    // Build: once per build section; every other service must use an image built here or a base.
    const builds = Object.entries(services).filter(([, service]) => service.build !== undefined);
    const buildStarted = Date.now();
    for (const [name, service] of builds) {
      const build = typeof service.build === "string" ? { context: service.build } : service.build;
      const flags = (process.env.IMAGE_TEST_BUILD_FLAGS ?? "").split(" ").filter(Boolean);
      const args = ["build", "--pull=never", "--layers", ...flags, "-t", service.image];
      if (build.target) args.push("--target", build.target);
      args.push("--build-arg", `NODE_DIGEST=${nodeDigest}`, "--build-arg", `RUNTIME_DIGEST=${runtimeDigest}`);
      if (caFile) args.push("--secret", `id=npm-ca,src=${caFile}`);
      await podman([...args, join(PACKAGE_ROOT, build.context)]);
      say(`built ${service.image} for ${name} (target ${build.target ?? "last"})`);
    }
    const built = new Set(builds.map(([, service]) => service.image));
    if (built.size !== builds.length)
      throw new Error("two build sections make the same image: it is built twice");
    for (const [name, service] of Object.entries(services)) {
      if (service.build === undefined && built.has(service.image) && service.pull_policy !== "never")
        throw new Error(
          `${name} runs the built ${service.image} but would pull it first (pull_policy never)`,
        );
    }
    say(
      `${builds.length} build for ${Object.values(services).filter((s) => built.has(s.image)).length} services using ${[...built].join(", ")} (${((Date.now() - buildStarted) / 1000).toFixed(1)} s, layers of earlier builds reused)`,
    );

    await podman(["network", "create", project]);
    cleanups.unshift(() => podman(["network", "rm", "--force", project], false));
    for (const volume of Object.keys(compose.volumes ?? {})) {
      await podman(["volume", "create", `${project}_${volume}`]);
      cleanups.unshift(() => podman(["volume", "rm", "--force", `${project}_${volume}`], false));
    }

    const published = new Map<string, number>(); // "service:containerPort" -> host port
    const upStarted = Date.now();
    for (const name of startOrder(services)) {
      const service = services[name];
      for (const [dependency, { condition }] of Object.entries(dependsOn(service))) {
        if (condition === "service_healthy")
          await healthy(container(dependency), services[dependency].healthcheck);
        else if (condition !== "service_started") throw new Error(`depends_on condition ${condition}`);
      }
      const args = [
        "run",
        "--detach",
        "--name",
        container(name),
        "--pull",
        service.build || built.has(service.image) ? "never" : "missing",
      ];
      const shared = /^service:(.+)$/.exec(service.network_mode ?? "")?.[1];
      if (shared) args.push("--network", `container:${container(shared)}`);
      else if (service.network_mode) throw new Error(`network_mode ${service.network_mode}`);
      else args.push("--network", project, "--network-alias", name);
      if (service.user) args.push("--user", service.user);
      // Docker's read_only adds no tmpfs of its own; podman's --read-only would.
      if (service.read_only) args.push("--read-only", "--read-only-tmpfs=false");
      for (const cap of service.cap_drop ?? []) args.push("--cap-drop", cap);
      for (const option of service.security_opt ?? []) args.push("--security-opt", option);
      for (const path of [service.tmpfs ?? []].flat()) args.push("--tmpfs", path);
      for (const volume of service.volumes ?? []) {
        const [source, target, mode] = String(volume).split(":");
        if (!source || !target || !(source in (compose.volumes ?? {})))
          throw new Error(`${name}: volume ${volume} is not a named volume`);
        args.push("--volume", `${project}_${source}:${target}${mode ? `:${mode}` : ""}`);
      }
      for (const port of service.ports ?? []) {
        const match = /^(127\.0\.0\.1):(\d+):(\d+)$/.exec(String(port));
        if (!match) throw new Error(`${name}: port ${port} is not published on loopback`);
        const hostPort = await freeLoopbackPort();
        published.set(`${name}:${match[3]}`, hostPort);
        args.push("--publish", `${match[1]}:${hostPort}:${match[3]}`);
      }
      for (const [key, value] of Object.entries(service.environment ?? {}))
        args.push("--env", `${key}=${value}`);
      if (service.restart) args.push("--restart", service.restart);
      args.push("--stop-timeout", String(seconds(service.stop_grace_period, 10)));
      args.push(service.image, ...(service.command ?? []));
      await podman(args);
      started.unshift(name);
      cleanups.unshift(() => podman(["rm", "--force", "--time", "5", container(name)], false));
    }
    say(
      `up: ${startOrder(services).join(", ")} started in depends_on order (${((Date.now() - upStarted) / 1000).toFixed(1)} s, health conditions waited for)`,
    );

    // Ready from `up` alone: the controller's own healthcheck, then its readiness through the published port.
    const controllerName = Object.keys(services).find(
      (n) => services[n].command?.[0] === "controller",
    ) as string;
    await healthy(container(controllerName), services[controllerName].healthcheck);
    const sandboxName = /^service:(.+)$/.exec(services[controllerName].network_mode)?.[1] as string;
    const metricsPort = published.get(`${sandboxName}:8080`);
    const readyStarted = Date.now();
    await until("the controller's /readyz to answer 200", 120_000, async () => {
      const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    });
    say(
      `controller Ready (/readyz 200 on the published port) ${((Date.now() - upStarted) / 1000).toFixed(1)} s after up (${((Date.now() - readyStarted) / 1000).toFixed(1)} s after healthy)`,
    );

    // The sandbox file names loopback (not 0.0.0.0), read inside the container that has no shell.
    const infoFile = services[sandboxName].command
      .find((a: string) => a.startsWith("--info-file="))
      ?.split("=")[1];
    const info = JSON.parse(
      (
        await podman([
          "exec",
          container(sandboxName),
          "/nodejs/bin/node",
          "-e",
          `process.stdout.write(require("node:fs").readFileSync(${JSON.stringify(infoFile)}, "utf8"))`,
        ])
      ).stdout,
    );
    const kubeconfig = (
      await podman([
        "exec",
        container(sandboxName),
        "/nodejs/bin/node",
        "-e",
        `process.stdout.write(require("node:fs").readFileSync(${JSON.stringify(info.kubeconfig)}, "utf8"))`,
      ])
    ).stdout;
    if (
      !/^http:\/\/127\.0\.0\.1:6443$/.test(info.kube) ||
      !kubeconfig.includes("server: http://127.0.0.1:6443")
    )
      throw new Error(`the sandbox wrote ${info.kube} and a kubeconfig of ${kubeconfig}`);
    say(`sandbox file and kubeconfig name ${info.kube}`);

    // One identity through the published ports, as a user of the compose stack would.
    const caPem = (
      await podman([
        "exec",
        container(sandboxName),
        "/nodejs/bin/node",
        "-e",
        `process.stdout.write(require("node:fs").readFileSync(${JSON.stringify(info.caFile)}, "utf8"))`,
      ])
    ).stdout;
    const arm = { url: `https://127.0.0.1:${published.get(`${sandboxName}:8443`)}`, caPem };
    const kube = new KubeApi(`http://127.0.0.1:${published.get(`${sandboxName}:6443`)}`);
    await createSampleAzureResources(arm, info.subscriptionId);
    for (const object of sampleNamespaceAndPolicy(info.subscriptionId)) await kube.apply(object);
    const applied = Date.now();
    await kube.apply({
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name: "compose-test", namespace: SAMPLE_NAMESPACE },
      spec: { subscriptionId: info.subscriptionId, resourceGroup: "shop-rg", location: "westeurope" },
    });
    const identity: Json = await until("UserAssignedIdentity compose-test Ready", 60_000, async () => {
      const found: Json = await kube.get("UserAssignedIdentity", "compose-test", SAMPLE_NAMESPACE);
      const ready = found?.status?.conditions?.find((c: Json) => c.type === "Ready");
      if (ready?.status !== "True")
        throw new Error(`Ready ${ready?.status ?? "absent"} ${ready?.reason ?? ""} ${ready?.message ?? ""}`);
      return found;
    });
    say(
      `UserAssignedIdentity ${SAMPLE_NAMESPACE}/compose-test Ready ${((Date.now() - applied) / 1000).toFixed(1)} s after apply (principal ${identity.status.principalId})`,
    );

    // down: every container stops on SIGTERM within its grace period.
    for (const name of started) {
      const stopping = Date.now();
      await podman([
        "stop",
        "--time",
        String(seconds(services[name].stop_grace_period, 10)),
        container(name),
      ]);
      const exit = (
        await podman(["inspect", "--format", "{{.State.ExitCode}}", container(name)])
      ).stdout.trim();
      if (exit !== "0") throw new Error(`${name} exited ${exit} on SIGTERM`);
      say(`down: ${name} exited 0 on SIGTERM in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
    }
  } catch (error) {
    for (const name of started) {
      const logs = await podman(["logs", "--tail", "15", container(name)], false);
      process.stdout.write(`--- ${name} ---\n${logs.stdout}${logs.stderr}`);
    }
    throw error;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

/**
 * Runs the service's healthcheck in its container, as compose's engine does, until it passes or
 * compose would give up (podman 4.3 runs healthchecks from systemd timers, absent here).
 */
async function healthy(name: string, healthcheck: Json): Promise<void> {
  if (!healthcheck) throw new Error(`${name}: service_healthy without a healthcheck`);
  const [form, ...command] = healthcheck.test as string[];
  if (form !== "CMD") throw new Error(`${name}: healthcheck ${form}: only the exec form (CMD) is run`);
  const interval = seconds(healthcheck.interval, 30);
  // What compose allows: the start period, then `retries` failures an interval apart.
  const deadline =
    Date.now() + (seconds(healthcheck.start_period, 0) + ((healthcheck.retries ?? 3) + 1) * interval) * 1000;
  let last = "";
  while (Date.now() < deadline) {
    const run = await podman(["exec", name, ...command], false);
    if (run.status === 0) return;
    last = `exit ${run.status} ${run.stdout}${run.stderr}`.trim();
    await sleep(Math.min(interval, 1) * 1000);
  }
  throw new Error(`${name} never became healthy: ${last}`);
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs / 1000} s waiting for ${what}: ${(error as Error).message}`,
        );
    }
    await sleep(250);
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`image-test: compose: FAILED: ${(error as Error).message}\n`);
  process.exit(1);
}
process.exit(0);
