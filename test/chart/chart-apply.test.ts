// PENDING: runs once the Kubernetes emulator serves the chart's kinds. Rename this file to
// chart-apply.test.ts to enable it (the runner only picks up *.test.ts).
//
// Applies the rendered chart to the Kubernetes emulator with the real kubectl, first with
// --dry-run=server and then for real, for each value set; then checks what the API server kept
// and that the ValidatingAdmissionPolicy refuses a privileged grant through kubectl.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type KubeEmulator, startKubeEmulator } from "../../src/sandbox/kube/index.js";
import { toolPath } from "../support/tools.js";
import { CHART_DIR, helmWithValues, NAMESPACE, RELEASE } from "./helm.js";
import { VALUE_SETS } from "./value-sets.js";

let kube: KubeEmulator;
let work: string;
let runs = 0;

function kubectl(args: string[], input?: string) {
  // kubectl caches discovery: every run gets its own cache.
  const cacheDir = join(work, `cache-${runs++}`);
  const run = spawnSync(
    toolPath("kubectl"),
    ["--kubeconfig", kube.kubeconfigPath, "--cache-dir", cacheDir, ...args],
    {
      encoding: "utf8",
      input,
    },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function rendered(values: object): string {
  const result = helmWithValues(["template", RELEASE, CHART_DIR, "--namespace", NAMESPACE], values);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "azid-chart-apply-"));
  kube = await startKubeEmulator();
  const namespace = kubectl(["create", "namespace", NAMESPACE]);
  assert.equal(namespace.status, 0, namespace.stderr);
});

after(async () => {
  await kube?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("the rendered chart on the Kubernetes emulator", () => {
  for (const [name, values] of Object.entries(VALUE_SETS)) {
    test(`${name}: kubectl apply --dry-run=server, then for real`, () => {
      const manifests = rendered(values);
      const file = join(work, "manifests.yaml");
      writeFileSync(file, manifests);
      const dryRun = kubectl(["apply", "--server-side", "--dry-run=server", "-f", file]);
      assert.equal(dryRun.status, 0, dryRun.stderr);
      const apply = kubectl(["apply", "--server-side", "-f", file]);
      assert.equal(apply.status, 0, apply.stderr);
      const deployment = kubectl(["-n", NAMESPACE, "get", "deployment", RELEASE, "-o", "json"]);
      assert.equal(deployment.status, 0, deployment.stderr);
    });
  }

  test("every azid.dev CRD the chart carries is established and served", () => {
    const crds = kubectl(["get", "crd", "-o", "json"]);
    assert.equal(crds.status, 0, crds.stderr);
    const items: { spec: { group: string } }[] = JSON.parse(crds.stdout).items;
    assert.ok(items.some((crd) => crd.spec.group === "azid.dev"));
    const resources = kubectl(["api-resources", "--api-group=azid.dev", "-o", "name"]);
    assert.equal(resources.status, 0, resources.stderr);
  });

  test("kubectl sees the ValidatingAdmissionPolicy refuse an Owner grant in a namespace without the opt-in label", () => {
    const identity = {
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name: "escalate", namespace: "default" },
      spec: {
        subscriptionId: "8a3f1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        resourceGroup: "apps",
        location: "westeurope",
        roleAssignments: [{ role: "Owner", scope: "/subscriptions/8a3f1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b" }],
      },
    };
    const create = kubectl(["create", "-f", "-"], JSON.stringify(identity));
    assert.notEqual(create.status, 0);
    assert.match(create.stderr, /roles that can grant roles \(Owner\)/);
  });
});
