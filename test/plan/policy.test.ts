// The escalation matrix: what a namespace may and may not do with azid's Azure credential.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RoleAssignmentSpec } from "../../src/api/schemas/common.js";
import type { IdentityPolicy, IdentityPolicySpec } from "../../src/api/schemas/identity-policy.js";
import {
  evaluatePolicy,
  type PolicyContext,
  scopeRuleMatches,
  selectsNamespace,
} from "../../src/plan/policy.js";
import { customRole, sai, uai } from "./support/resources.js";
import { GRAPH_APP_ID, RG, SUB, vmId } from "./support/world.js";

const OTHER_SUB = "22222222-2222-2222-2222-222222222222";
const STORAGE = `${RG}/providers/Microsoft.Storage/storageAccounts/orders`;
const VAULT = `${RG}/providers/Microsoft.KeyVault/vaults/prod`;
const OWNER_GUID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

const policy = (name: string, spec: IdentityPolicySpec): IdentityPolicy => ({
  apiVersion: "azid.dev/v1alpha1",
  kind: "IdentityPolicy",
  metadata: { name },
  spec,
});

const TEAM_A = policy("team-a", {
  namespaceSelector: { matchLabels: { team: "a" } },
  subscriptions: [{ subscriptionId: SUB, resourceGroups: ["app-rg"] }],
  roles: [
    {
      roles: ["Reader", "Storage Blob Data Reader", "Orders Reader", "Orders Admin"],
      scopes: [{ scope: RG, match: "Under" }],
    },
    { roles: ["*"], scopes: [{ scope: STORAGE, match: "Exact" }] },
  ],
  attachTargets: [{ scope: RG, match: "Under" }],
  graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRoles: ["User.Read.All"] }],
  allowCustomRoles: true,
  deny: [
    { description: "never the production vault", scopes: [{ scope: VAULT, match: "Under" }] },
    { description: "no attaching to the jump box", attachTargets: [{ scope: vmId("jump"), match: "Exact" }] },
  ],
});
const PLATFORM = policy("platform", {
  namespaceSelector: { matchExpressions: [{ key: "team", operator: "In", values: ["platform"] }] },
  subscriptions: [{ subscriptionId: SUB }],
  roles: [
    { roles: ["Contributor"], scopes: [{ scope: `/subscriptions/${SUB}`, match: "ResourceGroupOnly" }] },
  ],
  privilegedRoles: ["Contributor"],
  tenantMoveRemediation: "Auto",
});
const GLOBAL_DENY = policy("global", {
  namespaceSelector: {},
  deny: [{ description: "blob data is off limits", roles: ["Storage Blob Data Reader"] }],
});

const WILDCARD = customRole({ roleName: "Orders Admin", permissions: [{ actions: ["*"] }] }, "orders-admin");
const AUTHZ = customRole(
  { roleName: "Sneaky", permissions: [{ actions: ["Microsoft.Authorization/*/write"] }] },
  "sneaky",
);
const FINE = customRole();

function contextFor(team: string, policies = [TEAM_A, PLATFORM, GLOBAL_DENY]): PolicyContext {
  return {
    namespaceLabels: { team },
    policies,
    customRoles: [FINE, WILDCARD, AUTHZ],
    appRoles: { [GRAPH_APP_ID]: [{ id: "df021288-bdef-4463-88db-98f22de89214", value: "User.Read.All" }] },
  };
}

const grant = (assignment: RoleAssignmentSpec, team = "a") =>
  evaluatePolicy(uai({ roleAssignments: [assignment] }), contextFor(team));

