// How a TenantMigration reads its resources' statuses: done, failed for good, or still pending.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ManagedResource } from "../../src/api/managed-resource.js";
import type { MigrationPlan } from "../../src/api/schemas/tenant-migration.js";
import { progressOf, repairStateOf } from "../../src/controller/tenant-migration-state.js";

const NEW = "6f1c1c2e-0000-4000-8000-00000000000b";
const OLD = "6f1c1c2e-0000-4000-8000-00000000000a";

function identity(name: string, ready: "True" | "False", reason: string, tenantId = NEW): ManagedResource {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: { name, namespace: "team" },
    spec: {},
    status: {
      tenantId,
      conditions: [{ type: "Ready", status: ready, reason, message: reason, lastTransitionTime: "" }],
    },
  } as unknown as ManagedResource;
}

describe("TenantMigration progress", () => {
  test("Ready in the new tenant is done; Ready in the old one is not", () => {
    assert.equal(repairStateOf(identity("a", "True", "Ready"), NEW), "done");
    assert.equal(repairStateOf(identity("a", "True", "Ready", OLD), NEW), "pending");
  });

  test("a reason only a person fixes fails the resource; a refused azid credential keeps it pending", () => {
    assert.equal(repairStateOf(identity("a", "False", "MissingPermission"), NEW), "failed");
    // A second move while applying: azid's credential is refused until the operator switches it.
    assert.equal(repairStateOf(identity("a", "False", "CredentialTenantMismatch", OLD), NEW), "pending");
    assert.equal(repairStateOf(identity("a", "False", "Throttled", OLD), NEW), "pending");
  });

  test("progress counts each kind of action by the state of its resource, failures with their reason", () => {
    const plan = {
      actions: [
        { kind: "DeleteIdentity", resource: "UserAssignedIdentity/team/a" },
        { kind: "CreateIdentity", resource: "UserAssignedIdentity/team/a" },
        { kind: "CreateIdentity", resource: "UserAssignedIdentity/team/b" },
      ],
    } as unknown as MigrationPlan;
    const progress = progressOf(
      plan,
      [identity("a", "True", "Ready"), identity("b", "False", "AzurePolicyDenied", OLD)],
      NEW,
    );
    assert.deepEqual(progress.progress, [
      { kind: "DeleteIdentity", done: 1, total: 1 },
      { kind: "CreateIdentity", done: 1, total: 2 },
    ]);
    assert.deepEqual(
      progress.failures.map((f) => [f.resource, f.reason]),
      [["UserAssignedIdentity/team/b", "AzurePolicyDenied"]],
    );
    assert.deepEqual([progress.done, progress.failed, progress.pending], [1, 1, 0]);
  });
});
