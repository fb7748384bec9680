// A full controller run at --log-level debug with ARM faults (5xx, 429, dropped connections) and a
// refused credential: its logs and its Kubernetes events never carry a bearer token, a JWT, a
// client secret or an Authorization header.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  createResourceGroup,
  createVm,
  eventually,
  GRAPH,
  NS,
  ready,
  rg,
  teamNamespace,
  uai,
  vm,
} from "./fixtures.js";
import { Stack } from "./stack.js";

const WRONG_SECRET = `wrong-${randomUUID()}`;
const RIGHT_SECRET = `right-${randomUUID()}`;

/** What must never be written anywhere an operator can read. */
function leaks(text: string): string[] {
  const patterns: Array<[string, RegExp]> = [
    ["a JWT", /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/],
    ["a bearer token", /bearer\s+(?!\[Redacted\]|REDACTED)[A-Za-z0-9._~+/=-]{8,}/i],
    [
      "an Authorization header value",
      /"?authorization"?\s*[:=]\s*"?(?!\[Redacted\]|REDACTED)[A-Za-z]+ [^"\s]+/i,
    ],
    ["a client secret", new RegExp(`${WRONG_SECRET}|${RIGHT_SECRET}`)],
    ["a client_secret form field", /client_secret=(?!\[Redacted\]|REDACTED)[^&\s"]+/i],
    ["a client assertion", /client_assertion=(?!\[Redacted\]|REDACTED)[^&\s"]+/i],
  ];
  return patterns
    .filter(([, pattern]) => pattern.test(text))
    .map(([what, pattern]) => `${what}: ${text.match(pattern)?.[0]}`);
}

describe("no secret in logs or events, through a run with faults", () => {
  let stack: Stack;
  let secretFile: string;
  const appId = randomUUID();

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    const arm = stack.arm.arm;
    await createResourceGroup(stack);
    await Promise.all(["vm-1", "vm-2", "vm-3"].map((name) => createVm(stack, name)));
    // azid's application has a secret; the Secret mounted for it holds a wrong one at first.
    arm.addPrincipal(arm.tenantId, randomUUID(), {
      kind: "ServicePrincipal",
      appId,
      clientSecret: RIGHT_SECRET,
    });
    secretFile = join(stack.dir, "client-secret");
    writeFileSync(secretFile, WRONG_SECRET);
    const credentialsFile = join(stack.dir, "credentials.yaml");
    writeFileSync(
      credentialsFile,
      `default:\n  tenantId: ${arm.tenantId}\n  clientId: ${appId}\n  clientSecretFile: ${secretFile}\n`,
    );
    await stack.apply(...teamNamespace(stack));
    await stack.startController({ resyncPeriod: "3s", logLevel: "trace", credentialsFile });
  });
  after(() => stack?.close());

  test("the detector finds what it looks for", () => {
    const token = stack.arm.arm.issueToken({});
    assert.equal(leaks(`{"headers":{"authorization":"Bearer ${token}"}}`).length, 3);
    assert.equal(leaks(`client_id=x&client_secret=${RIGHT_SECRET}&scope=y`).length, 2);
    assert.deepEqual(leaks(`{"authorization":"[Redacted]","msg":"Bearer [Redacted]"}`), []);
  });

  test("a run through a refused credential and ARM faults leaks nothing", async () => {
    const identities = ["one", "two", "three"].map((name, i) =>
      uai(stack, name, {
        roleAssignments: [{ role: "Reader", scope: rg(stack) }],
        federatedCredentials: [
          {
            name: "aks",
            issuer: "https://oidc.example.com/issuer",
            subject: `system:serviceaccount:${NS}:${name}`,
          },
        ],
        attachTo: [vm(stack, `vm-${i + 1}`)],
        graphAppRoles: [{ resourceAppId: GRAPH, appRole: "User.Read.All" }],
      }),
    );
    await stack.apply(...identities);
    const controller = stack.controllers[0]!;
    await eventually(
      async () => assert.match(readFileSync(controller.logFile, "utf8"), /AADSTS7000215|invalid_client/),
      30_000,
      "the credential refused",
    );

    // The right secret arrives (a Secret update); then ARM misbehaves while azid does its work.
    stack.arm.arm.setFaults({
      seed: 11,
      read: { errorRate: 0.15, throttleRate: 0.15, dropRate: 0.1 },
      write: { errorRate: 0.2, throttleRate: 0.2, dropRate: 0.1 },
      delete: { errorRate: 0.2, throttleRate: 0.2, dropRate: 0.1 },
    });
    writeFileSync(secretFile, RIGHT_SECRET);
    for (const name of ["one", "two", "three"]) await ready(stack, "uai", name, NS, 120_000);
    await stack.must(["delete", "uai", "three", "-n", NS, "--wait", "--timeout=120s"]);
    const { faults } = stack.arm.arm.stats();
    stack.arm.arm.setFaults({});
    assert.ok(faults.errors > 0 && faults.throttles > 0 && faults.drops > 0, JSON.stringify(faults));

    await controller.kill("SIGTERM");
    const log = readFileSync(controller.logFile, "utf8");
    assert.ok(log.split("\n").filter((line) => line.includes('"level":"debug"')).length > 50, "a debug log");
    assert.match(log, /AADSTS7000215|invalid_client/, "the refused credential is in the log");
    assert.deepEqual(leaks(log), [], "controller log");
    const events = await stack.must(["get", "events.events.k8s.io", "-A", "-o", "json"]);
    assert.ok(JSON.parse(events).items.length > 0);
    assert.deepEqual(leaks(events), [], "events");
  });
});
