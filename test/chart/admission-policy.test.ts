import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { PRIVILEGED_VAULT_PERMISSIONS } from "../../src/api/schemas/key-vault.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { type AdmissionRequest, admit } from "./admission.js";
import { CHART_DIR, findObject, NAMESPACE, RELEASE, renderChart } from "./helm.js";

const SUBSCRIPTION = "8a3f1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const OTHER_SUBSCRIPTION = "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b";
const OPT_IN = { "azid.dev/allow-privileged-grants": "true" };
const GRAPH = "00000003-0000-0000-c000-000000000000";
const SCOPE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/apps`;

const policy = findObject(renderChart(), "ValidatingAdmissionPolicy");

function identity(spec: object, kind = "UserAssignedIdentity"): object {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind,
    metadata: { name: "app", namespace: "team-a" },
    spec: { subscriptionId: SUBSCRIPTION, resourceGroup: "apps", location: "westeurope", ...spec },
  };
}

function customRole(permissions: object[]): object {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "CustomRole",
    metadata: { name: "role", namespace: "team-a" },
    spec: { subscriptionId: SUBSCRIPTION, roleName: "app role", permissions, assignableScopes: [SCOPE] },
  };
}

function create(object: object, namespaceLabels: Record<string, string> = {}): AdmissionRequest {
  return { operation: "CREATE", object, namespaceLabels };
}

function assertDenied(request: AdmissionRequest, message: RegExp, where = "") {
  const result = admit(policy, request);
  assert.equal(result.allowed, false, `${where} should be denied`);
  assert.ok(
    result.messages.some((m) => message.test(m)),
    `${where}: ${result.messages.join(" | ")} !~ ${message}`,
  );
}

function assertAllowed(request: AdmissionRequest, where = "") {
  const result = admit(policy, request);
  assert.deepEqual(result.messages, [], where);
  assert.equal(result.allowed, true, where);
}

describe("privileged role grants", () => {
  const grant = (assignment: object) => identity({ roleAssignments: [{ scope: SCOPE, ...assignment }] });

  test("ordinary roles pass", () => {
    assertAllowed(create(grant({ role: "Reader" })));
    assertAllowed(create(grant({ role: "Storage Blob Data Reader" })));
    assertAllowed(
      create(grant({ roleDefinitionId: "acdd72a7-3385-48ef-bd42-f606fba81ae7" })),
      "Reader by id",
    );
  });

  test("Owner, User Access Administrator and RBAC Administrator are refused by name, in any case, and by id", () => {
    const cases: [object, string][] = [
      [{ role: "Owner" }, "Owner"],
      [{ role: "owner" }, "owner"],
      [{ role: "User Access Administrator" }, "User Access Administrator"],
      [{ role: "Role Based Access Control Administrator" }, "Role Based Access Control Administrator"],
      [{ roleDefinitionId: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9" }, "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"],
      [
        {
          roleDefinitionId: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635`,
        },
        "8E3AF657",
      ],
    ];
    for (const [assignment, named] of cases) {
      assertDenied(create(grant(assignment)), new RegExp(`roles that can grant roles \\(.*${named}`), named);
    }
  });

  test("other built-in roles that can write role assignments are refused too", () => {
    assertDenied(
      create(grant({ role: "Key Vault Data Access Administrator" })),
      /Key Vault Data Access Administrator/,
    );
  });

  test("the message names the opt-in label; a namespace carrying it may grant them", () => {
    assertDenied(
      create(grant({ role: "Owner" })),
      /namespaces labelled azid\.dev\/allow-privileged-grants=true/,
    );
    assertAllowed(create(grant({ role: "Owner" }), OPT_IN));
    assertDenied(
      create(grant({ role: "Owner" }), { "azid.dev/allow-privileged-grants": "false" }),
      /Owner/,
      "label with another value",
    );
  });

  test("applies to SystemAssignedIdentity as well", () => {
    const sai = {
      apiVersion: "azid.dev/v1alpha1",
      kind: "SystemAssignedIdentity",
      metadata: { name: "vm", namespace: "team-a" },
      spec: {
        resourceId: `${SCOPE}/providers/Microsoft.Compute/virtualMachines/vm1`,
        roleAssignments: [{ scope: SCOPE, role: "Owner" }],
      },
    };
    assertDenied(create(sai), /Owner/);
  });

  test("admissionPolicy.privilegedGrants adds role names and ids", () => {
    const custom = findObject(
      renderChart({
        admissionPolicy: {
          privilegedGrants: {
            extraRoleNames: ["Platform Escalator"],
            extraRoleDefinitionIds: ["0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"],
          },
        },
      }),
      "ValidatingAdmissionPolicy",
    );
    for (const assignment of [
      { role: "platform escalator" },
      { roleDefinitionId: "0B1C2D3E-4F50-4617-8293-A4B5C6D7E8F9" },
    ]) {
      const result = admit(custom, create(grant(assignment)));
      assert.equal(result.allowed, false, JSON.stringify(assignment));
    }
  });
});

