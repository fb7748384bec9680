// The exact-state comparison `azid demo` (and the tenant-move tests) judge the end state with:
// every kind of difference is found, and an exact estate has none.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CustomRole } from "../../src/api/schemas/custom-role.js";
import type { SystemAssignedIdentity } from "../../src/api/schemas/system-assigned-identity.js";
import type { UserAssignedIdentity } from "../../src/api/schemas/user-assigned-identity.js";
import { type Declared, differences, type Estate } from "../../src/cli/demo/exact-state.js";
import { customRoleDefinitionGuid } from "../../src/plan/roles.js";

const SUB = "11111111-1111-4111-8111-111111111111";
const TENANT = "22222222-2222-4222-8222-222222222222";
const RG = `/subscriptions/${SUB}/resourceGroups/app-rg`;
const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/vm-1`;
const ID = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app`;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214";
const APP_PRINCIPAL = "aaaaaaaa-0000-4000-8000-000000000001";
const VM_PRINCIPAL = "aaaaaaaa-0000-4000-8000-000000000002";

const role: CustomRole = {
  apiVersion: "azid.dev/v1alpha1",
  kind: "CustomRole",
  metadata: { name: "reader", namespace: "team" },
  spec: {
    subscriptionId: SUB,
    roleName: "Team Reader",
    permissions: [{ actions: ["Microsoft.Storage/*/read"] }],
    assignableScopes: [RG],
  },
};
const ROLE_GUID = customRoleDefinitionGuid(role);

function declared(): Declared {
  const app: UserAssignedIdentity = {
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: { name: "app", namespace: "team" },
    spec: {
      subscriptionId: SUB,
      resourceGroup: "app-rg",
      location: "westeurope",
      roleAssignments: [
        { role: "Reader", scope: RG },
        { customRoleRef: { name: "reader" }, scope: RG },
      ],
      federatedCredentials: [{ name: "aks", issuer: "https://issuer.example", subject: "sa" }],
      attachTo: [VM],
      graphAppRoles: [{ appRole: "User.Read.All" }],
    },
    status: {
      principalId: APP_PRINCIPAL,
      clientId: "c1",
      tenantId: TENANT,
      graphAppRoles: [
        {
          resourceAppId: "00000003-0000-0000-c000-000000000000",
          appRole: "User.Read.All",
          appRoleId: USER_READ_ALL,
          state: "Ready",
          owned: true,
        },
      ],
    },
  } as UserAssignedIdentity;
  const vm: SystemAssignedIdentity = {
    apiVersion: "azid.dev/v1alpha1",
    kind: "SystemAssignedIdentity",
    metadata: { name: "vm-1", namespace: "team" },
    spec: { resourceId: VM, roleAssignments: [{ role: "Reader", scope: RG }] },
    status: { principalId: VM_PRINCIPAL, tenantId: TENANT },
  } as SystemAssignedIdentity;
  return { userAssigned: [app], systemAssigned: [vm], customRoles: [role] };
}

const assignment = (principalId: string, guid: string, name: string) => ({
  id: `${RG}/providers/Microsoft.Authorization/roleAssignments/${name}`,
  name,
  scope: RG,
  roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
  principalId,
});

