// No token or secret in anything the CLI prints, at debug and trace level, with the Azure SDK's
// own log routed in and faults injected (errors, 429s, a refused credential).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type CliSandbox, startCliSandbox } from "./support.js";
import { createGroup, createVm, userAssigned, vmId } from "./world.js";

const SECRET = `Sup3r-S3cret-${randomUUID()}`;

function assertNothingSecret(output: string) {
  assert.ok(!output.includes(SECRET), "the client secret appears in the output");
  assert.doesNotMatch(output, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, "a JWT appears in the output");
  assert.doesNotMatch(output, /Bearer\s+(?!\[Redacted\])[A-Za-z0-9\-_.~+/=]{8,}/i, "a bearer token appears");
  assert.doesNotMatch(output, /client_secret=(?!\[Redacted\])/i);
}

describe("no secret in the CLI's output", () => {
  let s: CliSandbox;
  let manifests: string;
  let credentials: string;

  before(async () => {
    s = await startCliSandbox({ timeScale: 50 });
    await createGroup(s.f, s.sub);
    await createVm(s.f, s.sub, "vm-1");
    manifests = s.writeManifests("orders.yaml", [
      userAssigned(s.sub, "orders", { attachTo: [vmId(s.sub, "vm-1")], graph: true, credentials: 2 }),
    ]);
    const secretFile = s.writeFile("secret.txt", `${SECRET}\n`);
    credentials = s.writeFile(
      "credentials.yaml",
      `default:\n  tenantId: ${s.f.arm.tenantId}\n  clientId: ${randomUUID()}\n  clientSecretFile: ${secretFile}\n`,
    );
    await s.f.admin("PUT", "faults", { seed: 7, all: { errorRate: 0.2, throttleRate: 0.2 } });
  });
  after(() => s.close());

  test("apply at debug level with faults injected", async () => {
    const run = await s.azid([
      "apply",
      "-f",
      manifests,
      "--sandbox",
      s.sandboxFile,
      "--credentials-file",
      credentials,
      "--log-level",
      "debug",
    ]);
    assert.equal(run.code, 0, run.stderr.slice(-3000) + run.stdout);
    // The check means something only if the requests were logged, the SDK's lines included.
    assert.match(run.stderr, /"msg":"ARM call"/);
    assert.match(run.stderr, /"source":"azure-sdk"/);
    assertNothingSecret(run.stderr + run.stdout);
    // Seeded, but which request draws which fault depends on the order of concurrent calls.
    const { faults } = await s.stats();
    assert.ok(faults.errors + faults.throttles > 0, JSON.stringify(faults));
  });

  test("a refused credential at trace level", async () => {
    const moved = randomUUID();
    await s.f.admin("DELETE", "faults");
    await s.f.admin("POST", `subscriptions/${s.sub}/move`, { tenantId: moved });
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
      "--log-level",
      "trace",
      "--output",
      "json",
    ]);
    assert.equal(run.code, 6, run.stderr.slice(-2000));
    assert.match(run.stderr, /InvalidAuthenticationTokenTenant/);
    assertNothingSecret(run.stderr + run.stdout);
  });
});
