// azid export of an estate azid did not make, then a tenant move, then remediate of the exported
// manifests: the inventory comes back with new principal ids, same names, roles, scopes,
// attachments, credentials and Graph app roles.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import type { ArmFixture } from "../support/arm.js";
import { type CliSandbox, startCliSandbox } from "./support.js";
import {
  createGroup,
  createVm,
  GRAPH_APP_ID,
  identityId,
  LOCATION,
  rgId,
  type Snapshot,
  snapshot,
  vmId,
} from "./world.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214";

async function ok(f: ArmFixture, method: string, path: string, body?: unknown) {
  const answer = await f.request(method, path, { body });
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
  return answer.body;
}

/** An estate made by hand (not by azid): random GUIDs, a name Kubernetes would not take. */
async function populate(f: ArmFixture, sub: string) {
  await createGroup(f, sub);
  const vm1 = await createVm(f, sub, "vm-1");
  const vm2 = vmId(sub, "vm-2");
  await ok(f, "PUT", `${vm2}?api-version=2024-11-01`, {
    location: LOCATION,
    identity: { type: "SystemAssigned" },
  });
  const principals: Record<string, string> = {};
  for (const name of ["orders-api", "Billing_Worker"]) {
    const identity = await ok(f, "PUT", `${identityId(sub, name)}?api-version=2024-11-30`, {
      location: LOCATION,
      tags: { owner: name },
    });
    principals[name] = identity.properties.principalId;
    await ok(
      f,
      "PUT",
      `${identityId(sub, name)}/federatedIdentityCredentials/gh-${name.toLowerCase().replace("_", "-")}?api-version=2024-11-30`,
      {
        properties: {
          issuer: "https://token.actions.githubusercontent.com",
          subject: `repo:org/${name}:ref:refs/heads/main`,
          audiences: ["api://AzureADTokenExchange"],
        },
      },
    );
  }
  await ok(f, "PATCH", `${vm1}?api-version=2024-11-01`, {
    identity: {
      type: "UserAssigned",
      userAssignedIdentities: {
        [identityId(sub, "orders-api")]: {},
        [identityId(sub, "Billing_Worker")]: {},
      },
    },
  });
  const customGuid = randomUUID();
  await ok(
    f,
    "PUT",
    `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${customGuid}?api-version=2022-04-01`,
    {
      properties: {
        roleName: "Queue Peeker",
        description: "peeks at queues",
        type: "CustomRole",
        permissions: [{ actions: ["Microsoft.Storage/storageAccounts/queueServices/queues/read"] }],
        assignableScopes: [rgId(sub)],
      },
    },
  );
  const vmPrincipal = (await ok(f, "GET", `${vm2}?api-version=2024-11-01`)).identity.principalId as string;
  const grant = (principalId: string, role: string, scope: string) =>
    ok(
      f,
      "PUT",
      `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
      {
        properties: {
          roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
          principalId,
          principalType: "ServicePrincipal",
        },
      },
    );
  await grant(principals["orders-api"] as string, READER, rgId(sub));
  await grant(principals["orders-api"] as string, customGuid, rgId(sub));
  await grant(principals.Billing_Worker as string, READER, `/subscriptions/${sub}`);
  await grant(vmPrincipal, READER, rgId(sub));
  const graph = await ok(f, "GET", `/v1.0/servicePrincipals?$filter=appId eq '${GRAPH_APP_ID}'`);
  await ok(f, "POST", `/v1.0/servicePrincipals/${principals["orders-api"]}/appRoleAssignments`, {
    principalId: principals["orders-api"],
    resourceId: graph.value[0].id,
    appRoleId: USER_READ_ALL,
  });
}

/** The estate without principal ids, which a repair changes. */
function shape(azure: Snapshot) {
  const names = new Map<string, string>();
  for (const [name, identity] of Object.entries(azure.identities)) names.set(identity.principalId, name);
  for (const [name, target] of Object.entries(azure.attachments)) {
    if (target.systemPrincipal) names.set(target.systemPrincipal, `${name}/system`);
  }
  const named = (principal: string) => names.get(principal) ?? `unknown ${principal}`;
  return {
    identities: Object.fromEntries(
      Object.entries(azure.identities).map(([name, i]) => [name, { location: i.location, tags: i.tags }]),
    ),
    credentials: azure.credentials,
    attachments: Object.fromEntries(
      Object.entries(azure.attachments).map(([name, a]) => [name, { type: a.type, users: a.userAssigned }]),
    ),
    assignments: azure.assignments.map((a) => a.replace(/^[^|]+/, (p) => named(p))).sort(),
    customRoles: azure.customRoles,
    appRoles: Object.fromEntries(Object.entries(azure.appRoles).map(([p, roles]) => [named(p), roles])),
  };
}

describe("azid export, tenant move, remediate of the export", () => {
  let s: CliSandbox;
  let original: Snapshot;
  let dir: string;

  before(async () => {
    s = await startCliSandbox({ timeScale: 50 });
    await populate(s.f, s.sub);
    original = await snapshot(s.f, s.sub);
    dir = join(s.dir, "exported");
  });
  after(() => s.close());

  test("export writes manifests of every kind that validate accepts", async () => {
    const run = await s.azid(["export", "--subscription", s.sub, "--sandbox", s.sandboxFile, "-o", dir]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /1 CustomRole, 2 UserAssignedIdentity, 1 SystemAssignedIdentity/);
    assert.deepEqual(readdirSync(dir).sort(), [
      "customroles",
      "systemassignedidentities",
      "userassignedidentities",
    ]);
    const billing = parse(readFileSync(join(dir, "userassignedidentities", "billing-worker.yaml"), "utf8"));
    assert.equal(
      billing.spec.name,
      "Billing_Worker",
      "an Azure name Kubernetes does not take is kept in spec.name",
    );
    assert.equal(billing.spec.deletionPolicy, "Orphan");
    const orders = parse(readFileSync(join(dir, "userassignedidentities", "orders-api.yaml"), "utf8"));
    const roles = orders.spec.roleAssignments.map(
      (r: { role?: string; customRoleRef?: { name: string } }) =>
        r.role ?? `CustomRole/${r.customRoleRef?.name}`,
    );
    assert.deepEqual(roles.sort(), ["CustomRole/queue-peeker", "Reader"]);
    assert.deepEqual(orders.spec.graphAppRoles, [{ resourceAppId: GRAPH_APP_ID, appRole: "User.Read.All" }]);
    assert.deepEqual(orders.spec.attachTo, [vmId(s.sub, "vm-1")]);

    const valid = await s.azid(["validate", "-f", dir]);
    assert.equal(valid.code, 0, valid.stdout);
  });

  test("after a tenant move, remediate of the exported manifests brings the estate back", async () => {
    const newTenant = randomUUID();
    await s.f.admin("POST", `subscriptions/${s.sub}/move`, { tenantId: newTenant });
    const secret = s.writeFile("secret.txt", "sandbox\n");
    const credentials = s.writeFile(
      "credentials.yaml",
      `subscriptions:\n  ${s.sub}:\n    tenantId: ${newTenant}\n    clientId: ${randomUUID()}\n    clientSecretFile: ${secret}\n`,
    );
    // `apply` does not delete and re-create identities on its own: it points at `remediate`.
    const applied = await s.azid([
      "apply",
      "-f",
      dir,
      "--sandbox",
      s.sandboxFile,
      "--credentials-file",
      credentials,
    ]);
    assert.equal(applied.code, 1, applied.stderr + applied.stdout);
    assert.match(applied.stderr + applied.stdout, /azid remediate --subscription/);
    const run = await s.azid([
      "remediate",
      "--subscription",
      s.sub,
      "-f",
      dir,
      "--sandbox",
      s.sandboxFile,
      "--credentials-file",
      credentials,
      "--yes",
    ]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const restored = await snapshot(s.f, s.sub);
    assert.deepEqual(shape(restored), shape(original));
    for (const [name, identity] of Object.entries(restored.identities)) {
      assert.equal(identity.tenantId, newTenant, name);
      assert.notEqual(identity.principalId, original.identities[name]?.principalId, name);
    }
    assert.notEqual(
      restored.attachments["vm-2"]?.systemPrincipal,
      original.attachments["vm-2"]?.systemPrincipal,
    );
  });
});
