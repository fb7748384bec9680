// Replays every example of spec/azure-api/**/examples against the emulator: the same status codes,
// and bodies valid against the operation's schema (ids, GUIDs and timestamps may differ).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ArmFixture, openApiValidator, startArmFixture } from "../../../test/support/arm.js";
import { exampleFiles, type Operation, readSpecFile } from "../../../test/support/openapi.js";

interface Example {
  parameters: Record<string, unknown>;
  responses: Record<string, { body?: unknown }>;
}

const PRINCIPAL = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
const CUSTOM_ROLE = "0b5fe924-9a61-425c-96af-cfe6e287ca2d";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What an example needs to exist before it runs, and the parameter values it runs with. */
interface Plan {
  substitutions: Record<string, string>;
  setup: (f: ArmFixture, sub: string) => Promise<void>;
  /** Statuses in the order to produce them (create before update, delete before already-deleted). */
  order: string[];
  /** Statuses the document lists that the emulator never answers, each with the reason. */
  unproduced?: Record<string, string>;
  /** Query parameters beside api-version and $top. */
  query?: Record<string, string>;
}

async function ok(promise: Promise<{ status: number; text: string }>, what: string): Promise<void> {
  const result = await promise;
  assert.ok(result.status < 300, `${what}: ${result.status} ${result.text}`);
}

const group = (f: ArmFixture, sub: string, name: string) =>
  ok(
    f.request("PUT", `/subscriptions/${sub}/resourcegroups/${name}?api-version=2025-04-01`, {
      body: { location: "eastus" },
    }),
    `group ${name}`,
  );
const identity = (f: ArmFixture, sub: string, rg: string, name: string) =>
  ok(
    f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=2024-11-30`,
      {
        body: { location: "eastus" },
      },
    ),
    `identity ${name}`,
  );
const fic = (f: ArmFixture, sub: string, rg: string, id: string, name: string) =>
  ok(
    f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${id}/federatedIdentityCredentials/${name}?api-version=2024-11-30`,
      {
        body: {
          properties: {
            issuer: "https://issuer.example.com",
            subject: "system:serviceaccount:a:b",
            audiences: ["api://AzureADTokenExchange"],
          },
        },
      },
    ),
    `credential ${name}`,
  );
const customRole = (f: ArmFixture, sub: string) =>
  ok(
    f.request(
      "PUT",
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${CUSTOM_ROLE}?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleName: "Example role",
            description: "Role description",
            permissions: [{ actions: ["*/read"], notActions: [] }],
            assignableScopes: [`/subscriptions/${sub}`],
          },
        },
      },
    ),
    "custom role",
  );
const assignment = (f: ArmFixture, scope: string, name: string) =>
  ok(
    f.request(
      "PUT",
      `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${CUSTOM_ROLE}`,
            principalId: PRINCIPAL,
            principalType: "User",
          },
        },
      },
    ),
    `assignment ${name}`,
  );