describe("privileged Microsoft Graph app roles", () => {
  const withAppRoles = (graphAppRoles: object[]) => identity({ graphAppRoles });

  test("are refused by value and by id unless the namespace opted in", () => {
    assertDenied(
      create(withAppRoles([{ resourceAppId: GRAPH, appRole: "RoleManagement.ReadWrite.Directory" }])),
      /graphAppRoles name .*RoleManagement\.ReadWrite\.Directory/,
    );
    assertDenied(
      create(withAppRoles([{ resourceAppId: GRAPH, appRole: "06b708a9-e830-4db3-a914-8e69da51d44f" }])),
      /06b708a9/,
      "AppRoleAssignment.ReadWrite.All by id",
    );
    assertAllowed(
      create(withAppRoles([{ resourceAppId: GRAPH, appRole: "RoleManagement.ReadWrite.Directory" }]), OPT_IN),
    );
  });

  test("harmless Graph roles and other APIs' roles pass", () => {
    assertAllowed(create(withAppRoles([{ resourceAppId: GRAPH, appRole: "User.Read.All" }])));
    assertAllowed(
      create(
        withAppRoles([
          { resourceAppId: "11111111-2222-4333-8444-555555555555", appRole: "Directory.ReadWrite.All" },
        ]),
      ),
    );
  });
});

describe("privileged Key Vault access-policy permissions", () => {
  const VAULT = `${SCOPE}/providers/Microsoft.KeyVault/vaults/kv`;
  const withVault = (permissions: object) =>
    identity({ keyVaultAccessPolicies: [{ vaultId: VAULT, permissions }] });

  test("purge, backup, release and all are refused unless the namespace opted in", () => {
    for (const permissions of [
      { secrets: ["get", "purge"] },
      { keys: ["Release"] },
      { certificates: ["backup"] },
      { storage: ["getsas"] },
      { secrets: ["all"] },
    ]) {
      assertDenied(
        create(withVault(permissions)),
        /keyVaultAccessPolicies grant permissions that can destroy/,
        JSON.stringify(permissions),
      );
      assertAllowed(create(withVault(permissions), OPT_IN), JSON.stringify(permissions));
    }
  });

  test("ordinary permissions pass", () => {
    assertAllowed(create(withVault({ secrets: ["get", "list"], keys: ["wrapKey", "unwrapKey", "get"] })));
  });

  test("the chart's list is the controller's, plus all", () => {
    const file = parseYaml(
      readFileSync(join(CHART_DIR, "files", "privileged-vault-permissions.yaml"), "utf8"),
    );
    for (const [kind, list] of Object.entries(PRIVILEGED_VAULT_PERMISSIONS)) {
      assert.deepEqual(file[kind], ["all", ...list], kind);
    }
  });
});

describe("custom roles that can grant roles", () => {
  test("wildcards and explicit roleAssignments/write are refused, in any case", () => {
    for (const actions of [
      ["*"],
      ["Microsoft.Authorization/*"],
      ["Microsoft.Authorization/*/write"],
      ["microsoft.authorization/roleAssignments/write"],
      ["Microsoft.Compute/*/read", "Microsoft.Authorization/role*"],
    ]) {
      assertDenied(
        create(customRole([{ actions }])),
        /CustomRole whose actions include Microsoft\.Authorization\/roleAssignments\/write/,
        actions.join(","),
      );
    }
  });

  test("a notAction that takes roleAssignments/write back makes the role harmless (Contributor's shape)", () => {
    assertAllowed(create(customRole([{ actions: ["*"], notActions: ["Microsoft.Authorization/*/Write"] }])));
    assertDenied(
      create(
        customRole([{ actions: ["Microsoft.Authorization/roleAssignments/*"], notActions: ["*/delete"] }]),
      ),
      /CustomRole/,
    );
  });

  test("ordinary custom roles pass, and an opted-in namespace may define a granting one", () => {
    assertAllowed(
      create(
        customRole([
          { actions: ["Microsoft.Compute/virtualMachines/*/read", "Microsoft.Web/sites/restart/action"] },
        ]),
      ),
    );
    assertAllowed(create(customRole([{ actions: ["*"] }]), OPT_IN));
  });
});

