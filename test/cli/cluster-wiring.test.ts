// azid apply and the cluster: without --kubeconfig it prints what a cluster needs for the
// identities' workloads (ServiceAccount annotations, export values); with one it applies them,
// through kubectl-visible server-side apply, and a second run writes nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Kubectl, type KubeEmulator, kubectlFor, startTestKube } from "../support/kube.js";
import { type CliSandbox, startCliSandbox } from "./support.js";
import { createGroup, userAssigned } from "./world.js";

describe("azid apply: cluster wiring", () => {
  let s: CliSandbox;
  let kube: KubeEmulator;
  let kubectl: Kubectl;
  let manifests: string;

  before(async () => {
    s = await startCliSandbox({ timeScale: 50 });
    kube = await startTestKube();
    kubectl = kubectlFor(kube);
    await createGroup(s.f, s.sub);
    const identity = userAssigned(s.sub, "orders");
    manifests = s.writeManifests("estate.yaml", [
      {
        ...identity,
        spec: {
          ...identity.spec,
          serviceAccounts: [{ name: "orders" }],
          exports: { configMap: { name: "orders-ids", keys: { clientId: "AZURE_CLIENT_ID" } } },
        },
      },
    ]);
    const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } };
    const sa = {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "orders", namespace: "team-a" },
    };
    const created = await kubectl.run(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "List", items: [namespace, sa] }),
    });
    assert.equal(created.code, 0, created.stderr);
  });
  after(async () => {
    kubectl?.dispose();
    await kube?.close();
    await s.close();
  });

  const apply = (extra: string[] = []) =>
    s.azid(["apply", "-f", manifests, "--sandbox", s.sandboxFile, "--auto-approve", "--output", "json", ...extra]);

  test("without a cluster: what the ServiceAccount and the ConfigMap need, printed", async () => {
    const run = await apply();
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const out = JSON.parse(run.stdout);
    const clientId = out.resources[0].clientId;
    assert.ok(clientId);
    const [wiring] = out.clusterWiring;
    assert.equal(wiring.resource, "UserAssignedIdentity/team-a/orders");
    const [annotate, write] = wiring.actions;
    assert.equal(annotate.kind, "ApplyServiceAccount");
    assert.equal(annotate.annotations["azure.workload.identity/client-id"], clientId);
    assert.equal(write.kind, "ApplyExport");
    assert.equal(write.data.AZURE_CLIENT_ID, clientId);
    const sa = JSON.parse((await kubectl.run(["get", "sa", "orders", "-n", "team-a", "-o", "json"])).stdout);
    assert.equal(
      sa.metadata.annotations?.["azure.workload.identity/client-id"],
      undefined,
      "nothing applied",
    );
  });

  test("with --kubeconfig: applied; a second run writes nothing", async () => {
    const run = await apply(["--kubeconfig", kube.kubeconfigPath]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const out = JSON.parse(run.stdout);
    const clientId = out.resources[0].clientId;
    assert.equal(out.clusterWiring[0].wired.status, "True", JSON.stringify(out.clusterWiring));
    const sa = JSON.parse((await kubectl.run(["get", "sa", "orders", "-n", "team-a", "-o", "json"])).stdout);
    assert.equal(sa.metadata.annotations["azure.workload.identity/client-id"], clientId);
    const cm = JSON.parse(
      (await kubectl.run(["get", "cm", "orders-ids", "-n", "team-a", "-o", "json"])).stdout,
    );
    assert.equal(cm.data.AZURE_CLIENT_ID, clientId);
    assert.equal(cm.metadata.annotations["azid.dev/owner"], "UserAssignedIdentity/team-a/orders");

    const again = JSON.parse((await apply(["--kubeconfig", kube.kubeconfigPath])).stdout);
    assert.deepEqual(again.clusterWiring[0].actions, [], "nothing left to write");
    const unchanged = JSON.parse(
      (await kubectl.run(["get", "sa", "orders", "-n", "team-a", "-o", "json"])).stdout,
    );
    assert.equal(unchanged.metadata.resourceVersion, sa.metadata.resourceVersion);
  });
});
