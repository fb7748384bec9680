// Checklist items 27 and 28 (Leases for leader election, Events in both API groups) and
// namespaces, through @kubernetes/client-node.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
  type KubeConfig,
  V1MicroTime,
} from "@kubernetes/client-node";
import { type KubeEmulator, kubeConfigFor, startTestKube } from "../../../test/support/kube.js";
import { RawClient } from "./support/raw-client.js";

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

describe("leases, events and namespaces", () => {
  let kube: KubeEmulator;
  let config: KubeConfig;
  let api: RawClient;

  before(async () => {
    kube = await startTestKube();
    config = kubeConfigFor(kube);
    api = new RawClient(kube.url);
  });
  after(() => kube.close());

  test("27. Leases: get, create on 404, renew with PUT, 409 on a stale resourceVersion; MicroTime with six decimals", async () => {
    const leases = config.makeApiClient(CoordinationV1Api);
    const namespace = "kube-system";
    assert.equal(await statusOf(leases.readNamespacedLease({ name: "azid-leader", namespace })), 404);
    const created = await leases.createNamespacedLease({
      namespace,
      body: {
        metadata: { name: "azid-leader" },
        spec: {
          holderIdentity: "replica-a",
          leaseDurationSeconds: 15,
          acquireTime: new V1MicroTime(),
          renewTime: new V1MicroTime(),
          leaseTransitions: 0,
        },
      },
    });
    assert.equal(created.spec?.holderIdentity, "replica-a");

    const raw = await api.get(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/azid-leader`);
    assert.match(raw.body.spec.renewTime, MICRO_TIME);
    assert.match(raw.body.spec.acquireTime, MICRO_TIME);

    const renewedBody = { ...created, spec: { ...created.spec, renewTime: new Date() } };
    const renewed = await leases.replaceNamespacedLease({
      name: "azid-leader",
      namespace,
      body: renewedBody,
    });
    assert.notEqual(renewed.metadata?.resourceVersion, created.metadata?.resourceVersion);
    const rawRenewed = await api.get(
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/azid-leader`,
    );
    assert.match(rawRenewed.body.spec.renewTime, MICRO_TIME, "a millisecond time is stored as MicroTime");

    const takeover = {
      ...created,
      spec: { ...created.spec, holderIdentity: "replica-b", leaseTransitions: 1 },
    };
    assert.equal(
      await statusOf(leases.replaceNamespacedLease({ name: "azid-leader", namespace, body: takeover })),
      409,
      "a replica holding a stale copy loses the race",
    );
    const current = await leases.readNamespacedLease({ name: "azid-leader", namespace });
    assert.equal(current.spec?.holderIdentity, "replica-a");
  });

  test("28. Events: events.k8s.io/v1 and core/v1 are one resource, selectable by involvedObject.* and regarding.*", async () => {
    const eventsV1 = config.makeApiClient(EventsV1Api);
    const core = config.makeApiClient(CoreV1Api);
    const regarding = {
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      name: "id-1",
      namespace: "default",
      uid: "5a6b1a52-0a5b-4d3c-9f5e-1d2c3b4a5f60",
    };
    await eventsV1.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "id-1.17f0" },
        eventTime: new V1MicroTime(),
        reportingController: "azid.dev/controller",
        reportingInstance: "azid-controller-0",
        action: "Reconcile",
        reason: "RolesGranted",
        regarding,
        note: "granted 2 roles",
        type: "Normal",
      },
    });
    await core.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "other.17f1" },
        involvedObject: { kind: "ConfigMap", name: "other", namespace: "default" },
        reason: "Noise",
        message: "unrelated",
        type: "Warning",
        source: { component: "test" },
        firstTimestamp: new Date(),
        lastTimestamp: new Date(),
        count: 1,
      },
    });

    const described = await core.listNamespacedEvent({
      namespace: "default",
      fieldSelector: `involvedObject.name=id-1,involvedObject.namespace=default,involvedObject.kind=UserAssignedIdentity,involvedObject.uid=${regarding.uid}`,
    });
    assert.equal(described.items.length, 1);
    const event = described.items[0]!;
    assert.equal(event.message, "granted 2 roles");
    assert.equal(event.reason, "RolesGranted");
    assert.equal(event.involvedObject.kind, "UserAssignedIdentity");
    assert.equal(event.reportingComponent, "azid.dev/controller");

    const viaV1 = await eventsV1.listNamespacedEvent({
      namespace: "default",
      fieldSelector: "regarding.name=other",
    });
    assert.equal(viaV1.items.length, 1);
    assert.equal(viaV1.items[0]!.note, "unrelated");
    assert.equal(viaV1.items[0]!.regarding?.kind, "ConfigMap");
    assert.equal(viaV1.items[0]!.deprecatedCount, 1);

    const byType = await core.listEventForAllNamespaces({ fieldSelector: "type=Warning" });
    assert.deepEqual(
      byType.items.map((e) => e.metadata.name),
      ["other.17f1"],
    );

    const incomplete = await statusOf(
      eventsV1.createNamespacedEvent({
        namespace: "default",
        body: { metadata: { name: "incomplete" }, regarding, note: "no reason", type: "Normal" } as never,
      }),
    );
    assert.equal(
      incomplete,
      422,
      "events.k8s.io/v1 requires eventTime, reportingController, action and reason",
    );
  });

  test("namespaced objects need their namespace; deleting a namespace deletes its content first", async () => {
    const core = config.makeApiClient(CoreV1Api);
    const namespaces = await core.listNamespace();
    assert.deepEqual(
      namespaces.items.map((n) => n.metadata?.name),
      ["default", "kube-node-lease", "kube-public", "kube-system"],
    );
    assert.equal(
      await statusOf(
        core.createNamespacedConfigMap({ namespace: "team-a", body: { metadata: { name: "c" } } }),
      ),
      404,
    );
    await core.createNamespace({ body: { metadata: { name: "team-a" } } });
    const ns = await core.readNamespace({ name: "team-a" });
    assert.equal(ns.status?.phase, "Active");
    assert.equal(ns.metadata?.labels?.["kubernetes.io/metadata.name"], "team-a");
    await core.createNamespacedConfigMap({ namespace: "team-a", body: { metadata: { name: "plain" } } });
    await core.createNamespacedConfigMap({
      namespace: "team-a",
      body: { metadata: { name: "held", finalizers: ["example.com/hold"] } },
    });

    const deleting = await core.deleteNamespace({ name: "team-a" });
    assert.equal((deleting as { status?: { phase?: string } }).status?.phase, "Terminating");
    const waitFor = async (check: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        if (await check()) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.fail("condition not reached");
    };
    await waitFor(
      async () =>
        (await statusOf(core.readNamespacedConfigMap({ name: "plain", namespace: "team-a" }))) === 404,
    );
    const forbidden = await statusOf(
      core.createNamespacedConfigMap({ namespace: "team-a", body: { metadata: { name: "late" } } }),
    );
    assert.equal(forbidden, 403, "no new content in a terminating namespace");
    const held = await core.readNamespacedConfigMap({ name: "held", namespace: "team-a" });
    assert.ok(held.metadata?.deletionTimestamp, "objects with finalizers wait for them");
    assert.equal((await core.readNamespace({ name: "team-a" })).status?.phase, "Terminating");

    await core.patchNamespacedConfigMap({
      name: "held",
      namespace: "team-a",
      body: [{ op: "remove", path: "/metadata/finalizers" }],
    });
    await waitFor(async () => (await statusOf(core.readNamespace({ name: "team-a" }))) === 404);
  });
});
