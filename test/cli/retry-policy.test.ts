// The CLI retries what the controller retries: one error policy. A resource group that does not
// exist yet (Terraform creates it a moment later) is a NotFoundError the controller retries with
// backoff; `azid apply` retries it too and ends Ready, instead of giving up on the first attempt.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ResourceManagementClient } from "@azure/arm-resources";
import type { IdentityPolicy } from "../../src/api/schemas/identity-policy.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import { reconcileResource } from "../../src/cli/reconcile.js";
import { StateStore } from "../../src/cli/state-file.js";
import { evaluatePolicy } from "../../src/plan/policy.js";
import { type ArmFixture, startArmFixture } from "../support/arm.js";
import { sandboxExecutor } from "../support/azure.js";

describe("the CLI's retries", () => {
  let f: ArmFixture;

  before(async () => {
    f = await startArmFixture({ timeScale: 50 });
  });
  after(() => f.close());

  test("a resource group created after the first attempt: retried, then Ready", async () => {
    const sub = f.arm.subscriptionId;
    const policy: IdentityPolicy = {
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: "allow-all" },
      spec: { namespaceSelector: {}, subscriptions: [{ subscriptionId: sub }] },
    };
    const identity = {
      apiVersion: "azid.dev/v1alpha1",
      kind: "UserAssignedIdentity",
      metadata: { name: "early", namespace: "team-a", generation: 1 },
      spec: { subscriptionId: sub, resourceGroup: "later-rg", location: "westeurope" },
    } as UserAssignedIdentity;
    const resources = new ResourceManagementClient(f.credential, sub, f.clientOptions());
    const waits: number[] = [];
    const outcome = await reconcileResource(identity, {
      executor: sandboxExecutor(f.arm),
      state: new StateStore(),
      decide: (resource) =>
        evaluatePolicy(resource, { namespaceLabels: {}, policies: [policy], customRoles: [] }),
      allowTenantRepair: () => false,
      customRolesOf: () => [],
      concurrency: 1,
      maxAttempts: 4,
      baseDelayMs: 1,
      sleep: async (ms) => {
        waits.push(ms);
        // Between the attempts someone creates the resource group.
        await resources.resourceGroups.createOrUpdate("later-rg", { location: "westeurope" });
      },
    });
    assert.equal(outcome.state, "ready", JSON.stringify(outcome.errors));
    assert.equal(waits.length, 1, "one retry");
    assert.equal(outcome.attempts, 2);
  });
});
