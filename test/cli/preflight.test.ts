// azid preflight against the ARM emulator with azid's own principal restricted to what its role
// assignments grant: the missing actions per scope and the built-in roles that grant them.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ClientSecretCredential } from "@azure/identity";
import { SANDBOX_CLI_CLIENT_ID } from "../../src/cli/azure-session.js";
import { sandboxCredentialOptions } from "../support/arm.js";
import { type CliSandbox, startCliSandbox } from "./support.js";
import { createGroup, createVm, rgId, userAssigned, vmId } from "./world.js";

const ROLES = {
  managedIdentityContributor: "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
  managedIdentityOperator: "f1a07417-d97a-45cb-824c-7a7467783830",
  rbacAdministrator: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
  virtualMachineContributor: "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
};

describe("azid preflight", () => {
  let s: CliSandbox;
  let manifests: string;
  let cliPrincipal: string;

  const grant = async (role: string, scope: string) => {
    const answer = await s.f.request(
      "PUT",
      `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
      {
        body: {
          properties: {
            roleDefinitionId: `/subscriptions/${s.sub}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
            principalId: cliPrincipal,
            principalType: "ServicePrincipal",
          },
        },
      },
    );
    assert.ok(answer.status < 300, answer.text);
  };

  before(async () => {
    s = await startCliSandbox({ timeScale: 50 });
    await createGroup(s.f, s.sub);
    await createVm(s.f, s.sub, "vm-1");
    manifests = s.writeManifests("orders.yaml", [
      userAssigned(s.sub, "orders", { attachTo: [vmId(s.sub, "vm-1")] }),
    ]);
    // The principal the CLI's sandbox credential signs in as.
    const credential = new ClientSecretCredential(
      s.f.arm.tenantId,
      SANDBOX_CLI_CLIENT_ID,
      "sandbox",
      sandboxCredentialOptions(s.f.arm),
    );
    const token = await credential.getToken("https://management.azure.com/.default");
    cliPrincipal = JSON.parse(Buffer.from(token.token.split(".")[1] as string, "base64url").toString()).oid;
  });
  after(() => s.close());

  test("an unrestricted credential has everything: exit 0", async () => {
    const run = await s.azid(["preflight", "-f", manifests, "--sandbox", s.sandboxFile]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /every permission needed/);
  });

  test("with no role at all, as right after a move: exit 5, the subscription's read listed with the rest", async () => {
    await s.f.admin("PUT", `callers/${cliPrincipal}`, { restricted: true });
    const run = await s.azid(["preflight", "-f", manifests, "--sandbox", s.sandboxFile, "--output", "json"]);
    assert.equal(run.code, 5, run.stderr + run.stdout);
    const result = JSON.parse(run.stdout);
    const subscription = result.scopes.find(
      (c: { scope: string }) => c.scope.toLowerCase() === `/subscriptions/${s.sub}`,
    );
    assert.ok(
      subscription.missing.some(
        (m: { action: string }) => m.action === "Microsoft.Resources/subscriptions/read",
      ),
      JSON.stringify(subscription),
    );
    assert.ok(subscription.roles.length > 0, "the built-in roles that grant it are named");
    const text = await s.azid(["preflight", "-f", manifests, "--sandbox", s.sandboxFile]);
    assert.equal(text.code, 5);
    assert.match(text.stdout, /Microsoft\.Resources\/subscriptions\/read {2}\(read the subscription/);
    assert.doesNotMatch(text.stderr, /does not have authorization/);
  });

  test("with Managed Identity Contributor only: what is missing, and which roles grant it; exit 5", async () => {
    await grant(ROLES.managedIdentityContributor, rgId(s.sub));
    const run = await s.azid(["preflight", "-f", manifests, "--sandbox", s.sandboxFile, "--output", "json"]);
    assert.equal(run.code, 5, run.stderr + run.stdout);
    const result = JSON.parse(run.stdout);
    const at = (scope: string) =>
      result.scopes.find((c: { scope: string }) => c.scope.toLowerCase() === scope.toLowerCase());
    const group = at(rgId(s.sub));
    assert.deepEqual(group.missing.map((m: { action: string }) => m.action).sort(), [
      "Microsoft.Authorization/roleAssignments/delete",
      "Microsoft.Authorization/roleAssignments/write",
      "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    ]);
    assert.deepEqual(group.roles.sort(), [
      "Managed Identity Operator",
      "Role Based Access Control Administrator",
    ]);
    // The principal's grants are listed at the subscription.
    assert.deepEqual(
      at(`/subscriptions/${s.sub}`).missing.map((m: { action: string }) => m.action),
      ["Microsoft.Authorization/roleAssignments/read"],
    );
    const vm = at(vmId(s.sub, "vm-1"));
    assert.deepEqual(
      vm.missing.map((m: { action: string }) => m.action),
      ["Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/write"],
    );
    assert.deepEqual(vm.roles, ["Virtual Machine Contributor"]);
  });

  test("once those roles are granted: exit 0", async () => {
    await grant(ROLES.managedIdentityOperator, rgId(s.sub));
    await grant(ROLES.rbacAdministrator, `/subscriptions/${s.sub}`);
    await grant(ROLES.virtualMachineContributor, vmId(s.sub, "vm-1"));
    const run = await s.azid(["preflight", "-f", manifests, "--sandbox", s.sandboxFile]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    // And the credential can then do the job.
    const apply = await s.azid(["apply", "-f", manifests, "--sandbox", s.sandboxFile]);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
  });
});
