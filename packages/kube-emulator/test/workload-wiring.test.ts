// What azid's workload wiring relies on: two appliers owning different annotations of one
// ServiceAccount never conflict; a forced apply of another value takes the field and its
// managedFields entry names the new owner; DaemonSets are served like the other workloads.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type KubeEmulator, startTestKube } from "../../../test/support/kube.js";
import { RawClient } from "./support/raw-client.js";

const APPLY = "application/apply-patch+yaml";
const MERGE = "application/merge-patch+json";
const SA = "/api/v1/namespaces/default/serviceaccounts";
const DAEMONSETS = "/apis/apps/v1/namespaces/default/daemonsets";

const serviceAccount = (annotations: Record<string, string>) =>
  JSON.stringify({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "app", annotations } });

interface ManagedEntry {
  manager: string;
  operation: string;
  fieldsV1?: { "f:metadata"?: { "f:annotations"?: Record<string, unknown> } };
}

function ownersOf(object: { metadata: { managedFields?: ManagedEntry[] } }, annotation: string): string[] {
  return (object.metadata.managedFields ?? [])
    .filter((entry) => entry.fieldsV1?.["f:metadata"]?.["f:annotations"]?.[`f:${annotation}`] !== undefined)
    .map((entry) => entry.manager);
}

describe("workload wiring", () => {
  let kube: KubeEmulator;
  let api: RawClient;

  before(async () => {
    kube = await startTestKube();
    api = new RawClient(kube.url);
  });
  after(() => kube.close());

  test("appliers of different annotations share a ServiceAccount; a forced value changes the owner", async () => {
    const gitops = await api.call("PATCH", `${SA}/app?fieldManager=argocd&force=true`, {
      body: serviceAccount({ team: "payments" }),
      contentType: APPLY,
    });
    assert.equal(gitops.status, 201);
    const azid = await api.call("PATCH", `${SA}/app?fieldManager=azid-controller&force=false`, {
      body: serviceAccount({ "azure.workload.identity/client-id": "new" }),
      contentType: APPLY,
    });
    assert.equal(azid.status, 200, JSON.stringify(azid.body));
    assert.deepEqual(azid.body.metadata.annotations, {
      team: "payments",
      "azure.workload.identity/client-id": "new",
    });
    assert.deepEqual(ownersOf(azid.body, "azure.workload.identity/client-id"), ["azid-controller"]);

    // A manifest in Git hard-coding the old client id, applied without force: a conflict.
    const refused = await api.call("PATCH", `${SA}/app?fieldManager=argocd&force=false`, {
      body: serviceAccount({ team: "payments", "azure.workload.identity/client-id": "old" }),
      contentType: APPLY,
    });
    assert.equal(refused.status, 409);
    // Forced (as GitOps tools apply), it takes the field: managedFields names the new owner.
    const forced = await api.call("PATCH", `${SA}/app?fieldManager=argocd&force=true`, {
      body: serviceAccount({ team: "payments", "azure.workload.identity/client-id": "old" }),
      contentType: APPLY,
    });
    assert.equal(forced.status, 200);
    assert.equal(forced.body.metadata.annotations["azure.workload.identity/client-id"], "old");
    assert.deepEqual(ownersOf(forced.body, "azure.workload.identity/client-id"), ["argocd"]);

    // A no-op apply keeps the resourceVersion.
    const again = await api.call("PATCH", `${SA}/app?fieldManager=argocd&force=true`, {
      body: serviceAccount({ team: "payments", "azure.workload.identity/client-id": "old" }),
      contentType: APPLY,
    });
    assert.equal(again.body.metadata.resourceVersion, forced.body.metadata.resourceVersion);
  });

  test("DaemonSets: created with defaults, a pod-template annotation patch bumps the generation", async () => {
    const created = await api.post(DAEMONSETS, {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent", "azure.workload.identity/use": "true" } },
          spec: { serviceAccountName: "app", containers: [{ name: "agent", image: "agent:1" }] },
        },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.metadata.generation, 1);
    assert.equal(created.body.spec.updateStrategy.type, "RollingUpdate");

    const restarted = await api.call("PATCH", `${DAEMONSETS}/agent?fieldManager=azid-controller`, {
      body: JSON.stringify({
        spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "now" } } } },
      }),
      contentType: MERGE,
    });
    assert.equal(restarted.status, 200);
    assert.equal(restarted.body.metadata.generation, 2);

    const bad = await api.post(DAEMONSETS, {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "broken" },
      spec: { template: { spec: { containers: [] } } },
    });
    assert.equal(bad.status, 422);
  });
});
