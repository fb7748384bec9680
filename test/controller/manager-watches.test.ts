// The identity controllers' secondary watches (src/controller/secondary-watches.ts) in a running
// manager: a Namespace label change, an IdentityPolicy change and a CustomRole change each
// reconcile exactly the identities they concern.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { CustomRole } from "../../src/api/schemas/custom-role.js";
import type { ControllerProcess } from "../../src/controller/run.js";
import { customRoleDefinitionGuid } from "../../src/plan/roles.js";
import { cleanUp, SUBSCRIPTION, TestCluster, waitFor } from "../kube/support/cluster.js";
import { type RedisServer, startRedis } from "../support/redis.js";
import { RunLog, startInProcess } from "./runtime-fixtures/harness.js";
import { testController } from "./runtime-fixtures/test-controller.js";

const POLICIES = "/apis/azid.dev/v1alpha1/identitypolicies";
const SCOPE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg`;
/** The identity each marker change reconciles: the positive signal that the queue got past a change. */
const MARKER_KEY = "UserAssignedIdentity/marker/app";
const MARKER_ROLE = "/apis/azid.dev/v1alpha1/namespaces/marker/customroles/marker-role";

/** How a test knows a change's adds are all reconciled: a change of the same kind (so the same informer, in order) that reconciles MARKER_KEY. */
type Marker = (n: number) => Promise<unknown>;

describe("secondary watches of the identity controllers", () => {
  let cluster: TestCluster;
  let redis: RedisServer;
  let controller: ControllerProcess;
  const log = new RunLog();

  before(async () => {
    [cluster, redis] = await Promise.all([TestCluster.start(), startRedis()]);
    await cluster.createNamespace("red-1", { team: "red" });
    await cluster.createNamespace("red-2", { team: "red" });
    await cluster.createNamespace("blue", { team: "blue" });
    for (const namespace of ["red-1", "red-2", "blue"]) {
      await cluster.createIdentity(namespace, "app", { v: "1" });
    }
    // The markers: a namespace, a policy that selects it and a CustomRole its identity names.
    await cluster.createNamespace("marker", { team: "marker" });
    await cluster.call("POST", POLICIES, markerPolicy(0));
    await cluster.call("POST", "/apis/azid.dev/v1alpha1/namespaces/marker/customroles", markerRole(0));
    await cluster.call("POST", cluster.identityPath("marker"), {
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name: "app" },
      spec: {
        subscriptionId: SUBSCRIPTION,
        resourceGroup: "rg",
        location: "westeurope",
        roleAssignments: [{ customRoleRef: { name: "marker-role" }, scope: SCOPE }],
      },
    });
    controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: log.record, watchDependencies: true })],
    });
    await waitFor(() => log.starts().length >= 4, "the initial reconciles");
  });

  function markerPolicy(n: number) {
    return {
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: "marker" },
      spec: {
        namespaceSelector: {
          matchLabels: { team: "marker" },
          matchExpressions: [{ key: "marker", operator: "NotIn", values: [String(n)] }],
        },
      },
    };
  }

  function markerRole(n: number) {
    return {
      apiVersion: "azid.dev/v1alpha1",
      kind: "CustomRole",
      metadata: { name: "marker-role", namespace: "marker" },
      spec: {
        subscriptionId: SUBSCRIPTION,
        roleName: "Marker Role",
        description: `marker ${n}`,
        permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
        assignableScopes: [`/subscriptions/${SUBSCRIPTION}`],
      },
    };
  }

  const markers: Record<"namespace" | "policy" | "role", Marker> = {
    namespace: (n) =>
      cluster.call(
        "PATCH",
        "/api/v1/namespaces/marker",
        { metadata: { labels: { team: "marker", n: String(n) } } },
        "application/merge-patch+json",
      ),
    policy: (n) =>
      cluster.call(
        "PATCH",
        `${POLICIES}/marker`,
        { spec: markerPolicy(n).spec },
        "application/merge-patch+json",
      ),
    role: (n) =>
      cluster.call("PATCH", MARKER_ROLE, { spec: markerRole(n).spec }, "application/merge-patch+json"),
  };
  let marks = 0;

  /**
   * Changes a marker of the same kind as the change before it and waits for MARKER_KEY's reconcile
   * to start: the informer delivered the earlier change first and the queue hands keys out in the
   * order they were added, so every key that change added has started by then.
   */
  async function pastMarker(marker: Marker): Promise<number> {
    const before = log.starts(MARKER_KEY).length;
    await marker(++marks);
    await waitFor(() => log.starts(MARKER_KEY).length > before, "the marker's reconcile");
    return log.starts().length;
  }
  after(() =>
    cleanUp(
      () => controller?.stop(),
      () => cluster.close(),
      () => redis.stop(),
    ),
  );

  /** Keys added to the identities' queue so far (workqueue_adds_total counts every add, coalesced or not). */
  async function adds(): Promise<number> {
    const metrics = await (await fetch(`${controller!.server!.url}/metrics`)).text();
    const match =
      /workqueue_adds_total\{name="userassignedidentity",controller="userassignedidentity"\} (\d+)/.exec(
        metrics,
      );
    return Number(match?.[1] ?? 0);
  }

  /**
   * The keys reconciled because of `change`: those that started after a marker before it and
   * before a marker after it (both of the change's kind), the markers' own reconciles left out.
   */
  async function reconciledAfter(
    marker: Marker,
    change: () => Promise<unknown>,
    expected: number,
  ): Promise<string[]> {
    const mark = await pastMarker(marker);
    await change();
    await waitFor(() => log.starts().length >= mark + expected, `${expected} reconciles`);
    const end = await pastMarker(marker);
    return [
      ...new Set(
        log
          .starts()
          .slice(mark, end)
          .map((run) => run.key)
          .filter((key) => key !== MARKER_KEY),
      ),
    ].sort();
  }

  test("a Namespace's label change reconciles the identities in it, and nothing for other changes", async () => {
    const relabel = (labels: Record<string, string>) =>
      cluster.call(
        "PATCH",
        "/api/v1/namespaces/blue",
        { metadata: { labels } },
        "application/merge-patch+json",
      );
    assert.deepEqual(
      await reconciledAfter(markers.namespace, () => relabel({ team: "blue", tier: "gold" }), 1),
      ["UserAssignedIdentity/blue/app"],
    );
    // Past a marker first: a reconcile still on its way from the relabel must not count against the next step.
    await pastMarker(markers.namespace);
    const addsBefore = await adds();
    await cluster.call(
      "PATCH",
      "/api/v1/namespaces/blue",
      { metadata: { annotations: { note: "labels unchanged" } } },
      "application/merge-patch+json",
    );
    // The positive signal: a label change after it, which adds the identity. Informer events come
    // in order, so an add for the annotation would be counted before this one.
    await relabel({ team: "blue", tier: "silver" });
    await waitFor(async () => (await adds()) > addsBefore, "the relabel's add");
    assert.equal((await adds()) - addsBefore, 1, "one add, the relabel's: the annotation added nothing");
  });

  test("an IdentityPolicy reconciles the identities of the namespaces it selected or selects", async () => {
    const policy = (team: string) => ({
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: "teams" },
      spec: { namespaceSelector: { matchLabels: { team } } },
    });
    assert.deepEqual(
      await reconciledAfter(markers.policy, () => cluster.call("POST", POLICIES, policy("red")), 2),
      ["UserAssignedIdentity/red-1/app", "UserAssignedIdentity/red-2/app"],
    );
    assert.deepEqual(
      await reconciledAfter(
        markers.policy,
        () =>
          cluster.call(
            "PATCH",
            `${POLICIES}/teams`,
            { spec: { namespaceSelector: { matchLabels: { team: "blue" } } } },
            "application/merge-patch+json",
          ),
        3,
      ),
      ["UserAssignedIdentity/blue/app", "UserAssignedIdentity/red-1/app", "UserAssignedIdentity/red-2/app"],
      "the namespaces it no longer selects, and those it now selects",
    );
    assert.deepEqual(
      await reconciledAfter(markers.policy, () => cluster.call("DELETE", `${POLICIES}/teams`), 1),
      ["UserAssignedIdentity/blue/app"],
    );
  });

  test("a CustomRole reconciles the identities that name it (by CustomRole, roleName or definition id)", async () => {
    const role = {
      apiVersion: "azid.dev/v1alpha1",
      kind: "CustomRole",
      metadata: { name: "orders-reader", namespace: "red-1" },
      spec: {
        subscriptionId: SUBSCRIPTION,
        roleName: "Orders Reader",
        permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
        assignableScopes: [`/subscriptions/${SUBSCRIPTION}`],
      },
    };
    const guid = customRoleDefinitionGuid(role as unknown as CustomRole);
    const identity = (name: string, assignment: Record<string, unknown>) =>
      cluster.call("POST", cluster.identityPath("red-1"), {
        apiVersion: "azid.dev/v1alpha1",
        kind: "UserAssignedIdentity",
        metadata: { name },
        spec: {
          subscriptionId: SUBSCRIPTION,
          resourceGroup: "rg",
          location: "westeurope",
          roleAssignments: [{ ...assignment, scope: SCOPE }],
        },
      });
    const mark = log.starts().length;
    await identity("by-ref", { customRoleRef: { name: "orders-reader" } });
    await identity("by-name", { role: "orders reader" });
    await identity("by-guid", {
      roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
    });
    await identity("builtin", { role: "Reader" });
    await waitFor(() => log.starts().length >= mark + 4, "the new identities' reconciles");

    const referring = [
      "UserAssignedIdentity/red-1/by-guid",
      "UserAssignedIdentity/red-1/by-name",
      "UserAssignedIdentity/red-1/by-ref",
    ];
    assert.deepEqual(
      await reconciledAfter(
        markers.role,
        () => cluster.call("POST", "/apis/azid.dev/v1alpha1/namespaces/red-1/customroles", role),
        3,
      ),
      referring,
    );
    const path = "/apis/azid.dev/v1alpha1/namespaces/red-1/customroles/orders-reader";
    const stored = await cluster.call("GET", path);
    assert.deepEqual(
      await reconciledAfter(
        markers.role,
        () =>
          cluster.call("PUT", `${path}/status`, {
            ...stored,
            status: { observedGeneration: 1 },
          }),
        3,
      ),
      referring,
      "its status matters too: a grant waits for the role to exist in Azure",
    );
  });
});
