import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseDocument } from "yaml";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

const document = parseDocument(readFileSync(join(PACKAGE_ROOT, "docker-compose.yml"), "utf8"), {
  merge: true,
});
// biome-ignore lint/suspicious/noExplicitAny: the compose file is checked field by field
const compose = document.toJS({ maxAliasCount: 10 }) as any;
const services = compose.services;

/** The value of `--name=value` in a service's command. */
function flag(service: { command: string[] }, name: string): string | undefined {
  return service.command.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

describe("docker-compose.yml", () => {
  test("is valid YAML with Redis, the sandbox and the controller", () => {
    assert.deepEqual(document.errors, []);
    assert.deepEqual(Object.keys(services).sort(), ["controller", "redis", "sandbox"]);
    assert.equal(compose.version, undefined, "the obsolete version key is left out");
  });

  test("every service has a healthcheck in exec form and restarts", () => {
    for (const [name, service] of Object.entries(services) as [
      string,
      { healthcheck: { test: string[] }; restart: string },
    ][]) {
      assert.ok(Array.isArray(service.healthcheck?.test), `${name} healthcheck`);
      assert.equal(service.healthcheck.test[0], "CMD", `${name}: exec form, the azid image has no shell`);
      assert.equal(service.restart, "unless-stopped", name);
    }
  });

  test("Redis never evicts keys and keeps its data on a volume", () => {
    const command: string[] = services.redis.command;
    assert.equal(command[command.indexOf("--maxmemory-policy") + 1], "noeviction");
    assert.ok(services.redis.volumes.some((v: string) => v.endsWith(":/data")));
    assert.equal(services.redis.ports, undefined, "Redis is not published");
  });

  test("the sandbox listens on fixed ports published on the host's loopback only, and writes its file to the shared volume", () => {
    const sandbox = services.sandbox;
    assert.equal(sandbox.command[0], "sandbox");
    assert.equal(flag(sandbox, "arm-port"), "8443");
    assert.equal(flag(sandbox, "kube-port"), "6443");
    for (const port of sandbox.ports as string[]) assert.match(port, /^127\.0\.0\.1:(\d+):\1$/);
    const infoFile = flag(sandbox, "info-file") as string;
    const volume = (sandbox.volumes as string[]).find((v) => infoFile.startsWith(`${v.split(":")[1]}/`));
    assert.ok(volume, "the sandbox file lies on a volume");
    assert.ok(sandbox.healthcheck.test.join(" ").includes(infoFile), "healthy once the file exists");
  });

  test("the controller starts after Redis and the sandbox are healthy, with the sandbox file", () => {
    const controller = services.controller;
    assert.equal(controller.command[0], "controller");
    assert.deepEqual(controller.depends_on, {
      redis: { condition: "service_healthy" },
      sandbox: { condition: "service_healthy" },
    });
    assert.equal(flag(controller, "sandbox"), flag(services.sandbox, "info-file"));
    const shared = (services.sandbox.volumes as string[])[0]?.split(":").slice(0, 2).join(":");
    assert.ok(
      controller.volumes.includes(`${shared}:ro`),
      "the controller reads the sandbox's volume read-only",
    );
    assert.equal(controller.environment.AZID_REDIS_URL, "redis://redis:6379");
    // The sandbox's URLs and certificate name 127.0.0.1: the controller shares its network.
    assert.equal(controller.network_mode, "service:sandbox");
    assert.ok(
      services.sandbox.ports.includes(`127.0.0.1:${flag(controller, "metrics-addr")?.slice(1)}:8080`),
    );
    assert.ok(controller.healthcheck.test.join(" ").includes("/healthz"));
  });

  test("the azid containers run one image, built once from the Dockerfile's sandbox target, locked down", () => {
    assert.deepEqual(services.sandbox.build, { context: ".", target: "sandbox" });
    assert.equal(services.controller.build, undefined, "a second build section builds the image twice");
    assert.equal(services.controller.pull_policy, "never", "the controller's image is built, never pulled");
    const dockerfile = readFileSync(join(PACKAGE_ROOT, "Dockerfile"), "utf8");
    assert.match(dockerfile, /^FROM \S+ AS sandbox$/m, "the target exists");
    for (const name of ["sandbox", "controller"]) {
      const service = services[name];
      assert.equal(service.image, "azid-sandbox:local");
      assert.equal(service.user, "65532:65532");
      assert.equal(service.read_only, true);
      assert.deepEqual(service.cap_drop, ["ALL"]);
      assert.deepEqual(service.security_opt, ["no-new-privileges:true"]);
    }
    assert.deepEqual(Object.keys(compose.volumes).sort(), ["redis-data", "sandbox"]);
  });
});

describe("azid sandbox --info-file", () => {
  const dir = mkdtempSync(join(tmpdir(), "azid-info-file-"));
  let child: ChildProcess | undefined;
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("writes the JSON line it prints to the file, and removes the file on SIGTERM", async () => {
    const infoFile = join(dir, "sandbox.json");
    // No emulator: this checks the file handling alone, which the compose healthcheck relies on.
    // A real sandbox's servers keep it running; with none started, a timer stands in for them.
    const keepAlive = "data:text/javascript,setInterval(() => {}, 1 << 30)";
    child = spawn(
      process.execPath,
      [
        "--import",
        keepAlive,
        join(PACKAGE_ROOT, "bin", "azid.js"),
        "sandbox",
        "--no-arm",
        "--no-kube",
        "--state-dir",
        dir,
        "--info-file",
        infoFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
    });
    while (!stdout.includes("\n")) {
      assert.equal(child.exitCode, null, "azid sandbox exited early");
      await sleep(20);
    }
    assert.equal(readFileSync(infoFile, "utf8"), stdout);
    assert.ok(!existsSync(`${infoFile}.tmp`));
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
    assert.ok(!existsSync(infoFile), "a stopped sandbox leaves no stale file");
  });
});

describe("azid sandbox as compose runs it", () => {
  const dir = mkdtempSync(join(tmpdir(), "azid-compose-sandbox-"));
  let child: ChildProcess | undefined;
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("with --host=0.0.0.0 its files name loopback, and azid's CRDs are established before the file appears", async () => {
    const infoFile = join(dir, "sandbox.json");
    child = spawn(
      process.execPath,
      [
        join(PACKAGE_ROOT, "bin", "azid.js"),
        "sandbox",
        "--host=0.0.0.0",
        `--state-dir=${join(dir, "state")}`,
        `--info-file=${infoFile}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    while (!existsSync(infoFile)) {
      assert.equal(child.exitCode, null, `azid sandbox exited early: ${stderr}`);
      await sleep(50);
    }
    const info = JSON.parse(readFileSync(infoFile, "utf8"));
    assert.match(info.kube, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(info.arm, /^https:\/\/127\.0\.0\.1:\d+$/);
    const kubeconfig = readFileSync(info.kubeconfig, "utf8");
    assert.ok(kubeconfig.includes(`server: ${info.kube}`), kubeconfig);
    assert.ok(!kubeconfig.includes("0.0.0.0"));
    const response = await fetch(`${info.kube}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`);
    const crds = (await response.json()) as {
      items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    };
    const established = crds.items
      .filter((crd) => crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"))
      .map((crd) => crd.metadata.name)
      .sort();
    assert.deepEqual(
      established,
      readdirSync(join(PACKAGE_ROOT, "crds"))
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => parseDocument(readFileSync(join(PACKAGE_ROOT, "crds", f), "utf8")).toJS().metadata.name)
        .sort(),
    );
  });
});
