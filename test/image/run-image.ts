// Runs the built image as the Helm chart's Deployment runs it (scripts/image-test.sh builds the
// image first): the sandbox (ARM and Kubernetes emulators) and a redis-server on the host, the
// chart rendered by `helm template` with values that point it at them, its pod run by podman
// with the rendered args, env, user, security context, tmpfs and mounted credentials file, until
// the readiness probe passes and one UserAssignedIdentity is reconciled into Azure (the sandbox).
//   node dist/test/image/run-image.js chart IMAGE
import { execFile, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { installCrds } from "../../src/cli/demo/install-crds.js";
import { KubeApi, type KubeObject } from "../../src/cli/demo/kube-api.js";
import { freeLoopbackPort, startRedisServer } from "../../src/cli/demo/processes.js";
import {
  createSampleAzureResources,
  SAMPLE_NAMESPACE,
  sampleNamespaceAndPolicy,
} from "../../src/cli/demo/sample.js";
import { startSandbox } from "../../src/cli/sandbox-stack.js";
import { RELEASE, renderChart } from "../chart/helm.js";
import { podRunOf } from "./pod-run.js";

const RUNTIME_USER = 65532;
const IDENTITY = "image-test";

function say(line: string): void {
  process.stdout.write(`image-test: ${line}\n`);
}

function podman(
  args: string[],
  options: { check?: boolean } = {},
): { status: number; stdout: string; stderr: string } {
  const run = spawnSync("podman", args, { encoding: "utf8" });
  const result = { status: run.status ?? 1, stdout: run.stdout ?? "", stderr: run.stderr ?? "" };
  if (options.check !== false && result.status !== 0)
    throw new Error(`podman ${args.join(" ")}: exit ${result.status}: ${result.stderr.trim()}`);
  return result;
}

/**
 * podman without blocking this process, which serves the sandbox the container talks to (a
 * blocked event loop would leave the controller's last API calls unanswered).
 */
async function podmanAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("podman", args, { encoding: "utf8" });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      status: typeof failed.code === "number" ? failed.code : 1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}