describe("spec.subscriptionId", () => {
  const before = identity({});
  const moved = identity({ subscriptionId: OTHER_SUBSCRIPTION });

  test("cannot change on update; other spec changes pass", () => {
    assertDenied(
      { operation: "UPDATE", object: moved, oldObject: before, namespaceLabels: {} },
      /subscriptionId cannot change/,
    );
    assertAllowed({
      operation: "UPDATE",
      object: identity({ tags: { team: "a" } }),
      oldObject: before,
      namespaceLabels: {},
    });
  });

  test("holds for the cluster-scoped TenantMigration", () => {
    const migration = (subscriptionId: string) => ({
      apiVersion: "azid.dev/v1alpha1",
      kind: "TenantMigration",
      metadata: { name: "move" },
      spec: { subscriptionId, mode: "Plan" },
    });
    assertAllowed({ operation: "CREATE", object: migration(SUBSCRIPTION) });
    assertDenied(
      { operation: "UPDATE", object: migration(OTHER_SUBSCRIPTION), oldObject: migration(SUBSCRIPTION) },
      /subscriptionId cannot change/,
    );
  });
});

describe("what the policy leaves alone", () => {
  const owner = identity({ roleAssignments: [{ scope: SCOPE, role: "Owner" }] });

  test("the controller's own writes (finalizers), so that deletions always finish", () => {
    const result = admit(policy, {
      operation: "UPDATE",
      object: { ...owner, metadata: { name: "app", namespace: "team-a", finalizers: [] } },
      oldObject: owner,
      namespaceLabels: {},
      username: `system:serviceaccount:${NAMESPACE}:${RELEASE}`,
    });
    assert.equal(result.evaluated, false);
  });

  test("updates that leave the spec as it was (labels, annotations) of objects admitted earlier", () => {
    const relabelled = { ...owner, metadata: { name: "app", namespace: "team-a", labels: { team: "a" } } };
    const result = admit(policy, {
      operation: "UPDATE",
      object: relabelled,
      oldObject: owner,
      namespaceLabels: {},
    });
    assert.equal(result.evaluated, false);
    assertDenied(
      {
        operation: "UPDATE",
        object: identity({ roleAssignments: [{ scope: SCOPE, role: "Owner" }], tags: { x: "y" } }),
        oldObject: owner,
        namespaceLabels: {},
      },
      /Owner/,
      "a spec change re-checks the whole spec",
    );
  });

  test("matches CREATE and UPDATE of the kinds it guards, with the configured actions", () => {
    const rule = policy.spec.matchConstraints.resourceRules[0];
    assert.deepEqual(rule.operations, ["CREATE", "UPDATE"]);
    assert.deepEqual(rule.apiGroups, ["azid.dev"]);
    const binding = findObject(renderChart(), "ValidatingAdmissionPolicyBinding");
    assert.equal(binding.spec.policyName, policy.metadata.name);
    assert.deepEqual(binding.spec.validationActions, ["Deny"]);
    assert.equal(policy.spec.failurePolicy, "Fail");
    const trial = renderChart({ admissionPolicy: { validationActions: ["Warn", "Audit"] } });
    assert.deepEqual(findObject(trial, "ValidatingAdmissionPolicyBinding").spec.validationActions, [
      "Warn",
      "Audit",
    ]);
  });
});

