// A Kubernetes emulator with azid's CRDs installed, and small helpers to change objects the way a
// user (or Argo CD) would, through plain HTTP, independent of the client code under test.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { KubeClient } from "../../../src/kube/client.js";
import { AZID_RESOURCES, type KubeObject } from "../../../src/kube/resources.js";
import { createLogger, type Logger } from "../../../src/observability/logger.js";
import { PACKAGE_ROOT } from "../../../src/util/paths.js";
import { type KubeEmulator, kubeConfigFor, startTestKube } from "../../support/kube.js";

export const IDENTITIES = AZID_RESOURCES.UserAssignedIdentity!;
export const SUBSCRIPTION = "11111111-1111-1111-1111-111111111111";

export interface Identity extends KubeObject {
  spec: {
    subscriptionId: string;
    resourceGroup: string;
    location: string;
    name?: string;
    tags?: Record<string, string>;
  };
  status?: {
    observedGeneration?: number;
    conditions?: Array<{
      type: string;
      status: string;
      reason: string;
      message: string;
      lastTransitionTime: string;
      observedGeneration?: number;
    }>;
  };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(`HTTP ${status}: ${text}`);
  }
}

/** The emulator, azid's CRDs, and a user's view of the API. */
export class TestCluster {
  readonly config: KubeConfig;
  readonly client: KubeClient;

  private constructor(readonly kube: KubeEmulator) {
    this.config = kubeConfigFor(kube);
    this.client = new KubeClient(this.config);
  }

  static async start(options: Parameters<typeof startTestKube>[0] = {}): Promise<TestCluster> {
    const cluster = new TestCluster(await startTestKube(options));
    await cluster.installCrds();
    return cluster;
  }

  get kubeconfigPath(): string {
    return this.kube.kubeconfigPath;
  }

  async close(): Promise<void> {
    await this.kube.close();
  }

  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Kubernetes JSON
  async call(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<any> {
    const response = await fetch(`${this.kube.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new HttpError(response.status, text);
    return text ? JSON.parse(text) : undefined;
  }

  async createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    await this.call("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels },
    });
  }

  identityPath(namespace: string, name?: string): string {
    const base = `/apis/azid.dev/v1alpha1/namespaces/${namespace}/userassignedidentities`;
    return name ? `${base}/${name}` : base;
  }

  createIdentity(namespace: string, name: string, tags: Record<string, string> = {}): Promise<Identity> {
    return this.call("POST", this.identityPath(namespace), {
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name },
      // spec.name: Azure names need 3 characters, which the tests' short names lack.
      spec: {
        subscriptionId: SUBSCRIPTION,
        resourceGroup: "rg",
        location: "westeurope",
        name: `uai-${name}`,
        tags,
      },
    });
  }

  setTags(namespace: string, name: string, tags: Record<string, string>): Promise<Identity> {
    return this.call(
      "PATCH",
      this.identityPath(namespace, name),
      { spec: { tags } },
      "application/merge-patch+json",
    );
  }

  mergePatch(namespace: string, name: string, patch: Record<string, unknown>): Promise<Identity> {
    return this.call("PATCH", this.identityPath(namespace, name), patch, "application/merge-patch+json");
  }

  getIdentity(namespace: string, name: string): Promise<Identity> {
    return this.call("GET", this.identityPath(namespace, name));
  }

  async listIdentities(namespace?: string): Promise<Identity[]> {
    const path = namespace ? this.identityPath(namespace) : "/apis/azid.dev/v1alpha1/userassignedidentities";
    return (await this.call("GET", path)).items;
  }

  deleteIdentity(namespace: string, name: string): Promise<unknown> {
    return this.call("DELETE", this.identityPath(namespace, name));
  }

  private async installCrds(): Promise<void> {
    const dir = join(PACKAGE_ROOT, "crds");
    for (const file of readdirSync(dir).filter((name) => name.endsWith(".yaml"))) {
      await this.call(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        parseYaml(readFileSync(join(dir, file), "utf8")),
      );
    }
    await waitFor(async () => {
      try {
        await this.call("GET", "/apis/azid.dev/v1alpha1/userassignedidentities");
        await this.call("GET", "/apis/azid.dev/v1alpha1/identitypolicies");
        return true;
      } catch {
        return false;
      }
    }, "the azid CRDs to be served");
  }
}

/** Polls until `check` holds; fails with `what` after the timeout. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Silent unless AZID_TEST_LOG_LEVEL says otherwise (e.g. debug when a test needs looking into). */
export function testLogger(): Logger {
  return createLogger({ level: process.env.AZID_TEST_LOG_LEVEL ?? "silent" });
}

/** Runs every cleanup step even when one fails (a leaked redis-server outlives the test), then reports the first failure. */
export async function cleanUp(...steps: Array<() => unknown>): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      first ??= error;
    }
  }
  if (first !== undefined) throw first;
}
