// azid apply and the cluster: without --kubeconfig it prints what a cluster needs for the
// identities' workloads (ServiceAccount annotations, export values); with one it applies them,
// through kubectl-visible server-side apply, and a second run writes nothing.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
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
    s.azid([
      "apply",
      "-f",
      manifests,
      "--sandbox",
      s.sandboxFile,
      "--auto-approve",
      "--output",
      "json",
      ...extra,
    ]);

  test("without a cluster: what the ServiceAccount and the ConfigMap need, printed", async () => {
    // No cluster to discover the issuer from: the serviceAccounts' credentials need it given.
    const run = await apply(["--service-account-issuer", "https://oidc.example.com/issuer"]);
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

describe("azid remediate: the cluster wired again after a tenant move", () => {
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
      { ...identity, spec: { ...identity.spec, serviceAccounts: [{ name: "orders" }] } },
    ]);
    const deployment = (name: string, labels: Record<string, string>) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: "team-a" },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name, ...labels } },
          spec: { serviceAccountName: "orders", containers: [{ name: "app", image: "app:1" }] },
        },
      },
    });
    const created = await kubectl.run(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } },
          { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "orders", namespace: "team-a" } },
          deployment("web", { "azure.workload.identity/use": "true" }),
          deployment("plain", {}),
        ],
      }),
    });
    assert.equal(created.code, 0, created.stderr);
  });
  after(async () => {
    kubectl?.dispose();
    await kube?.close();
    await s.close();
  });

  test("new client id on the ServiceAccount, the workload-identity Deployment restarted once, all in the reports", async () => {
    const state = `${s.dir}/state.json`;
    const applied = await s.azid(
      ["apply", "-f", manifests, "--sandbox", s.sandboxFile, "--state", state, "--auto-approve"].concat([
        "--kubeconfig",
        kube.kubeconfigPath,
      ]),
    );
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const sa = async () =>
      JSON.parse((await kubectl.run(["get", "sa", "orders", "-n", "team-a", "-o", "json"])).stdout);
    const oldClientId = (await sa()).metadata.annotations["azure.workload.identity/client-id"];
    assert.ok(oldClientId);

    const tenant = randomUUID();
    assert.equal((await s.f.admin("POST", `subscriptions/${s.sub}/move`, { tenantId: tenant })).status, 200);
    const secret = s.writeFile("secret.txt", "any-secret-works-in-the-sandbox\n");
    const credentials = s.writeFile(
      "credentials.yaml",
      `subscriptions:\n  ${s.sub}:\n    tenantId: ${tenant}\n    clientId: ${randomUUID()}\n    clientSecretFile: ${secret}\n`,
    );
    const html = `${s.dir}/report.html`;
    const args = ["remediate", "--subscription", s.sub, "-f", manifests, "--sandbox", s.sandboxFile];
    const common = [
      "--credentials-file",
      credentials,
      "--state",
      state,
      "--yes",
      "--kubeconfig",
      kube.kubeconfigPath,
    ];
    const run = await s.azid([...args, ...common, "--output", "json", "--report", html]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const { report } = JSON.parse(run.stdout);
    const [resource] = report.resources;
    assert.equal(resource.before.clientId, oldClientId);
    const newClientId = resource.after.clientId;
    assert.ok(newClientId && newClientId !== oldClientId);
    assert.deepEqual(report.clusterWiring[0].restarted, ["Deployment/web"]);
    assert.equal(report.clusterApplied, true);
    assert.equal((await sa()).metadata.annotations["azure.workload.identity/client-id"], newClientId);
    assert.equal((await sa()).metadata.annotations["azure.workload.identity/tenant-id"], tenant);
    const generation = async (name: string) =>
      JSON.parse((await kubectl.run(["get", "deployment", name, "-n", "team-a", "-o", "json"])).stdout)
        .metadata.generation;
    assert.equal(await generation("web"), 2);
    assert.equal(await generation("plain"), 1);
    const page = readFileSync(html, "utf8");
    assert.match(page, /The cluster: applied/);
    assert.match(page, /Deployment\/web/);

    // Text report: old -> new client id, and the restart.
    const text = await s.azid([...args, ...common]);
    assert.equal(text.code, 0, text.stderr + text.stdout);
    assert.equal(await generation("web"), 2, "a second run restarts nothing");
  });
});
