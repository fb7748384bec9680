// azid apply and azid plan, run as the real binary against the ARM emulator.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { armWrites, type CliSandbox, startCliSandbox } from "./support.js";
import {
  createGroup,
  createVm,
  customRole,
  rgId,
  snapshot,
  systemAssigned,
  userAssigned,
  vmId,
} from "./world.js";

describe("azid apply / plan", () => {
  let s: CliSandbox;
  let manifests: string;
  let state: string;

  before(async () => {
    s = await startCliSandbox({ timeScale: 50 });
    await createGroup(s.f, s.sub);
    await createVm(s.f, s.sub, "vm-1");
    await createVm(s.f, s.sub, "vm-2");
    manifests = s.writeManifests("estate.yaml", [
      customRole(s.sub),
      userAssigned(s.sub, "orders", {
        attachTo: [vmId(s.sub, "vm-1")],
        customRole: "blob-reader",
        graph: true,
      }),
      userAssigned(s.sub, "billing", {
        attachTo: [vmId(s.sub, "vm-1"), vmId(s.sub, "vm-2")],
        credentials: 2,
      }),
      systemAssigned(s.sub, "vm-2-system", vmId(s.sub, "vm-2")),
    ]);
    state = `${s.dir}/state.json`;
  });
  after(() => s.close());

  test("plan before anything exists lists every creation; --detailed-exitcode exits 2", async () => {
    const plain = await s.azid(["plan", "-f", manifests, "--sandbox", s.sandboxFile]);
    assert.equal(plain.code, 0, "a plan made is a success, as terraform plan's");
    const run = await s.azid(["plan", "-f", manifests, "--sandbox", s.sandboxFile, "--detailed-exitcode"]);
    assert.equal(run.code, 2, run.stderr + run.stdout);
    assert.match(run.stdout, /CustomRole team-a\/blob-reader/);
    assert.match(run.stdout, /\+ create.*identity/);
  });

  test("apply on a terminal shows the plan and asks; anything but yes writes nothing (exit 7)", async () => {
    await s.f.admin("POST", "stats/reset");
    const args = ["apply", "-f", manifests, "--sandbox", s.sandboxFile, "--state", state];
    const run = await s.azidOnTerminal(args, /Type "yes" to go on: /, "no\n");
    assert.equal(run.code, 7, run.stdout);
    assert.match(run.stdout, /\+ create\s+identity: create identity/);
    assert.match(run.stdout, /plan: \d+ to create/);
    assert.match(run.stdout, /not confirmed: nothing was done/);
    assert.equal(armWrites(await s.stats()), 0, "nothing written");
  });

  test("apply creates everything; every resource Ready; exit 0", async () => {
    const run = await s.azid(["apply", "-f", manifests, "--sandbox", s.sandboxFile, "--state", state]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /applied: 4\/4 ready/);
    const azure = await snapshot(s.f, s.sub);
    assert.deepEqual(Object.keys(azure.identities).sort(), ["billing", "orders"]);
    assert.equal(azure.credentials.billing?.length, 2);
    assert.deepEqual(azure.attachments["vm-1"]?.userAssigned, ["billing", "orders"]);
    assert.equal(azure.attachments["vm-2"]?.type, "SystemAssigned,UserAssigned");
    assert.equal(azure.customRoles.length, 1);
    // Reader for three principals, the custom role for one.
    assert.equal(azure.assignments.length, 4);
  });

  test("a second apply only reads, and plan says no change with exit 0", async () => {
    await s.f.admin("POST", "stats/reset");
    const again = await s.azid([
      "apply",
      ...["-f", manifests, "--sandbox", s.sandboxFile, "--state", state, "--output", "json"],
    ]);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    const result = JSON.parse(again.stdout);
    assert.equal(result.totals.ready, 4);
    assert.equal(result.totals.writes, 0);
    const orders = result.resources.find(
      (r: { resource: string }) => r.resource === "UserAssignedIdentity/team-a/orders",
    );
    assert.match(orders.principalId, /^[0-9a-f-]{36}$/);
    assert.equal(armWrites(await s.stats()), 0);
    const plan = await s.azid(["plan", "-f", manifests, "--sandbox", s.sandboxFile, "--state", state]);
    assert.equal(plan.code, 0, plan.stderr + plan.stdout);
    assert.match(plan.stdout, /no change/);
  });

  test("an Azure Policy denial: the resource is not ready, the reason is named, exit 1", async () => {
    await createGroup(s.f, s.sub, "locked-rg");
    await s.f.admin("PUT", "policies", [
      {
        name: "no-identities",
        displayName: "No identities in locked-rg",
        scope: `/subscriptions/${s.sub}/resourceGroups/locked-rg`,
        resourceType: "Microsoft.ManagedIdentity/userAssignedIdentities",
      },
    ]);
    try {
      const locked = userAssigned(s.sub, "locked");
      locked.spec.resourceGroup = "locked-rg";
      locked.spec.roleAssignments = [];
      const file = s.writeManifests("locked.yaml", [locked]);
      const run = await s.azid(["apply", "-f", file, "--sandbox", s.sandboxFile, "--no-progress"]);
      assert.equal(run.code, 1, run.stderr + run.stdout);
      assert.match(run.stdout, /UserAssignedIdentity\/team-a\/locked\s+NotReady/);
      assert.match(run.stdout, /RequestDisallowedByPolicy/);
      assert.match(run.stdout, /applied: 0\/1 ready, 1 not ready/);
    } finally {
      await s.f.admin("PUT", "policies", []);
    }
  });

  test("a mistyped role is found offline: plan and apply stop with the closest role (exit 3), 0 writes", async () => {
    const typo = userAssigned(s.sub, "typo");
    typo.spec.roleAssignments = [
      { role: "Reader", scope: rgId(s.sub) },
      { role: "Storage Blob Data Raeder", scope: rgId(s.sub) },
    ];
    const file = s.writeManifests("typo.yaml", [typo]);
    await s.f.admin("POST", "stats/reset");
    const runs: Record<string, string[]> = {
      validate: ["validate", "-f", file],
      plan: ["plan", "-f", file, "--sandbox", s.sandboxFile],
      apply: ["apply", "-f", file, "--sandbox", s.sandboxFile, "--no-progress"],
    };
    for (const [command, args] of Object.entries(runs)) {
      const run = await s.azid(args);
      assert.equal(run.code, 3, `${command}: ${run.stderr}${run.stdout}`);
      assert.match(
        run.stdout + run.stderr,
        /spec\.roleAssignments\[1\]\.role: RoleNotFound: "Storage Blob Data Raeder" is not a built-in role nor a CustomRole of this namespace \(did you mean "Storage Blob Data Reader"\?\)/,
        command,
      );
    }
    assert.equal((await s.stats()).requests.write, 0, "nothing read as a write, nothing written");
  });

  test("a role that exists nowhere: plan names it (exit 3); apply writes nothing of the resource", async () => {
    const ghost = userAssigned(s.sub, "ghost");
    ghost.spec.roleAssignments = [
      { role: "Reader", scope: rgId(s.sub) },
      { role: "Quarterly Ledger Auditor", scope: rgId(s.sub) },
    ];
    const file = s.writeManifests("ghost.yaml", [ghost]);
    const plan = await s.azid(["plan", "-f", file, "--sandbox", s.sandboxFile]);
    assert.equal(plan.code, 3, plan.stderr + plan.stdout);
    assert.match(
      plan.stderr,
      /UserAssignedIdentity\/team-a\/ghost: RoleNotFound: role "Quarterly Ledger Auditor" does not exist in subscription [0-9a-f-]+; nothing is written/,
    );
    await s.f.admin("POST", "stats/reset");
    const apply = await s.azid(["apply", "-f", file, "--sandbox", s.sandboxFile, "--no-progress"]);
    assert.equal(apply.code, 1, apply.stderr + apply.stdout);
    assert.match(apply.stdout, /UserAssignedIdentity\/team-a\/ghost\s+NotReady\s+0 writes\s+.*RoleNotFound/);
    assert.equal(armWrites(await s.stats()), 0, "not the identity, not the good grant");
  });
});
