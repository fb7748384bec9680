// The cluster's service-account issuer outside the controller: discovered from a real API
// server's /.well-known/openid-configuration (the Kubernetes emulator), or its absence reported
// as a problem rather than thrown; and `azid validate --kubeconfig`, which polices federated
// credentials with the issuer it discovered.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { KubeClient, loadKubeConfig } from "../../src/kube/client.js";
import { resolveClusterIssuer } from "../../src/kube/service-account-issuer.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { type KubeEmulator, startTestKube } from "../support/kube.js";
import { freePort } from "../support/redis.js";
import { userAssigned } from "./world.js";

const SUB = "11111111-1111-1111-1111-111111111111";

function azid(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "azid.js"), ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the cluster's service-account issuer", () => {
  let kube: KubeEmulator;
  let dir: string;

  before(async () => {
    kube = await startTestKube({ serviceAccountIssuer: "https://oidc.discovered.example.com/cluster" });
    dir = mkdtempSync(join(tmpdir(), "azid-issuer-"));
  });
  after(async () => {
    await kube?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("is discovered from the API server, taken from configuration first, and a failure is a problem", async () => {
    const client = new KubeClient(loadKubeConfig({ kubeconfigPath: kube.kubeconfigPath }));
    assert.deepEqual(await resolveClusterIssuer(undefined, client), {
      url: "https://oidc.discovered.example.com/cluster",
      source: "discovery",
    });
    assert.deepEqual(await resolveClusterIssuer("https://configured.example.com", client), {
      url: "https://configured.example.com",
      source: "configuration",
    });
    // An API server that is not there: the answer names the failure, nothing is thrown.
    const port = await freePort();
    const gone = join(dir, "gone.kubeconfig");
    writeFileSync(
      gone,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "gone", cluster: { server: `http://127.0.0.1:${port}` } }],
        users: [{ name: "u", user: {} }],
        contexts: [{ name: "gone", context: { cluster: "gone", user: "u" } }],
        "current-context": "gone",
      }),
    );
    const failed = await resolveClusterIssuer(
      undefined,
      new KubeClient(loadKubeConfig({ kubeconfigPath: gone })),
    );
    assert.equal(failed.url, undefined);
    assert.match(
      (failed as { problem: string }).problem,
      /service-account issuer discovery \(GET \/.well-known\/openid-configuration\) failed/,
    );
  });

  test("azid validate --kubeconfig polices credentials with the discovered issuer (exit 4)", async () => {
    const identity = userAssigned(SUB, "app");
    identity.spec.federatedCredentials = [
      {
        name: "trust",
        issuer: "https://oidc.discovered.example.com/cluster",
        subject: "system:serviceaccount:team-b:app",
        audiences: ["api://AzureADTokenExchange"],
      },
    ];
    const policy = {
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: "team-a" },
      spec: { namespaceSelector: {}, subscriptions: [{ subscriptionId: SUB }] },
    };
    const file = join(dir, "manifests.yaml");
    writeFileSync(file, [identity, policy].map((d) => stringify(d)).join("---\n"));
    const refused = await azid(["validate", "-f", file, "--kubeconfig", kube.kubeconfigPath]);
    assert.equal(refused.code, 4, refused.stderr + refused.stdout);
    assert.match(
      refused.stdout + refused.stderr,
      /system:serviceaccount:team-b:app is a ServiceAccount of namespace team-b: the cluster's issuer is only trusted for ServiceAccounts of team-a/,
    );
    // Without the issuer the same credential is judged as any foreign issuer's: still refused.
    const unknown = await azid(["validate", "-f", file]);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stdout + unknown.stderr, /the cluster's own issuer is unknown/);
  });
});