function exact(): Estate {
  return {
    tenantId: TENANT,
    identities: [
      {
        id: ID.replace("resourceGroups", "resourcegroups"),
        name: "app",
        location: "westeurope",
        tags: {},
        principalId: APP_PRINCIPAL,
        clientId: "c1",
        tenantId: TENANT,
      },
    ],
    credentials: {
      [ID.toLowerCase()]: [
        {
          name: "aks",
          issuer: "https://issuer.example",
          subject: "sa",
          audiences: ["api://AzureADTokenExchange"],
        },
      ],
    },
    resources: [
      {
        id: VM,
        identity: {
          type: "SystemAssigned, UserAssigned",
          principalId: VM_PRINCIPAL,
          tenantId: TENANT,
          userAssignedIdentities: { [ID]: { principalId: APP_PRINCIPAL, clientId: "c1" } },
        },
      },
    ],
    roleAssignments: [
      assignment(APP_PRINCIPAL, READER, "a1"),
      assignment(APP_PRINCIPAL, ROLE_GUID, "a2"),
      assignment(VM_PRINCIPAL, READER, "a3"),
    ],
    customRoles: [
      {
        id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_GUID}`,
        name: ROLE_GUID,
        roleName: "Team Reader",
        type: "CustomRole",
        permissions: [{ actions: ["Microsoft.Storage/*/read"] }],
        assignableScopes: [RG],
      },
    ],
    appRoleAssignments: {
      [APP_PRINCIPAL]: [
        { id: "x", principalId: APP_PRINCIPAL, resourceId: "graph", appRoleId: USER_READ_ALL },
      ],
    },
  };
}

describe("exact-state differences", () => {
  test("an estate exactly as declared has none", () => {
    assert.deepEqual(differences(declared(), exact()), []);
  });

  const cases: Array<[string, (estate: Estate, declared: Declared) => void, RegExp]> = [
    [
      "an identity nobody declared",
      (e) =>
        e.identities.push({ ...(e.identities[0] as Estate["identities"][0]), id: `${ID}-2`, name: "app-2" }),
      /app-2 is in Azure but not declared/,
    ],
    ["a missing identity", (e) => e.identities.pop(), /0 identities at/],
    [
      "an identity of the old tenant",
      (e) => Object.assign(e.identities[0] as object, { tenantId: "old" }),
      /in tenant old/,
    ],
    [
      "an identity whose principal is not the status's",
      (e) => Object.assign(e.identities[0] as object, { principalId: "other" }),
      /Azure's principal other/,
    ],
    [
      "a lost federated credential",
      (e) => e.credentials[ID.toLowerCase()]?.pop(),
      /federated credential missing/,
    ],
    [
      "a detached identity",
      (e) => Object.assign(e.resources[0]?.identity ?? {}, { userAssignedIdentities: {} }),
      /user-assigned identity missing/,
    ],
    [
      "an attachment that still carries the old principal",
      (e) =>
        Object.assign(e.resources[0]?.identity ?? {}, {
          userAssignedIdentities: { [ID]: { principalId: "old-principal" } },
        }),
      /attached with principal old-principal/,
    ],
    [
      "a system-assigned identity turned off",
      (e) => Object.assign(e.resources[0]?.identity ?? {}, { type: "UserAssigned", principalId: undefined }),
      /system-assigned identity is off/,
    ],
    [
      "a system-assigned identity nobody declared",
      (_e, d) => (d.systemAssigned as SystemAssignedIdentity[]).pop(),
      /none is declared/,
    ],
    ["a lost role assignment", (e) => e.roleAssignments.pop(), /role assignment missing/],
    [
      "a grant left to an old principal",
      (e) => e.roleAssignments.push(assignment("old-principal", READER, "a4")),
      /role assignment not declared: old-principal/,
    ],
    [
      "the same grant twice",
      (e) => e.roleAssignments.push(assignment(VM_PRINCIPAL, READER, "a5")),
      /role assignment not declared: .*a/,
    ],
    ["a lost custom role", (e) => e.customRoles.pop(), /custom role missing/],
    ["a lost Graph app role", (e) => e.appRoleAssignments[APP_PRINCIPAL]?.pop(), /Graph app role missing/],
    [
      "a status without its principal",
      (_e, d) => Object.assign(d.userAssigned[0]?.status ?? {}, { principalId: undefined }),
      /no principal id in status/,
    ],
  ];
  for (const [name, change, expected] of cases) {
    test(`finds ${name}`, () => {
      const estate = exact();
      const wanted = declared();
      change(estate, wanted);
      const found = differences(wanted, estate);
      assert.ok(
        found.some((line) => expected.test(line)),
        found.join("\n") || "no difference found",
      );
    });
  }
});