describe("IdentityPolicy: role assignments", () => {
  const allowed: Array<[string, RoleAssignmentSpec]> = [
    ["Reader on the team's resource group", { role: "Reader", scope: RG }],
    ["Reader on a resource inside it", { role: "reader", scope: STORAGE }],
    ["a non-privileged role through a wildcard at an exact scope", { role: "AcrPull", scope: STORAGE }],
    ["a declared custom role without escalation", { customRoleRef: { name: "orders-reader" }, scope: RG }],
    ["the same custom role by name", { role: "Orders Reader", scope: RG }],
    // It grants nothing until it exists, and is judged then: the grant waits with CustomRoleNotFound.
    [
      "a customRoleRef to a CustomRole that does not exist yet",
      { customRoleRef: { name: "ghost" }, scope: RG },
    ],
  ];
  for (const [name, assignment] of allowed) {
    test(`allows ${name}`, () => {
      const decision = grant(assignment);
      assert.deepEqual(decision.violations, []);
      assert.equal(decision.allowed, true);
    });
  }

  const refused: Array<[string, RoleAssignmentSpec, RegExp, string?]> = [
    ["Owner", { role: "Owner", scope: RG }, /privileged role/],
    ["User Access Administrator", { role: "User Access Administrator", scope: RG }, /privileged role/],
    [
      "Role Based Access Control Administrator",
      { role: "Role Based Access Control Administrator", scope: RG },
      /privileged role/,
    ],
    ["Contributor (its actions are *)", { role: "Contributor", scope: RG }, /privileged role/],
    ["Owner through a wildcard allow", { role: "Owner", scope: STORAGE }, /privileged role/],
    [
      "Owner by definition id",
      { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${OWNER_GUID}`, scope: RG },
      /privileged role/,
    ],
    [
      "a custom role with actions *",
      { customRoleRef: { name: "orders-admin" }, scope: RG },
      /privileged role/,
    ],
    [
      "a custom role covering roleAssignments/write by wildcard",
      { customRoleRef: { name: "sneaky" }, scope: RG },
      /privileged role/,
    ],
    [
      "a role of unknown permissions by id",
      { roleDefinitionId: "12345678-1234-4234-8234-123456789012", scope: RG },
      /permissions are unknown/,
    ],
    ["a custom role not declared here", { role: "Somebody's Role", scope: RG }, /permissions are unknown/],
    [
      "a typo of a built-in role, as a typo (not as a privileged role to allow)",
      { role: "Storage Blob Data Raeder", scope: RG },
      /^unknown role: Storage Blob Data Raeder is not a built-in role nor a CustomRole of this namespace \(did you mean "Storage Blob Data Reader"\?\)$/,
    ],
    ["Reader on the whole subscription", { role: "Reader", scope: `/subscriptions/${SUB}` }, /default deny/],
    [
      "Reader on another resource group",
      { role: "Reader", scope: `/subscriptions/${SUB}/resourceGroups/prod` },
      /default deny/,
    ],
    [
      "Reader on a group whose name extends the allowed one",
      { role: "Reader", scope: `${RG}2` },
      /default deny/,
    ],
    [
      "Reader in another subscription",
      { role: "Reader", scope: `/subscriptions/${OTHER_SUB}/resourceGroups/app-rg` },
      /default deny/,
    ],
    [
      "Reader at a management group",
      { role: "Reader", scope: "/providers/Microsoft.Management/managementGroups/root" },
      /default deny/,
    ],
    [
      "Reader on the denied vault",
      { role: "Reader", scope: `${VAULT}/secrets/x` },
      /deny\[0\]/,
      "IdentityPolicy/team-a deny[0]",
    ],
    [
      "a role another policy denies",
      { role: "Storage Blob Data Reader", scope: RG },
      /global/,
      "IdentityPolicy/global deny[0]",
    ],
    ["a crafted scope climbing out with ..", { role: "Reader", scope: `${RG}/../prod` }, /default deny/],
    [
      "a crafted scope with an encoded ..",
      { role: "Reader", scope: `${RG}/providers/Microsoft.Storage/storageAccounts/%2e%2e` },
      /default deny/,
    ],
  ];
  for (const [name, assignment, pattern, rule] of refused) {
    test(`refuses ${name}`, () => {
      const decision = grant(assignment);
      assert.equal(decision.allowed, false);
      const violation = decision.violations[0];
      assert.equal(violation?.field, "spec.roleAssignments[0]");
      assert.deepEqual(violation?.item, { list: "roleAssignments", index: 0 });
      assert.match(`${violation?.rule}: ${violation?.message}`, pattern);
      if (rule) assert.equal(violation?.rule, rule);
    });
  }

  test("a privileged role named in privilegedRoles is allowed only where a role rule allows it", () => {
    const ok = grant(
      { role: "Contributor", scope: `/subscriptions/${SUB}/resourceGroups/app-rg` },
      "platform",
    );
    assert.deepEqual(ok.violations, []);
    const atSubscription = grant({ role: "Contributor", scope: `/subscriptions/${SUB}` }, "platform");
    assert.match(atSubscription.violations[0]?.message ?? "", /no IdentityPolicy .* allows Contributor/);
    const owner = grant({ role: "Owner", scope: RG }, "platform");
    assert.equal(owner.violations[0]?.rule, "privileged role");
  });

  test("a wildcard never grants a privileged role, even one named in privilegedRoles", () => {
    const loose = policy("loose", {
      namespaceSelector: {},
      roles: [{ roles: ["*"], scopes: [{ scope: RG, match: "Under" }] }],
      privilegedRoles: ["Owner"],
    });
    const context = { ...contextFor("a", [TEAM_A, loose]) };
    const owner = evaluatePolicy(uai({ roleAssignments: [{ role: "Owner", scope: RG }] }), context);
    assert.equal(owner.violations[0]?.rule, "default deny");
    const reader = evaluatePolicy(
      uai({ roleAssignments: [{ role: "Monitoring Reader", scope: RG }] }),
      context,
    );
    assert.deepEqual(reader.violations, [], "the union of allows: another policy's wildcard counts");
  });
});

describe("IdentityPolicy: where identities live, attachments, Graph", () => {
  test("a namespace no policy selects may do nothing", () => {
    const decision = evaluatePolicy(uai(), contextFor("nobody", [TEAM_A]));
    assert.equal(decision.allowed, false);
    assert.equal(decision.violations[0]?.rule, "default deny");
    assert.match(decision.violations[0]?.message ?? "", /no IdentityPolicy selects namespace team-a/);
  });

  test("identities only in allowed resource groups", () => {
    assert.equal(evaluatePolicy(uai(), contextFor("a")).allowed, true);
    const elsewhere = evaluatePolicy(uai({ resourceGroup: "prod" }), contextFor("a"));
    assert.equal(elsewhere.violations[0]?.field, "spec.resourceGroup");
    assert.equal(elsewhere.violations[0]?.item, undefined, "a resource-level refusal");
    const otherSubscription = evaluatePolicy(uai({ subscriptionId: OTHER_SUB }), contextFor("a"));
    assert.equal(otherSubscription.allowed, false);
  });

  test("attachments only to allowed resources; explicit denies win", () => {
    assert.equal(evaluatePolicy(uai({ attachTo: [vmId("vm-1")] }), contextFor("a")).allowed, true);
    const outside = evaluatePolicy(
      uai({
        attachTo: [
          `/subscriptions/${SUB}/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/db`,
        ],
      }),
      contextFor("a"),
    );
    assert.deepEqual(outside.violations[0]?.item, { list: "attachTo", index: 0 });
    const jump = evaluatePolicy(uai({ attachTo: [vmId("jump")] }), contextFor("a"));
    assert.equal(jump.violations[0]?.rule, "IdentityPolicy/team-a deny[1]");
    assert.match(jump.violations[0]?.message ?? "", /jump box/);
  });

  test("a system-assigned identity only on allowed resources", () => {
    assert.equal(evaluatePolicy(sai(), contextFor("a")).allowed, true);
    const outside = evaluatePolicy(
      sai({
        resourceId: `/subscriptions/${OTHER_SUB}/resourceGroups/x/providers/Microsoft.Compute/virtualMachines/y`,
      }),
      contextFor("a"),
    );
    assert.equal(outside.violations[0]?.field, "spec.resourceId");
  });

  test("Graph app roles only when named, by value or by id", () => {
    const ok = (appRole: string) =>
      evaluatePolicy(uai({ graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRole }] }), contextFor("a"))
        .allowed;
    assert.equal(ok("User.Read.All"), true);
    assert.equal(ok("df021288-bdef-4463-88db-98f22de89214"), true);
    assert.equal(ok("AppRoleAssignment.ReadWrite.All"), false);
    assert.equal(ok("RoleManagement.ReadWrite.Directory"), false);
  });

  test("CustomRoles only where policies allow them, assignable only in allowed groups", () => {
    assert.equal(evaluatePolicy(customRole({ assignableScopes: [RG] }), contextFor("a")).allowed, true);
    const subscriptionWide = evaluatePolicy(customRole(), contextFor("a"));
    assert.equal(subscriptionWide.violations[0]?.field, "spec.assignableScopes[0]");
    const notAllowed = evaluatePolicy(customRole({ assignableScopes: [RG] }), contextFor("platform"));
    assert.match(notAllowed.violations[0]?.message ?? "", /CustomRoles/);
  });

  test("tenant move remediation is Auto when a selecting policy says so", () => {
    assert.equal(evaluatePolicy(uai(), contextFor("platform")).tenantMoveRemediation, "Auto");
    assert.equal(evaluatePolicy(uai(), contextFor("a")).tenantMoveRemediation, "Manual");
  });
});

describe("selectors and scope rules", () => {
  test("label selectors as Kubernetes evaluates them", () => {
    const labels = { team: "a", env: "prod" };
    assert.ok(selectsNamespace({}, labels));
    assert.ok(selectsNamespace({ matchLabels: { team: "a" } }, labels));
    assert.ok(!selectsNamespace({ matchLabels: { team: "b" } }, labels));
    assert.ok(
      selectsNamespace(
        { matchExpressions: [{ key: "env", operator: "In", values: ["prod", "dev"] }] },
        labels,
      ),
    );
    assert.ok(
      !selectsNamespace({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, labels),
    );
    assert.ok(selectsNamespace({ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }, labels));
    assert.ok(!selectsNamespace({ matchExpressions: [{ key: "x", operator: "Exists" }] }, labels));
  });

  test("scope rules", () => {
    const sub = `/subscriptions/${SUB}`;
    assert.ok(scopeRuleMatches({ scope: RG, match: "Exact" }, RG.toLowerCase()));
    assert.ok(!scopeRuleMatches({ scope: RG, match: "Exact" }, STORAGE));
    assert.ok(scopeRuleMatches({ scope: RG, match: "Under" }, STORAGE));
    assert.ok(!scopeRuleMatches({ scope: RG, match: "Under" }, `${RG}x`));
    assert.ok(scopeRuleMatches({ scope: sub, match: "ResourceGroupOnly" }, RG));
    assert.ok(scopeRuleMatches({ scope: sub, match: "ResourceGroupOnly" }, STORAGE));
    assert.ok(!scopeRuleMatches({ scope: sub, match: "ResourceGroupOnly" }, sub));
    assert.ok(
      !scopeRuleMatches({ scope: sub, match: "ResourceGroupOnly" }, `${sub}/providers/Microsoft.Foo/bars/x`),
    );
  });
});