/** The image and its tag as the chart's values name them (registry/repository:tag). */
function imageValues(image: string): { registry: string; repository: string; tag: string } {
  const match = /^([^/]+)\/(.+):([^:/]+)$/.exec(image);
  if (!match) throw new Error(`image ${image}: expected registry/repository:tag`);
  return { registry: match[1] as string, repository: match[2] as string, tag: match[3] as string };
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`,
      );
    await sleep(250);
  }
}

function chownTree(path: string): void {
  chownSync(path, RUNTIME_USER, RUNTIME_USER);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry));
}

async function chartPod(image: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "azid-image-test-"));
  const container = `azid-image-test-${process.pid}`;
  const stops: Array<() => Promise<unknown> | unknown> = [
    () => rmSync(dir, { recursive: true, force: true }),
  ];
  try {
    // What the pod's Azure and Kubernetes are: the sandbox, with its files under a folder the
    // chart mounts (extraVolumes, a hostPath at the same path, so the sandbox file's paths hold).
    const sandbox = await startSandbox({ stateDir: join(dir, "sandbox") });
    stops.unshift(() => sandbox.close());
    const { arm } = sandbox;
    const kubeUrl = sandbox.info.kube;
    if (!arm || !kubeUrl) throw new Error("the sandbox did not start both emulators");
    const redis = await startRedisServer(mkdtempSync(join(tmpdir(), "azid-image-test-redis-")));
    stops.unshift(() => redis.stop());
    const sandboxFile = join(dir, "sandbox.json");
    writeFileSync(sandboxFile, `${JSON.stringify(sandbox.info)}\n`);
    writeFileSync(join(dir, "client-secret"), "the-sandbox-accepts-any-secret\n");
    chownTree(dir);

    const metricsPort = await freeLoopbackPort();
    const values = {
      image: { ...imageValues(image), pullPolicy: "Never" },
      replicaCount: 1,
      redis: { bundled: { enabled: false }, external: { url: redis.url } },
      metrics: { port: metricsPort },
      azure: {
        workloadIdentity: { enabled: false },
        credentialsFile: {
          content: {
            subscriptions: {
              [arm.subscriptionId]: {
                tenantId: arm.tenantId,
                clientId: "d3e0a1b2-0000-4000-8000-00000000de70",
                clientSecretFile: join(dir, "client-secret"),
              },
            },
          },
        },
      },
      controller: { resyncPeriod: "30s", extraArgs: [`--sandbox=${sandboxFile}`] },
      extraVolumes: [{ name: "sandbox", hostPath: { path: dir, type: "Directory" } }],
      extraVolumeMounts: [{ name: "sandbox", mountPath: dir, readOnly: true }],
    };
    const objects = renderChart(values);
    const pod = podRunOf(objects, RELEASE, join(dir, "pod-files"));
    chownTree(dir);
    say(`helm template: ${RELEASE} pod runs ${pod.image} ${pod.args.join(" ")}`);
    say(`podman run ${pod.options.join(" ")}`);

    // What `helm install` puts in the cluster before the pod runs: the CRDs and the release's namespace.
    const kube = new KubeApi(kubeUrl);
    const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
    if (crds.length === 0) throw new Error("the chart rendered no CRDs");
    for (const crd of crds) await kube.apply(crd as KubeObject);
    await installCrds(kube); // waits until Established; applies the same definitions again
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "azid-system" } });

    const started = Date.now();
    podman([
      "run",
      "--detach",
      "--name",
      container,
      "--stop-timeout",
      String(pod.stopTimeoutSeconds),
      ...pod.options,
      ...(pod.command ? ["--entrypoint", JSON.stringify(pod.command)] : []),
      pod.image,
      ...pod.args,
    ]);
    stops.unshift(async () => {
      await podmanAsync(["stop", "--time", "10", container]);
      await podmanAsync(["rm", "--force", container]);
    });
    const readyz = `http://127.0.0.1:${pod.readiness.port}${pod.readiness.path}`;
    try {
      await waitFor(`${readyz} to answer 200`, 120_000, async () => {
        const state = (
          await podmanAsync(["inspect", "--format", "{{.State.Status}}", container])
        ).stdout.trim();
        if (state !== "running") throw new Error(`the container is ${state}`);
        const response = await fetch(readyz);
        return response.ok ? true : undefined;
      });
    } catch (error) {
      process.stdout.write(podman(["logs", "--tail", "40", container], { check: false }).stdout);
      throw error;
    }
    say(`Ready (${pod.readiness.path} 200) ${((Date.now() - started) / 1000).toFixed(1)} s after podman run`);

    await createSampleAzureResources(arm, arm.subscriptionId);
    for (const object of sampleNamespaceAndPolicy(arm.subscriptionId)) await kube.apply(object);
    const group = `/subscriptions/${arm.subscriptionId}/resourceGroups/shop-rg`;
    const applied = Date.now();
    await kube.apply({
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name: IDENTITY, namespace: SAMPLE_NAMESPACE },
      spec: {
        subscriptionId: arm.subscriptionId,
        resourceGroup: "shop-rg",
        location: "westeurope",
        roleAssignments: [{ role: "Reader", scope: group }],
      },
    });
    // biome-ignore lint/suspicious/noExplicitAny: the status is read field by field
    const identity: any = await waitFor(`UserAssignedIdentity ${IDENTITY} Ready`, 60_000, async () => {
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const found: any = await kube.get("UserAssignedIdentity", IDENTITY, SAMPLE_NAMESPACE);
      const ready = found?.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
      if (ready?.status === "True") return found;
      throw new Error(`Ready ${ready?.status ?? "absent"} ${ready?.reason ?? ""} ${ready?.message ?? ""}`);
    });
    const principalId = identity.status?.principalId;
    if (!principalId) throw new Error("the identity is Ready without a principalId");
    const inAzure = await armGet(arm, `${identity.status.resourceId ?? ""}?api-version=2023-01-31`);
    if (inAzure.properties?.principalId !== principalId)
      throw new Error(`ARM has ${JSON.stringify(inAzure.properties)}, the status says ${principalId}`);
    say(
      `UserAssignedIdentity ${SAMPLE_NAMESPACE}/${IDENTITY} Ready ${((Date.now() - applied) / 1000).toFixed(1)} s after apply: ` +
        `${identity.status.resourceId} (principal ${principalId}) exists in the sandbox's ARM`,
    );
    const stopped = Date.now();
    const stop = await podmanAsync(["stop", "--time", String(pod.stopTimeoutSeconds), container]);
    const exit = podman(["inspect", "--format", "{{.State.ExitCode}}", container]).stdout.trim();
    if (stop.status !== 0 || exit !== "0") {
      process.stdout.write(podman(["logs", "--tail", "15", container], { check: false }).stdout);
      throw new Error(
        `the controller exited ${exit} ${((Date.now() - stopped) / 1000).toFixed(1)} s after SIGTERM`,
      );
    }
    say(`SIGTERM: exited 0 in ${((Date.now() - stopped) / 1000).toFixed(1)} s`);
  } finally {
    for (const stop of stops) await Promise.resolve(stop()).catch(() => undefined);
  }
}

function armGet(
  arm: { url: string; caPem: string },
  path: string,
): Promise<{ properties?: { principalId?: string } }> {
  return import("node:https").then(
    ({ request }) =>
      new Promise((resolve, reject) => {
        const call = request(
          new URL(path, arm.url),
          { method: "GET", ca: arm.caPem, headers: { authorization: "Bearer azid-image-test" } },
          (response) => {
            let text = "";
            response.on("data", (chunk: Buffer) => {
              text += chunk.toString();
            });
            response.on("end", () =>
              (response.statusCode ?? 0) < 300
                ? resolve(JSON.parse(text))
                : reject(new Error(`GET ${path}: ${response.statusCode} ${text}`)),
            );
          },
        );
        call.on("error", reject);
        call.end();
      }),
  );
}

const [mode, image] = process.argv.slice(2);
try {
  if (mode === "chart" && image) await chartPod(image);
  else throw new Error("usage: run-image.js chart IMAGE");
} catch (error) {
  process.stderr.write(`image-test: FAILED: ${(error as Error).message}\n`);
  process.exit(1);
}
process.exit(0);
