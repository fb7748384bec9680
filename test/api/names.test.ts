import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { builtinRoleByGuid, builtinRoleByName, builtinRoles } from "../../src/api/builtin-roles.js";
import { customRoleGuid, roleAssignmentName } from "../../src/api/names.js";
import { actionMatches, isPrivileged } from "../../src/api/role-permissions.js";
import { AZID_NAMESPACE, NAMESPACE_DNS, sha1, uuidV5 } from "../../src/api/uuid.js";

describe("SHA-1 and UUID v5", () => {
  test("SHA-1 matches node:crypto across block boundaries", () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const text = "x".repeat(length);
      const expected = createHash("sha1").update(text).digest("hex");
      assert.equal(
        Buffer.from(sha1(new TextEncoder().encode(text))).toString("hex"),
        expected,
        `length ${length}`,
      );
    }
  });

  test("UUID v5 matches RFC 9562's example", () => {
    assert.equal(uuidV5(NAMESPACE_DNS, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
  });

  test("azid's namespace is pinned", () => {
    assert.equal(uuidV5(NAMESPACE_DNS, "azid.dev"), AZID_NAMESPACE);
  });
});

describe("deterministic names", () => {
  const scope = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/App-RG";
  const role = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
  const principal = "33333333-3333-3333-3333-333333333333";

  test("a role assignment name is the same for any casing of its inputs", () => {
    const name = roleAssignmentName(scope, role, principal);
    assert.match(name, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(roleAssignmentName(scope.toUpperCase(), role.toUpperCase(), principal.toUpperCase()), name);
  });

  test("a role assignment name changes with each input", () => {
    const name = roleAssignmentName(scope, role, principal);
    assert.notEqual(roleAssignmentName(`${scope}x`, role, principal), name);
    assert.notEqual(roleAssignmentName(scope, "b24988ac-6180-42a0-ab88-20f7382dd24c", principal), name);
    assert.notEqual(roleAssignmentName(scope, role, "44444444-4444-4444-4444-444444444444"), name);
  });

  test("a role assignment name is pinned (changing it would orphan every assignment)", () => {
    assert.equal(
      roleAssignmentName(scope, role, principal),
      uuidV5(AZID_NAMESPACE, `${scope}|${role}|${principal}`.toLowerCase()),
    );
  });

  test("a custom role GUID depends on subscription, namespace and name", () => {
    const guid = customRoleGuid("11111111-1111-1111-1111-111111111111", "team-a", "reader");
    assert.equal(
      customRoleGuid("11111111-1111-1111-1111-111111111111".toUpperCase(), "team-a", "reader"),
      guid,
    );
    assert.notEqual(customRoleGuid("11111111-1111-1111-1111-111111111111", "team-b", "reader"), guid);
  });
});

describe("built-in roles", () => {
  test("well-known roles resolve by name, ignoring case, and by GUID", () => {
    assert.equal(builtinRoleByName("owner")?.guid, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
    assert.equal(builtinRoleByName("Reader")?.guid, "acdd72a7-3385-48ef-bd42-f606fba81ae7");
    assert.equal(
      builtinRoleByGuid("18D7D88D-D35E-4FB5-A5C3-7773C20A72D9")?.name,
      "User Access Administrator",
    );
    assert.equal(builtinRoles().length, 928);
  });

  test("the privileged flag covers the escalation roles and nothing harmless", () => {
    for (const name of [
      "Owner",
      "User Access Administrator",
      "Role Based Access Control Administrator",
      "Contributor",
      "Key Vault Data Access Administrator",
    ]) {
      assert.equal(builtinRoleByName(name)?.privileged, true, name);
    }
    for (const name of ["Reader", "Storage Blob Data Reader", "Managed Identity Operator", "AcrPull"]) {
      assert.equal(builtinRoleByName(name)?.privileged, false, name);
    }
  });

  test("action wildcards", () => {
    const write = "Microsoft.Authorization/roleAssignments/write";
    for (const pattern of [
      "*",
      "Microsoft.Authorization/*",
      "*/write",
      "microsoft.authorization/roleassignments/*",
      "Microsoft.*/roleAssignments/w*",
    ]) {
      assert.ok(actionMatches(pattern, write), pattern);
    }
    for (const pattern of ["*/read", "Microsoft.Authorization/roleDefinitions/*", "Microsoft.Compute/*"]) {
      assert.ok(!actionMatches(pattern, write), pattern);
    }
    assert.ok(isPrivileged([{ actions: ["Microsoft.Compute/*/read"] }, { actions: ["*/write"] }]));
    assert.ok(!isPrivileged([{ actions: ["*/read"], dataActions: ["*"] }]));
  });
});
