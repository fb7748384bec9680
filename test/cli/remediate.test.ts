// azid remediate after a tenant move, as the real binary against the ARM emulator: the old
// credential's clear refusal, the plan, the repair, the report, and a run killed in the middle
// that a second run finishes with nothing done twice.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type CliSandbox, startCliSandbox } from "./support.js";
import {
  createGroup,
  createVm,
  customRole,
  type Snapshot,
  snapshot,
  systemAssigned,
  userAssigned,
  vmId,
} from "./world.js";

/** A credentials file giving the CLI a credential in `tenantId` for the subscription. */
function newTenantCredentials(s: CliSandbox, tenantId: string): string {
  const secret = s.writeFile("secret.txt", "any-secret-works-in-the-sandbox\n");
  return s.writeFile(
    "credentials.yaml",
    `subscriptions:\n  ${s.sub}:\n    tenantId: ${tenantId}\n    clientId: ${randomUUID()}\n    clientSecretFile: ${secret}\n`,
  );
}

/** The same estate with principal ids left out: what a repair must bring back exactly. */
function shape(azure: Snapshot) {
  const principals = new Map<string, string>();
  for (const [name, identity] of Object.entries(azure.identities)) principals.set(identity.principalId, name);
  for (const [name, target] of Object.entries(azure.attachments)) {
    if (target.systemPrincipal) principals.set(target.systemPrincipal, `${name}/system`);
  }
  const named = (principal: string) => principals.get(principal) ?? `unknown ${principal}`;
  return {
    identities: Object.fromEntries(
      Object.entries(azure.identities).map(([name, i]) => [name, { location: i.location, tags: i.tags }]),
    ),
    credentials: azure.credentials,
    attachments: Object.fromEntries(
      Object.entries(azure.attachments).map(([name, a]) => [
        name,
        { type: a.type, userAssigned: a.userAssigned },
      ]),
    ),
    assignments: azure.assignments
      .map((a) => {
        const [principal, ...rest] = a.split("|");
        return [named(principal as string), ...rest].join("|");
      })
      .sort(),
    customRoles: azure.customRoles,
    appRoles: Object.fromEntries(Object.entries(azure.appRoles).map(([p, roles]) => [named(p), roles])),
  };
}

describe("azid remediate", () => {
  let s: CliSandbox;
  let manifests: string;
  let state: string;
  let original: Snapshot;
  let newTenant: string;
  let credentials: string;

  before(async () => {
    s = await startCliSandbox({ timeScale: 50 });
    await createGroup(s.f, s.sub);
    for (const vm of ["vm-1", "vm-2", "vm-3"]) await createVm(s.f, s.sub, vm);
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
      systemAssigned(s.sub, "vm-3-system", vmId(s.sub, "vm-3")),
    ]);
    state = `${s.dir}/state.json`;
    const applied = await s.azid(["apply", "-f", manifests, "--sandbox", s.sandboxFile, "--state", state]);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    original = await snapshot(s.f, s.sub);
    newTenant = randomUUID();
    const moved = await s.f.admin("POST", `subscriptions/${s.sub}/move`, { tenantId: newTenant });
    assert.equal(moved.status, 200);
    credentials = newTenantCredentials(s, newTenant);
  });
  after(() => s.close());

  test("with the old tenant's credential: exit 6 and what to configure", async () => {
    const run = await s.azid([
      "remediate",
      "--subscription",
      s.sub,
      "-f",
      manifests,
      "--sandbox",
      s.sandboxFile,
    ]);
    assert.equal(run.code, 6, run.stderr);
    assert.match(run.stderr, /InvalidAuthenticationTokenTenant/);
    assert.match(run.stderr, new RegExp(`moved to tenant ${newTenant}`));
    assert.match(run.stderr, /--credentials-file/);
  });

  test("plan sees the move and points to remediate (--detailed-exitcode: 2)", async () => {
    const run = await s.azid([
      "plan",
      "-f",
      manifests,
      "--sandbox",
      s.sandboxFile,
      "--credentials-file",
      credentials,
      "--detailed-exitcode",
    ]);
    assert.equal(run.code, 2, run.stderr + run.stdout);
    assert.match(run.stdout, new RegExp(`moved from tenant .* to ${newTenant}: apply does not repair it`));
  });

  test("without --yes and without a terminal: the plan, exit 7, nothing written", async () => {
    await s.f.admin("POST", "stats/reset");
    const run = await s.azid([
      "remediate",
      "--subscription",
      s.sub,
      "-f",
      manifests,
      "--sandbox",
      s.sandboxFile,
      "--credentials-file",
      credentials,
      "--state",
      state,
    ]);
    assert.equal(run.code, 7, run.stderr);
    assert.match(run.stdout, /tenant move detected/);
    assert.match(run.stdout, /DeleteIdentity/);
    assert.match(run.stdout, /floor: /);
    const stats = await s.stats();
    assert.equal(stats.requests.write + stats.requests.delete, 0);
  });

  test("a run killed in the middle, then a second run: the estate is back, nothing twice", async () => {
    const args = [
      "remediate",
      "--subscription",
      s.sub,
      "-f",
      manifests,
      "--sandbox",
      s.sandboxFile,
      "--credentials-file",
      credentials,
      "--state",
      state,
      "--yes",
    ];
    // Kill the first run once it has sent a few writes (its progress lines say so).
    const child = s.spawnAzid([...args, "--concurrency", "2"]);
    let writes = 0;
    child.stderr?.on("data", (chunk: Buffer) => {
      writes += (chunk.toString().match(/"event":"write"/g) ?? []).length;
      if (writes >= 6) child.kill("SIGKILL");
    });
    const killed = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("close", (_code, signal) => resolve(signal)),
    );
    assert.equal(killed, "SIGKILL", "the first run finished before it could be killed");

    const report = `${s.dir}/report.html`;
    const second = await s.azid([...args, "--output", "json", "--report", report]);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    const result = JSON.parse(second.stdout);
    assert.equal(result.report.applied, true);
    assert.ok(result.report.resources.every((r: { state: string }) => r.state === "ready"));

    const after = await snapshot(s.f, s.sub);
    assert.deepEqual(shape(after), shape(original));
    for (const [name, identity] of Object.entries(after.identities)) {
      assert.equal(identity.tenantId, newTenant, name);
      assert.notEqual(identity.principalId, original.identities[name]?.principalId, name);
    }
    for (const vm of ["vm-2", "vm-3"]) {
      assert.notEqual(after.attachments[vm]?.systemPrincipal, original.attachments[vm]?.systemPrincipal);
    }

    assert.ok(existsSync(report));
    const html = readFileSync(report, "utf8");
    assert.match(html, /<svg/);
    // Self-contained: no script and nothing fetched from elsewhere.
    assert.doesNotMatch(html, /<script|<link|\ssrc=|\shref=|url\(|@import/i);

    // A third run finds nothing to do.
    await s.f.admin("POST", "stats/reset");
    const third = await s.azid(args);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /nothing to do/);
    const stats = await s.stats();
    assert.equal(stats.requests.write + stats.requests.delete, 0);
  });
});
