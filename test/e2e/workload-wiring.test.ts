// Issue 13, the Kubernetes side, through kubectl and the real controller process: a
// UserAssignedIdentity wires its ServiceAccounts (two annotations under azid's field manager) and
// exports its ids to a ConfigMap; a ServiceAccount created later is wired when it appears; the
// steady state writes nothing; a new client id (the identity re-created in another resource
// group) reaches the ServiceAccount and the ConfigMap and restarts each workload-identity
// Deployment exactly once, nothing else; a GitOps tool setting the old client id back is
// reported, not fought.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type AzidObject,
  conditionOf,
  conditionReached,
  createIdentityInAzure,
  createResourceGroup,
  eventRecorded,
  eventually,
  NS,
  observed,
  ready,
  teamNamespace,
  uai,
} from "./fixtures.js";
import { type ControllerProcess, Stack } from "./stack.js";

const CLIENT_ID = "azure.workload.identity/client-id";
const TENANT_ID = "azure.workload.identity/tenant-id";

const serviceAccount = (name: string, annotations: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name, namespace: NS, annotations },
});

function deployment(name: string, serviceAccountName: string, useWorkloadIdentity: boolean) {
  const labels = { app: name, ...(useWorkloadIdentity ? { "azure.workload.identity/use": "true" } : {}) };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: { serviceAccountName, containers: [{ name: "app", image: "app:1" }] },
      },
    },
  };
}

interface Workload {
  metadata: { generation: number };
  spec: { template: { metadata: { annotations?: Record<string, string> } } };
}

interface ManagedEntry {
  manager: string;
  fieldsV1?: { "f:metadata"?: { "f:annotations"?: Record<string, unknown> } };
}