describe("the privileged lists the policy uses", () => {
  const readJson = (path: string) => JSON.parse(readFileSync(join(PACKAGE_ROOT, path), "utf8"));

  test("files/privileged-roles.yaml holds exactly the built-in roles that can write role assignments", () => {
    const target = "microsoft.authorization/roleassignments/write";
    const matches = (pattern: string) =>
      new RegExp(
        `^${pattern
          .toLowerCase()
          .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, ".*")}$`,
      ).test(target);
    const roles: {
      name: string;
      properties: { roleName: string; permissions: { actions?: string[]; notActions?: string[] }[] };
    }[] = readJson("spec/azure-api/authorization/builtin-roles.json");
    const expected = roles
      .filter((role) =>
        role.properties.permissions.some(
          (p) => (p.actions ?? []).some(matches) && !(p.notActions ?? []).some(matches),
        ),
      )
      .map((role) => ({ name: role.properties.roleName, id: role.name }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const file = parseYaml(readFileSync(join(CHART_DIR, "files", "privileged-roles.yaml"), "utf8"));
    assert.deepEqual(file.roles, expected);
    for (const name of ["Owner", "User Access Administrator", "Role Based Access Control Administrator"]) {
      assert.ok(
        expected.some((role) => role.name === name),
        name,
      );
    }
  });

  test("files/privileged-graph-app-roles.yaml pairs each value with its id in Microsoft Graph", () => {
    const graph: { appRoles: { id: string; value: string }[] } = readJson(
      "spec/azure-api/graph/microsoft-graph-serviceprincipal.json",
    );
    const file = parseYaml(readFileSync(join(CHART_DIR, "files", "privileged-graph-app-roles.yaml"), "utf8"));
    assert.ok(file.appRoles.length >= 10);
    for (const { value, id } of file.appRoles) {
      assert.equal(graph.appRoles.find((role) => role.value === value)?.id, id, value);
    }
  });
});

describe("the fields the policy reads", () => {
  const crdDir = join(PACKAGE_ROOT, "crds");
  const crds = existsSync(crdDir)
    ? readdirSync(crdDir)
        .filter((name) => name.endsWith(".yaml"))
        .map((name) => parseYaml(readFileSync(join(crdDir, name), "utf8")))
    : [];
  const fields: [string, string][] = [
    ["UserAssignedIdentity", "spec.subscriptionId"],
    ["UserAssignedIdentity", "spec.roleAssignments[].role"],
    ["UserAssignedIdentity", "spec.roleAssignments[].roleDefinitionId"],
    ["UserAssignedIdentity", "spec.graphAppRoles[].resourceAppId"],
    ["UserAssignedIdentity", "spec.graphAppRoles[].appRole"],
    ["SystemAssignedIdentity", "spec.roleAssignments[].role"],
    ["SystemAssignedIdentity", "spec.roleAssignments[].roleDefinitionId"],
    ["SystemAssignedIdentity", "spec.graphAppRoles[].appRole"],
    ["UserAssignedIdentity", "spec.keyVaultAccessPolicies[].vaultId"],
    ["UserAssignedIdentity", "spec.keyVaultAccessPolicies[].permissions.keys"],
    ["UserAssignedIdentity", "spec.keyVaultAccessPolicies[].permissions.secrets"],
    ["UserAssignedIdentity", "spec.keyVaultAccessPolicies[].permissions.certificates"],
    ["UserAssignedIdentity", "spec.keyVaultAccessPolicies[].permissions.storage"],
    ["SystemAssignedIdentity", "spec.keyVaultAccessPolicies[].permissions.secrets"],
    ["CustomRole", "spec.subscriptionId"],
    ["CustomRole", "spec.permissions[].actions"],
    ["CustomRole", "spec.permissions[].notActions"],
    ["TenantMigration", "spec.subscriptionId"],
  ];

  test("exist in the CRDs of crds/", (t) => {
    if (crds.length === 0) {
      t.skip("crds/ holds no CRD yet");
      return;
    }
    for (const [kind, path] of fields) {
      const crd = crds.find((c) => c.spec.names.kind === kind);
      assert.ok(crd, `crds/ has no ${kind}`);
      const policyKinds = policy.spec.matchConstraints.resourceRules[0].resources;
      assert.ok(policyKinds.includes(crd.spec.names.plural), `the policy matches ${crd.spec.names.plural}`);
      let node = crd.spec.versions.find((v: { storage: boolean }) => v.storage).schema.openAPIV3Schema;
      for (const segment of path.split(".")) {
        const [name, list] = segment.endsWith("[]") ? [segment.slice(0, -2), true] : [segment, false];
        node = node.properties?.[name];
        assert.ok(node, `${kind} has no ${path}`);
        if (list) node = node.items;
      }
    }
  });
});

describe("federated credentials that trust the cluster's issuer", () => {
  const ISSUER = "https://oidc.cluster.example.com";
  const withIssuer = findObject(renderChart({ serviceAccountIssuer: ISSUER }), "ValidatingAdmissionPolicy");
  const credential = (issuer: string, subject: string) =>
    identity({ federatedCredentials: [{ name: "trust", issuer, subject }] });
  const admitWith = (object: object) => admit(withIssuer, create(object));

  test("another namespace's ServiceAccount, or a subject the issuer never issues, is refused", () => {
    for (const [issuer, subject] of [
      [ISSUER, "system:serviceaccount:kube-system:admin"],
      [`${ISSUER}/`, "system:serviceaccount:team-b:app"],
      [ISSUER, "system:serviceaccount:team-a"],
      [ISSUER, "repo:org/app:ref:refs/heads/main"],
    ] as const) {
      const result = admitWith(credential(issuer, subject));
      assert.equal(result.allowed, false, `${issuer} ${subject}`);
      assert.match(
        result.messages.join(" "),
        new RegExp(
          `trust the cluster service-account issuer for ${subject}: only ServiceAccounts of this namespace`,
        ),
      );
    }
  });

  test("the own namespace's ServiceAccounts and other issuers pass (the IdentityPolicy judges those)", () => {
    for (const [issuer, subject] of [
      [ISSUER, "system:serviceaccount:team-a:app"],
      ["https://token.actions.githubusercontent.com", "system:serviceaccount:team-b:app"],
    ] as const) {
      const result = admitWith(credential(issuer, subject));
      assert.deepEqual(result.messages, [], `${issuer} ${subject}`);
    }
  });

  test("without serviceAccountIssuer the chart cannot tell, and leaves it to the controller", () => {
    assertAllowed(create(credential(ISSUER, "system:serviceaccount:kube-system:admin")));
  });
});
