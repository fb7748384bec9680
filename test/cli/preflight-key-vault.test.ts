// What preflight asks of azid's credential for Key Vault access policies, and the built-in role
// it suggests for them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { requirementsOf } from "../../src/cli/preflight-requirements.js";
import { rolesGranting } from "../../src/cli/role-suggestions.js";
import { updateVaultAccessPolicy } from "../../src/plan/build.js";
import { requiredPermissions } from "../../src/plan/required-permissions.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const VAULT = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.KeyVault/vaults/kv`;

describe("preflight: Key Vault access policies", () => {
  test("a declared entry needs the vault's read, accessPolicies/write, and write for a repair", () => {
    const needs = requirementsOf([
      {
        apiVersion: "azid.dev/v1alpha1",
        kind: "SystemAssignedIdentity",
        metadata: { name: "vm", namespace: "team-a" },
        spec: {
          resourceId: `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/vm`,
          keyVaultAccessPolicies: [{ vaultId: VAULT, permissions: { secrets: ["get"] } }],
        },
      },
    ]);
    const atVault = needs.filter((n) => n.scope === VAULT).map((n) => n.action);
    assert.deepEqual(atVault, [
      "Microsoft.KeyVault/vaults/read",
      "Microsoft.KeyVault/vaults/accessPolicies/write",
      "Microsoft.KeyVault/vaults/write",
    ]);
  });

  test("Key Vault Contributor is the role suggested for them", () => {
    assert.deepEqual(
      rolesGranting([
        "Microsoft.KeyVault/vaults/read",
        "Microsoft.KeyVault/vaults/accessPolicies/write",
        "Microsoft.KeyVault/vaults/write",
      ]),
      ["Key Vault Contributor"],
    );
  });

  test("the permission guard checks accessPolicies/write before an entry is written", () => {
    const action = updateVaultAccessPolicy(
      { kind: "UserAssignedIdentity", namespace: "team-a", name: "app" },
      VAULT,
      "replace",
      { tenantId: SUB, objectId: SUB, permissions: { secrets: ["get"] } },
      "grants",
    );
    assert.deepEqual(requiredPermissions(action), [
      { scope: VAULT, action: "Microsoft.KeyVault/vaults/accessPolicies/write" },
    ]);
  });
});