/** The value of a counter family summed over the series whose labels contain `match`. */
function counter(text: string, name: string, match = ""): number {
  return text
    .split("\n")
    .filter((line) => line.startsWith(name) && line.includes(match))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

describe("workload wiring through kubectl and azid controller", () => {
  let stack: Stack;
  let controller: ControllerProcess;

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    await createResourceGroup(stack);
    await createResourceGroup(stack, "moved-rg");
    await stack.apply(...teamNamespace(stack));
    await stack.apply(
      serviceAccount("app-sa", { team: "payments" }),
      deployment("web", "app-sa", true),
      deployment("batch", "app-sa", false),
      deployment("elsewhere", "default", true),
    );
    controller = await stack.startController({ resyncPeriod: "3s" });
  });
  after(() => stack?.close());

  const annotationsOf = async (name: string) =>
    ((await stack.get<{ metadata: { annotations?: Record<string, string> } }>("sa", name, NS))?.metadata
      .annotations ?? {}) as Record<string, string>;
  const generationOf = async (name: string) =>
    (await stack.get<Workload>("deployment", name, NS))?.metadata.generation;

  /** Waits for `count` more reconciles of UserAssignedIdentities: a positive signal that azid looked again. */
  async function reconciles(count: number): Promise<void> {
    const metric = 'controller_runtime_reconcile_total{controller="userassignedidentity"';
    const start = counter(await controller.metrics(), metric);
    await eventually(async () => {
      assert.ok(counter(await controller.metrics(), metric) >= start + count);
    }, 30_000);
  }

  let first: AzidObject;

  test("a ServiceAccount wired under azid's field manager, the ConfigMap exported, a missing one reported", async () => {
    await stack.apply(
      uai(stack, "app-id", {
        serviceAccounts: [{ name: "app-sa" }, { name: "late-sa" }],
        exports: {
          configMap: { name: "app-id-ids", keys: { clientId: "AZURE_CLIENT_ID" } },
          secret: { name: "app-id-secret" },
        },
      }),
    );
    first = await conditionReached(
      stack,
      "uai",
      "app-id",
      "WorkloadsWired",
      "False",
      "ServiceAccountNotFound",
    );
    assert.equal(conditionOf(first, "Ready")?.status, "False", "Ready requires the wiring");
    assert.match(conditionOf(first, "WorkloadsWired")?.message ?? "", /late-sa does not exist/);
    const { clientId, tenantId, principalId, resourceId } = first.status ?? {};
    assert.ok(clientId && tenantId);

    const { "kubectl.kubernetes.io/last-applied-configuration": _, ...annotations } =
      await annotationsOf("app-sa");
    assert.deepEqual(annotations, { team: "payments", [CLIENT_ID]: clientId, [TENANT_ID]: tenantId });
    const sa = JSON.parse(
      await stack.must(["get", "sa", "app-sa", "-n", NS, "-o", "json", "--show-managed-fields"]),
    ) as { metadata: { managedFields: ManagedEntry[] } };
    const azid = sa.metadata.managedFields.find((entry) => entry.manager === "azid-controller");
    assert.deepEqual(azid?.fieldsV1, {
      "f:metadata": { "f:annotations": { [`f:${CLIENT_ID}`]: {}, [`f:${TENANT_ID}`]: {} } },
    });

    const configMap = await stack.get<{
      data: Record<string, string>;
      metadata: { ownerReferences: Array<{ kind: string; name: string; controller: boolean }> };
    }>("configmap", "app-id-ids", NS);
    assert.deepEqual(configMap?.data, { AZURE_CLIENT_ID: clientId, principalId, tenantId, resourceId });
    assert.deepEqual(
      configMap?.metadata.ownerReferences.map(({ kind, name, controller }) => ({ kind, name, controller })),
      [{ kind: "UserAssignedIdentity", name: "app-id", controller: true }],
    );
    const secret = await stack.get<{ data: Record<string, string>; type: string }>(
      "secret",
      "app-id-secret",
      NS,
    );
    assert.equal(secret?.type, "Opaque");
    const decoded = Object.fromEntries(
      Object.entries(secret?.data ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value, "base64").toString(),
      ]),
    );
    assert.deepEqual(decoded, { clientId, principalId, tenantId, resourceId });
    assert.equal(await generationOf("web"), 1, "the first wiring restarts nothing");
  });

  test("a ServiceAccount created later is wired when it appears; Ready", async () => {
    await stack.apply(serviceAccount("late-sa"));
    const wired = await ready(stack, "uai", "app-id");
    assert.equal(conditionOf(wired, "WorkloadsWired")?.reason, "Reconciled");
    assert.equal((await annotationsOf("late-sa"))[CLIENT_ID], wired.status?.clientId);
  });

  test("the steady state writes nothing to Kubernetes", async () => {
    const before = counter(await controller.metrics(), "azid_kube_writes_total");
    await reconciles(3);
    assert.equal(counter(await controller.metrics(), "azid_kube_writes_total"), before);
  });

  let moved: AzidObject;

  test("a new client id reaches the ServiceAccounts and the ConfigMap; each workload-identity Deployment restarts once", async () => {
    const old = first.status?.clientId as string;
    await stack.must([
      "patch",
      "uai",
      "app-id",
      "-n",
      NS,
      "--type",
      "merge",
      "-p",
      '{"spec":{"resourceGroup":"moved-rg"}}',
    ]);
    moved = await eventually(async () => {
      const object = await ready(stack, "uai", "app-id");
      assert.notEqual(object.status?.clientId, old);
      assert.equal(conditionOf(object, "WorkloadsWired")?.status, "True");
      return object;
    }, 90_000);
    const clientId = moved.status?.clientId as string;
    assert.equal((await annotationsOf("app-sa"))[CLIENT_ID], clientId);
    assert.equal((await annotationsOf("late-sa"))[CLIENT_ID], clientId);
    const configMap = await stack.get<{ data: Record<string, string> }>("configmap", "app-id-ids", NS);
    assert.equal(configMap?.data.AZURE_CLIENT_ID, clientId);

    const web = await stack.get<Workload>("deployment", "web", NS);
    assert.equal(web?.metadata.generation, 2, "restarted once");
    assert.equal(web?.spec.template.metadata.annotations?.["azid.dev/restarted-for-client-id"], clientId);
    assert.ok(web?.spec.template.metadata.annotations?.["kubectl.kubernetes.io/restartedAt"]);
    assert.equal(await generationOf("batch"), 1, "no workload-identity label: untouched");
    assert.equal(await generationOf("elsewhere"), 1, "another ServiceAccount: untouched");
    const entry = moved.status?.serviceAccounts?.find((sa: { name: string }) => sa.name === "app-sa");
    assert.deepEqual(entry?.restarted, ["Deployment/web"]);
    await eventRecorded(stack, "UserAssignedIdentity", "app-id", [
      /ClientIdChanged/,
      new RegExp(`${old} -> ${clientId}`),
    ]);

    await reconciles(3);
    assert.equal(await generationOf("web"), 2, "never restarted again while nothing changes");
  });

  test("a GitOps tool setting the old client id back is reported, not fought", async () => {
    const old = first.status?.clientId as string;
    const writes = () =>
      controller.metrics().then((text) => counter(text, "azid_kube_writes_total", 'kind="ServiceAccount"'));
    await stack.must(
      ["apply", "--server-side", "--force-conflicts", "--field-manager=argocd", "-f", "-"],
      JSON.stringify(serviceAccount("app-sa", { team: "payments", [CLIENT_ID]: old })),
    );
    const fought = await conditionReached(
      stack,
      "uai",
      "app-id",
      "WorkloadsWired",
      "False",
      "ServiceAccountConflict",
    );
    assert.match(conditionOf(fought, "WorkloadsWired")?.message ?? "", /field manager argocd/);
    assert.equal(conditionOf(fought, "Ready")?.reason, "ServiceAccountConflict");
    await eventRecorded(stack, "UserAssignedIdentity", "app-id", [/Warning/, /argocd/]);
    const before = await writes();
    await reconciles(3);
    assert.equal(await writes(), before, "no write to the ServiceAccount while the other manager holds it");
    assert.equal((await annotationsOf("app-sa"))[CLIENT_ID], old);
    assert.equal(await generationOf("web"), 2);
  });

  test("a ServiceAccount dropped from the spec loses azid's annotations, and only it", async () => {
    await stack.must([
      "patch",
      "uai",
      "app-id",
      "-n",
      NS,
      "--type",
      "merge",
      "-p",
      '{"spec":{"serviceAccounts":[{"name":"app-sa"}]}}',
    ]);
    await eventually(async () => {
      const annotations = await annotationsOf("late-sa");
      assert.equal(annotations[CLIENT_ID], undefined, JSON.stringify(annotations));
      assert.equal(annotations[TENANT_ID], undefined);
    }, 30_000);
    const object = await stack.get<AzidObject>("uai", "app-id", NS);
    assert.deepEqual(
      object?.status?.serviceAccounts?.map((entry: { name: string }) => entry.name),
      ["app-sa"],
    );
    assert.equal(
      (await annotationsOf("app-sa"))[CLIENT_ID],
      first.status?.clientId,
      "the other manager's value stays",
    );
  });

  test("ObserveOnly reports the wiring a ServiceAccount lacks and writes nothing to Kubernetes", async () => {
    const legacy = await createIdentityInAzure(stack, "legacy-id");
    await stack.apply(serviceAccount("legacy-sa"));
    const kubeWrites = counter(await controller.metrics(), "azid_kube_writes_total");
    await stack.apply(
      uai(stack, "legacy-id", {
        managementPolicy: "ObserveOnly",
        serviceAccounts: [{ name: "legacy-sa" }],
        exports: { configMap: { name: "legacy-ids" } },
      }),
    );
    const object = await observed(stack, "uai", "legacy-id", (o) => {
      assert.equal(o.status?.clientId, legacy.properties.clientId, "the existing identity, adopted");
      assert.equal(conditionOf(o, "WorkloadsWired")?.status, "False", JSON.stringify(o.status?.conditions));
    });
    assert.equal(conditionOf(object, "WorkloadsWired")?.reason, "Drifted");
    assert.equal(conditionOf(object, "Ready")?.status, "True", "observing only, drift does not fail Ready");
    assert.match(conditionOf(object, "WorkloadsWired")?.message ?? "", /2 of 2 .* not wired .*ObserveOnly/);
    assert.equal(
      (await annotationsOf("legacy-sa"))[CLIENT_ID],
      undefined,
      "nothing written to the ServiceAccount",
    );
    assert.equal(await stack.get("configmap", "legacy-ids", NS), undefined, "no export written");
    assert.equal(counter(await controller.metrics(), "azid_kube_writes_total"), kubeWrites);
  });
});
