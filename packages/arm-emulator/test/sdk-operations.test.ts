// Every operation the emulator serves, driven through the unmodified Azure SDK clients, with every
// response checked against Microsoft's OpenAPI documents by the validating pipeline policy.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { ResourceManagementClient } from "@azure/arm-resources";
import { SubscriptionClient } from "@azure/arm-resources-subscriptions";
import { type ArmFixture, openApiValidator, startArmFixture } from "../../../test/support/arm.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const COMPUTE = "2024-11-01";
const WEB = "2024-04-01";

async function all<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterator) out.push(item);
  return out;
}

describe("the Azure SDK clients against the ARM emulator", () => {
  let f: ArmFixture;
  let msi: ManagedServiceIdentityClient;
  let auth: AuthorizationManagementClient;
  let rm: ResourceManagementClient;
  let subs: SubscriptionClient;
  let sub: string;
  let rg: string;

  before(async () => {
    f = await startArmFixture({ timeScale: 200, settings: { pageSize: 2, ficWriteSeconds: 0 } });
    sub = f.arm.subscriptionId;
    rg = `/subscriptions/${sub}/resourceGroups/apps`;
    const options = f.clientOptions();
    msi = new ManagedServiceIdentityClient(f.credential, sub, options);
    auth = new AuthorizationManagementClient(f.credential, sub, options);
    rm = new ResourceManagementClient(f.credential, sub, options);
    subs = new SubscriptionClient(f.credential, options);
  });
  after(() => f.close());

  it("serves subscriptions and tenants with the subscription's tenant", async () => {
    const list = await all(subs.subscriptions.list());
    assert.deepEqual(
      list.map((s) => [s.subscriptionId, s.tenantId]),
      [[sub, f.arm.tenantId]],
    );
    const one = await subs.subscriptions.get(sub);
    assert.equal(one.tenantId, f.arm.tenantId);
    assert.equal(one.state, "Enabled");
    const tenants = await all(subs.tenants.list());
    assert.deepEqual(
      tenants.map((t) => t.tenantId),
      [f.arm.tenantId],
    );
  });

  it("creates, reads, lists and deletes resource groups, and lists providers' api-versions", async () => {
    const created = await rm.resourceGroups.createOrUpdate("apps", {
      location: "westeurope",
      tags: { team: "a" },
    });
    assert.equal(created.id, rg);
    assert.equal((await rm.resourceGroups.get("apps")).tags?.team, "a");
    assert.equal((await rm.resourceGroups.checkExistence("apps")).body, true);
    await rm.resourceGroups.createOrUpdate("scratch", { location: "westeurope" });
    assert.deepEqual((await all(rm.resourceGroups.list())).map((g) => g.name).sort(), ["apps", "scratch"]);
    await rm.resourceGroups.beginDeleteAndWait("scratch");
    assert.equal((await rm.resourceGroups.checkExistence("scratch")).body, false);
    const compute = await rm.providers.get("Microsoft.Compute");
    const vms = compute.resourceTypes?.find((t) => t.resourceType === "virtualMachines");
    assert.ok(vms?.apiVersions?.includes(COMPUTE));
    const identity = await rm.providers.get("Microsoft.ManagedIdentity");
    assert.ok(
      identity.resourceTypes
        ?.find((t) => t.resourceType === "userAssignedIdentities")
        ?.apiVersions?.includes("2024-11-30"),
    );
  });

  it("creates, updates, gets, lists (paged) and deletes user-assigned identities", async () => {
    const created = await msi.userAssignedIdentities.createOrUpdate("apps", "web", {
      location: "westeurope",
      tags: { a: "1" },
    });
    assert.equal(created.tenantId, f.arm.tenantId);
    assert.match(created.principalId ?? "", /^[0-9a-f-]{36}$/);
    assert.match(created.clientId ?? "", /^[0-9a-f-]{36}$/);
    const again = await msi.userAssignedIdentities.createOrUpdate("apps", "web", {
      location: "westeurope",
      tags: { a: "2" },
    });
    assert.equal(again.principalId, created.principalId, "an update keeps the principal");
    const patched = await msi.userAssignedIdentities.update("apps", "web", {
      tags: { b: "3" },
      isolationScope: "Regional",
    });
    assert.deepEqual(patched.tags, { b: "3" });
    assert.equal(patched.isolationScope, "Regional");
    assert.equal((await msi.userAssignedIdentities.get("apps", "web")).clientId, created.clientId);
    for (const name of ["api", "jobs"])
      await msi.userAssignedIdentities.createOrUpdate("apps", name, { location: "westeurope" });
    // pageSize is 2: three identities come back over two pages that the SDK follows.
    const byGroup = await all(msi.userAssignedIdentities.listByResourceGroup("apps"));
    assert.deepEqual(byGroup.map((i) => i.name).sort(), ["api", "jobs", "web"]);
    assert.equal((await all(msi.userAssignedIdentities.listBySubscription())).length, 3);
    await msi.userAssignedIdentities.delete("apps", "jobs");
    await msi.userAssignedIdentities.delete("apps", "jobs"); // 204: already gone
    await assert.rejects(msi.userAssignedIdentities.get("apps", "jobs"), {
      statusCode: 404,
      code: "ResourceNotFound",
    });
    const ops = await all(msi.operations.list());
    assert.ok(ops.some((o) => o.name === "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"));
  });

  it("creates, gets, lists and deletes federated identity credentials", async () => {
    const params = {
      issuer: "https://oidc.example.com/cluster-1",
      subject: "system:serviceaccount:ns:web",
      audiences: ["api://AzureADTokenExchange"],
    };
    const created = await msi.federatedIdentityCredentials.createOrUpdate("apps", "web", "ns-web", params);
    assert.equal(created.subject, params.subject);
    await msi.federatedIdentityCredentials.createOrUpdate("apps", "web", "ns-web", params);
    await msi.federatedIdentityCredentials.createOrUpdate("apps", "web", "ns-worker", {
      ...params,
      subject: "system:serviceaccount:ns:worker",
    });
    await msi.federatedIdentityCredentials.createOrUpdate("apps", "web", "ns-cron", {
      ...params,
      subject: "system:serviceaccount:ns:cron",
    });
    assert.equal((await msi.federatedIdentityCredentials.get("apps", "web", "ns-web")).issuer, params.issuer);
    const listed = await all(msi.federatedIdentityCredentials.list("apps", "web"));
    assert.deepEqual(listed.map((c) => c.name).sort(), ["ns-cron", "ns-web", "ns-worker"]);
    await msi.federatedIdentityCredentials.delete("apps", "web", "ns-cron");
    await msi.federatedIdentityCredentials.delete("apps", "web", "ns-cron");
    assert.equal((await all(msi.federatedIdentityCredentials.list("apps", "web", { top: 1 }))).length, 2);
  });

  it("attaches identities to VMs, scale sets and sites, and serves the system-assigned identity by scope", async () => {
    const web = await msi.userAssignedIdentities.get("apps", "web");
    const api = await msi.userAssignedIdentities.get("apps", "api");
    const vm = await rm.resources.beginCreateOrUpdateAndWait(
      "apps",
      "Microsoft.Compute",
      "",
      "virtualMachines",
      "vm1",
      COMPUTE,
      {
        location: "westeurope",
        identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [web.id!]: {} } },
      },
    );
    assert.equal(vm.identity?.tenantId, f.arm.tenantId);
    assert.equal(vm.identity?.userAssignedIdentities?.[web.id!]?.principalId, web.principalId);
    const patched = await rm.resources.beginUpdateAndWait(
      "apps",
      "Microsoft.Compute",
      "",
      "virtualMachines",
      "vm1",
      COMPUTE,
      {
        identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [api.id!]: {} } },
      },
    );
    assert.deepEqual(
      Object.keys(patched.identity?.userAssignedIdentities ?? {}).sort(),
      [api.id, web.id].sort(),
    );
    const system = await msi.systemAssignedIdentities.getByScope(vm.id!);
    assert.equal(system.principalId, vm.identity?.principalId);
    assert.equal(system.tenantId, f.arm.tenantId);
    const vmss = await rm.resources.beginCreateOrUpdateAndWait(
      "apps",
      "Microsoft.Compute",
      "",
      "virtualMachineScaleSets",
      "pool",
      COMPUTE,
      {
        location: "westeurope",
        identity: { type: "UserAssigned", userAssignedIdentities: { [web.id!]: {} } },
      },
    );
    assert.equal(vmss.identity?.type, "UserAssigned");
    const site = await rm.resources.beginCreateOrUpdateAndWait(
      "apps",
      "Microsoft.Web",
      "",
      "sites",
      "portal",
      WEB,
      {
        location: "westeurope",
        identity: { type: "SystemAssigned" },
      },
    );
    assert.ok(site.identity?.principalId);
    assert.equal(
      (await rm.resources.getById(site.id!, WEB)).identity?.principalId,
      site.identity?.principalId,
    );
    const siteOff = await rm.resources.beginUpdateAndWait(
      "apps",
      "Microsoft.Web",
      "",
      "sites",
      "portal",
      WEB,
      { identity: { type: "None" } },
    );
    assert.equal(siteOff.identity, undefined);
    await rm.resources.beginDeleteAndWait(
      "apps",
      "Microsoft.Compute",
      "",
      "virtualMachineScaleSets",
      "pool",
      COMPUTE,
    );
    await assert.rejects(
      rm.resources.get("apps", "Microsoft.Compute", "", "virtualMachineScaleSets", "pool", COMPUTE),
      { statusCode: 404 },
    );
  });

  it("creates, gets, lists and deletes role assignments at every scope, with ARM's filters", async () => {
    const web = await msi.userAssignedIdentities.get("apps", "web");
    const api = await msi.userAssignedIdentities.get("apps", "api");
    const vmId = `${rg}/providers/Microsoft.Compute/virtualMachines/vm1`;
    const role = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${READER}`;
    const make = (scope: string, name: string, principalId: string) =>
      auth.roleAssignments.create(scope, name, {
        roleDefinitionId: role,
        principalId,
        principalType: "ServicePrincipal",
      });
    const atSub = await make(
      `/subscriptions/${sub}`,
      "0b6b1a55-7d4e-4e5b-9d0c-1a2b3c4d5e01",
      web.principalId!,
    );
    await make(rg, "0b6b1a55-7d4e-4e5b-9d0c-1a2b3c4d5e02", web.principalId!);
    await make(vmId, "0b6b1a55-7d4e-4e5b-9d0c-1a2b3c4d5e03", api.principalId!);
    const byId = await auth.roleAssignments.createById(
      `${rg}/providers/Microsoft.Authorization/roleAssignments/0b6b1a55-7d4e-4e5b-9d0c-1a2b3c4d5e04`,
      {
        roleDefinitionId: role,
        principalId: api.principalId!,
        principalType: "ServicePrincipal",
      },
    );
    assert.equal(byId.scope, rg);
    assert.equal(
      (await auth.roleAssignments.get(`/subscriptions/${sub}`, atSub.name!)).principalId,
      web.principalId,
    );
    assert.equal((await auth.roleAssignments.getById(atSub.id!)).name, atSub.name);
    assert.equal((await all(auth.roleAssignments.listForSubscription())).length, 4);
    assert.equal((await all(auth.roleAssignments.listForResourceGroup("apps"))).length, 4);
    const forVm = await all(
      auth.roleAssignments.listForResource("apps", "Microsoft.Compute", "virtualMachines", "vm1"),
    );
    assert.equal(forVm.length, 4, "at, above (subscription, group) and on the VM");
    const atScope = await all(auth.roleAssignments.listForScope(rg, { filter: "atScope()" }));
    assert.equal(atScope.length, 3, "the group's and the subscription's, not the VM's");
    const ofWeb = await all(
      auth.roleAssignments.listForScope(`/subscriptions/${sub}`, {
        filter: `principalId eq '${web.principalId}'`,
      }),
    );
    assert.equal(ofWeb.length, 2);
    const ofApi = await all(
      auth.roleAssignments.listForScope(rg, { filter: `assignedTo('${api.principalId}')` }),
    );
    assert.equal(ofApi.length, 2);
    const slot = await rm.resources.beginCreateOrUpdateAndWait(
      "apps",
      "Microsoft.Web",
      "sites/portal",
      "slots",
      "staging",
      WEB,
      {
        location: "westeurope",
      },
    );
    await make(slot.id!, "0b6b1a55-7d4e-4e5b-9d0c-1a2b3c4d5e05", api.principalId!);
    const onSlot = await all(auth.roleAssignments.listForScope(slot.id!, { filter: "atScope()" }));
    assert.equal(onSlot.length, 4, "the slot's, the two of the group and the subscription's");
    await auth.roleAssignments.delete(slot.id!, "0b6b1a55-7d4e-4e5b-9d0c-1a2b3c4d5e05");
    await auth.roleAssignments.delete(rg, "0b6b1a55-7d4e-4e5b-9d0c-1a2b3c4d5e02");
    await auth.roleAssignments.deleteById(byId.id!);
    await auth.roleAssignments.deleteById(byId.id!);
    assert.equal((await all(auth.roleAssignments.listForSubscription())).length, 2);
  });

  it("serves built-in and custom role definitions, and the caller's permissions", async () => {
    const reader = await auth.roleDefinitions.get(`/subscriptions/${sub}`, READER);
    assert.equal(reader.roleName, "Reader");
    assert.equal(
      reader.id,
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
    );
    assert.equal(
      (await auth.roleDefinitions.getById(`/providers/Microsoft.Authorization/roleDefinitions/${READER}`))
        .roleName,
      "Reader",
    );
    const all928 = await all(auth.roleDefinitions.list(`/subscriptions/${sub}`));
    assert.equal(all928.length, 928);
    const byName = await all(
      auth.roleDefinitions.list(`/subscriptions/${sub}`, {
        filter: "roleName eq 'Managed Identity Operator'",
      }),
    );
    assert.deepEqual(
      byName.map((r) => r.name),
      ["f1a07417-d97a-45cb-824c-7a7467783830"],
    );
    const customId = "7a3d0b7e-3f6d-4a5e-9f55-8c2a7e9a0c01";
    const custom = await auth.roleDefinitions.createOrUpdate(`/subscriptions/${sub}`, customId, {
      roleName: "Identity attacher",
      description: "attach identities",
      permissions: [{ actions: ["Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"] }],
      assignableScopes: [`/subscriptions/${sub}`],
    });
    assert.equal(custom.roleType, "CustomRole");
    assert.equal((await auth.roleDefinitions.get(rg, customId)).roleName, "Identity attacher");
    const customs = await all(
      auth.roleDefinitions.list(`/subscriptions/${sub}`, { filter: "type eq 'CustomRole'" }),
    );
    assert.equal(customs.length, 1);
    await auth.roleDefinitions.delete(`/subscriptions/${sub}`, customId);
    await assert.rejects(auth.roleDefinitions.get(`/subscriptions/${sub}`, customId), { statusCode: 404 });
    const rgPermissions = await all(auth.permissions.listForResourceGroup("apps"));
    assert.deepEqual(rgPermissions[0]?.actions, ["*"], "an unrestricted caller may do everything");
    const vmPermissions = await all(
      auth.permissions.listForResource("apps", "Microsoft.Compute", "", "virtualMachines", "vm1"),
    );
    assert.deepEqual(vmPermissions[0]?.actions, ["*"]);
  });

  it("answered every SDK call with a body valid against the OpenAPI documents, covering every operation", () => {
    assert.deepEqual(f.validation.failures, []);
    const checked = new Set(f.validation.checked.map((c) => c.split(" ")[0]));
    const expected = openApiValidator()
      .operations.filter((op) => op.apiVersion === "2024-11-30" || op.apiVersion === "2022-04-01")
      .filter((op) => op.literalLength > 1)
      .map((op) => op.operationId);
    const missing = [...new Set(expected)].filter((id) => !checked.has(id));
    assert.deepEqual(missing, []);
    for (const id of ["Subscriptions_List", "Subscriptions_Get", "Tenants_List", "IdentityResource"])
      assert.ok(checked.has(id), id);
  });
});
