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

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLICIES = "/apis/azid.dev/v1alpha1/identitypolicies";
const SCOPE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg`;

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
    controller = await startInProcess({
      kubeconfig: cluster.kubeconfigPath,
      redisUrl: redis.url,
      controllers: [testController({ report: log.record, watchDependencies: true })],
    });
    await waitFor(() => log.starts().length >= 3, "the initial reconciles");
  });
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

  /** The keys reconciled because of `change`, once things are quiet again. */
  async function reconciledAfter(change: () => Promise<unknown>, expected: number): Promise<string[]> {
    await settle(200);
    const mark = log.starts().length;
    await change();
    await waitFor(() => log.starts().length >= mark + expected, `${expected} reconciles`);
    await settle(300);
    return [
      ...new Set(
        log
          .starts()
          .slice(mark)
          .map((run) => run.key),
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
    assert.deepEqual(await reconciledAfter(() => relabel({ team: "blue", tier: "gold" }), 1), [
      "UserAssignedIdentity/blue/app",
    ]);
    // Quiet first: a reconcile still on its way from the relabel must not count against the next step.
    await settle(400);
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
    assert.deepEqual(await reconciledAfter(() => cluster.call("POST", POLICIES, policy("red")), 2), [
      "UserAssignedIdentity/red-1/app",
      "UserAssignedIdentity/red-2/app",
    ]);
    assert.deepEqual(
      await reconciledAfter(
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
    assert.deepEqual(await reconciledAfter(() => cluster.call("DELETE", `${POLICIES}/teams`), 1), [
      "UserAssignedIdentity/blue/app",
    ]);
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
        () => cluster.call("POST", "/apis/azid.dev/v1alpha1/namespaces/red-1/customroles", role),
        3,
      ),
      referring,
    );
    const path = "/apis/azid.dev/v1alpha1/namespaces/red-1/customroles/orders-reader";
    const stored = await cluster.call("GET", path);
    assert.deepEqual(
      await reconciledAfter(
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