const docdb = (f: ArmFixture, sub: string) =>
  ok(
    f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/testrg/providers/Microsoft.DocumentDb/databaseAccounts/test-db-account?api-version=2024-11-15`,
      {
        body: { location: "eastus" },
      },
    ),
    "database account",
  );

/** For role assignment examples: their principal, their (custom) role and their group. */
async function authorizationBasics(f: ArmFixture, sub: string): Promise<void> {
  await f.admin("PUT", `tenants/${f.arm.tenantId}/principals/${PRINCIPAL}`, {
    kind: "User",
    displayName: "example user",
  });
  await customRole(f, sub);
  await group(f, sub, "testrg");
}

const KV = "2026-02-01";
const vault = (f: ArmFixture, sub: string, rg: string, name: string) =>
  ok(
    f.request(
      "PUT",
      `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${name}?api-version=${KV}`,
      {
        body: {
          location: "westus",
          properties: {
            tenantId: "00000000-0000-0000-0000-000000000000",
            sku: { family: "A", name: "standard" },
          },
        },
      },
    ),
    `vault ${name}`,
  );
/** A vault in `rg`, soft-deleted. */
const deletedVault = async (f: ArmFixture, sub: string, rg: string, name: string) => {
  await group(f, sub, rg);
  await vault(f, sub, rg, name);
  await ok(
    f.request(
      "DELETE",
      `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${name}?api-version=${KV}`,
    ),
    `delete vault ${name}`,
  );
};

const noSetup = async () => {};
const CREATE = ["201", "200"];
const DELETE = ["200", "204"];

function planFor(file: string): Plan {
  const name = file
    .split("/")
    .pop()!
    .replace(/\.json$/, "");
  const plan = (setup: Plan["setup"], order = ["200"], substitutions: Record<string, string> = {}): Plan => ({
    setup,
    order,
    substitutions,
  });
  switch (name) {
    case "IdentityCreate":
      return plan((f, sub) => group(f, sub, "rgName"), CREATE);
    case "IdentityDelete":
      return plan(async (f, sub) => {
        await group(f, sub, "rgName");
        await identity(f, sub, "rgName", "resourceName");
      }, DELETE);
    case "IdentityGet":
    case "IdentityUpdate":
    case "IdentityListByResourceGroup":
    case "IdentityListBySubscription":
      return plan(async (f, sub) => {
        await group(f, sub, "rgName");
        await identity(f, sub, "rgName", "resourceName");
      });
    case "FederatedIdentityCredentialCreate":
      return plan(async (f, sub) => {
        await group(f, sub, "rgName");
        await identity(f, sub, "rgName", "resourceName");
      }, CREATE);
    case "FederatedIdentityCredentialDelete":
    case "FederatedIdentityCredentialGet":
    case "FederatedIdentityCredentialList":
      return plan(
        async (f, sub) => {
          await group(f, sub, "rgName");
          await identity(f, sub, "rgName", "resourceName");
          await fic(f, sub, "rgName", "resourceName", "ficResourceName");
        },
        name.endsWith("Delete") ? DELETE : ["200"],
      );
    case "MsiOperationsList":
    case "GetSubscriptions":
    case "GetSubscription":
      return plan(noSetup);
    case "SystemAssignedIdentityGet":
      return plan(async (f, sub) => {
        await group(f, sub, "resourceGroupName");
        await ok(
          f.request(
            "PUT",
            `/subscriptions/${sub}/resourceGroups/resourceGroupName/providers/Resource.Provider/resourceType/resourceName?api-version=2024-11-30`,
            {
              body: { location: "centralus", identity: { type: "SystemAssigned" } },
            },
          ),
          "resource",
        );
      });
    case "RoleAssignments_CreateById":
    case "RoleAssignments_CreateForSubscription":
    case "RoleAssignments_CreateForResourceGroup":
      return plan(authorizationBasics, CREATE);
    case "RoleAssignments_CreateForResource":
      return plan(async (f, sub) => {
        await authorizationBasics(f, sub);
        await docdb(f, sub);
      }, CREATE);
    case "RoleAssignments_Delete":
    case "RoleAssignments_DeleteById":
    case "RoleAssignments_Get":
    case "RoleAssignments_GetById":
    case "RoleAssignments_ListForScope":
    case "RoleAssignments_ListForSubscription":
    case "RoleAssignments_ListForResourceGroup":
    case "RoleAssignments_ListForResource":
      return plan(
        async (f, sub) => {
          await authorizationBasics(f, sub);
          await docdb(f, sub);
          await assignment(f, `/subscriptions/${sub}`, "b0f43c54-e787-4862-89b1-a653fa9cf747");
          await assignment(
            f,
            `/subscriptions/${sub}/resourceGroups/testrg`,
            "96786e4b-dede-4c2e-8736-8ab911987f08",
          );
          await assignment(
            f,
            `/subscriptions/${sub}/resourceGroups/testrg/providers/Microsoft.DocumentDb/databaseAccounts/test-db-account`,
            "05c5a614-a7d6-4502-b150-c2fb455033ff",
          );
        },
        name.includes("Delete") ? DELETE : ["200"],
      );
    case "GetRoleDefinitionAtScope":
    case "GetRoleDefinitionByName":
    case "GetRoleDefinitionById":
      return plan((f, sub) => customRole(f, sub), ["200"], { roleDefinitionId: CUSTOM_ROLE });
    case "VirtualMachine_Create_WithEncryptionIdentity.2024-11-01":
      return plan(async (f, sub) => {
        await group(f, sub, "myResourceGroup");
        await identity(f, sub, "myResourceGroup", "myIdentity");
      }, CREATE);
    case "createVault":
    case "createVaultWithNetworkAcls":
      return plan((f, sub) => group(f, sub, "sample-resource-group"), CREATE);
    case "updateVault":
      return {
        ...plan(async (f, sub) => {
          await group(f, sub, "sample-resource-group");
          await vault(f, sub, "sample-resource-group", "sample-vault");
        }),
        unproduced: { "201": "the emulator answers every PATCH of an existing vault 200" },
      };
    case "deleteVault":
      return plan(async (f, sub) => {
        await group(f, sub, "sample-resource-group");
        await vault(f, sub, "sample-resource-group", "sample-vault");
      }, DELETE);
    case "getVault":
      return plan(async (f, sub) => {
        await group(f, sub, "sample-resource-group");
        await vault(f, sub, "sample-resource-group", "sample-vault");
      });
    case "listVaultByResourceGroup":
    case "listVaultBySubscription":
    case "listVault":
      return {
        ...plan(async (f, sub) => {
          await group(f, sub, "sample-group");
          await vault(f, sub, "sample-group", "sample-vault");
        }),
        // The example sends 2026-02-01 to /resources; the document's own parameter allows only 2015-11-01.
        ...(name === "listVault"
          ? { query: { $filter: "resourceType eq 'Microsoft.KeyVault/vaults'", "api-version": "2015-11-01" } }
          : {}),
      };
    case "updateAccessPoliciesAdd":
      return plan(async (f, sub) => {
        await group(f, sub, "sample-group");
        await vault(f, sub, "sample-group", "sample-vault");
      }, CREATE);
    case "getDeletedVault":
    case "listDeletedVaults":
      return plan((f, sub) => deletedVault(f, sub, "sample-group", "sample-vault"));
    case "purgeDeletedVault":
      return {
        ...plan((f, sub) => deletedVault(f, sub, "sample-group", "sample-vault"), ["202"]),
        unproduced: { "200": "a purge is always long-running here: 202, then 200 from its Location" },
      };
    case "checkVaultNameAvailability":
      return plan(noSetup);
    default:
      throw new Error(`no replay plan for example ${file}: add one`);
  }
}

/** The example's parameters with the subscription mapped onto one that exists in the emulator. */
function substitute(value: unknown, sub: string, exampleSub: string | undefined): unknown {
  const text = JSON.stringify(value);
  const replaced = exampleSub ? text.split(exampleSub).join(sub) : text;
  return JSON.parse(replaced.replace(/\{subscription-id\}/g, sub));
}

function requestPath(
  op: Operation,
  params: Record<string, unknown>,
  sub: string,
  overrides: Record<string, string>,
): string {
  return op.template.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (overrides[name] !== undefined) return overrides[name]!;
    if (name === "subscriptionId") return sub;
    if (name === "scope") {
      const scope = String(params.scope);
      // Two examples use placeholders ("scope") or an id that already ends in identities/default.
      if (!scope.startsWith("subscriptions/")) return `subscriptions/${sub}`;
      return scope
        .replace(/^subscriptions\/[^/]+/, `subscriptions/${sub}`)
        .replace(/\/identities\/default$/, "");
    }
    if (name === "roleId")
      return `subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${CUSTOM_ROLE}`;
    return String(params[name]);
  });
}

describe("replaying every example of spec/azure-api against the emulator", () => {
  const validator = openApiValidator();
  const files = exampleFiles();

  it("finds the examples", () => {
    assert.ok(files.length >= 44, `found ${files.length}`);
  });

  for (const file of files) {
    it(file, async () => {
      const example = readSpecFile(file) as Example;
      const op = validator.operations.find((o) => Object.values(o.examples).includes(file));
      const isVm = file.startsWith("compute/");
      assert.ok(op || isVm, `no operation references ${file}`);
      const plan = planFor(file);
      const f = await startArmFixture({ settings: { ficWriteSeconds: 0, throttling: false } });
      try {
        const exampleSub =
          typeof example.parameters.subscriptionId === "string"
            ? example.parameters.subscriptionId
            : undefined;
        const idSub = /subscriptions\/([0-9a-f-]{36})/i.exec(JSON.stringify(example.parameters))?.[1];
        // An example's own subscription GUID is added to the sandbox; placeholders map onto its subscription.
        const ownSub = [exampleSub, idSub].find((s) => s && GUID.test(s));
        if (ownSub) {
          const added = await f.admin("PUT", `subscriptions/${ownSub}`, { tenantId: f.arm.tenantId });
          assert.equal(added.status, 200, added.text);
        }
        const sub = ownSub ?? f.arm.subscriptionId;
        const params = substitute(example.parameters, sub, exampleSub) as Record<string, unknown>;
        await plan.setup(f, sub);
        const version = String(params["api-version"]);
        const path = isVm
          ? `/subscriptions/${sub}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM`
          : requestPath(op!, params, sub, plan.substitutions);
        const query = new URLSearchParams({ "api-version": version });
        if (params.top !== undefined) query.set("$top", String(params.top));
        if (params.$top !== undefined) query.set("$top", String(params.$top));
        for (const [k, v] of Object.entries(plan.query ?? {})) query.set(k, v);
        const method = isVm ? "PUT" : op!.method;
        // checkVaultNameAvailability keeps its body under "vaultName".
        const body =
          params.parameters ??
          params.roleDefinition ??
          (op?.method === "POST" ? params.vaultName : undefined);
        const expected = Object.keys(example.responses);
        assert.deepEqual(
          [...plan.order, ...Object.keys(plan.unproduced ?? {})].sort(),
          [...expected].sort(),
          "the plan produces every status of the example",
        );
        for (const status of plan.order) {
          const result = await f.request(method, `/${path.replace(/^\//, "")}?${query}`, { body });
          assert.equal(String(result.status), status, `${method} ${path}: ${result.text}`);
          const errors = isVm
            ? validator.validateIdentityResource(result.body)
            : validator.validate(op!, result.status, result.body);
          assert.deepEqual(errors, []);
        }
      } finally {
        await f.close();
      }
    });
  }
});
