// Issue 5's steady state: 200 identities, each with 3 role assignments, 1 federated credential
// and 1 attachment, reach Ready through kubectl; then 3 resyncs of all of them, with ARM's
// throttling on, issue no ARM write at all. Prints the ARM reads per identity per resync.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createResourceGroup, createVm, eventually, NS, rg, teamNamespace, uai, vm } from "./fixtures.js";
import { Stack } from "./stack.js";

const IDENTITIES = 200;
const RESYNCS = 3;
const CONTROLLER = "userassignedidentity";

/** One counter of the controller's /metrics, summed over the label sets that match. */
function metric(text: string, name: string, labels: RegExp = /.*/): number {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && labels.test(line))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

describe(`steady state: ${IDENTITIES} identities`, () => {
  let stack: Stack;

  before(async () => {
    // Fast ARM time and no throttling while the identities are made; throttling is back for the resyncs.
    stack = await Stack.start({ timeScale: 50, throttling: false });
    await createResourceGroup(stack);
    for (let first = 0; first < IDENTITIES; first += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, IDENTITIES - first) }, (_, i) =>
          createVm(stack, `vm-${first + i}`),
        ),
      );
    }
    await stack.apply(...teamNamespace(stack));
  });
  after(() => stack?.close());

  test(`all Ready, then ${RESYNCS} resyncs issue 0 ARM writes`, async () => {
    const identities = Array.from({ length: IDENTITIES }, (_, i) =>
      uai(stack, `app-${i}`, {
        roleAssignments: [
          { role: "Reader", scope: rg(stack) },
          { role: "Storage Blob Data Reader", scope: rg(stack) },
          { role: "Reader", scope: vm(stack, `vm-${i}`) },
        ],
        federatedCredentials: [
          {
            name: "aks",
            issuer: "https://oidc.example.com/issuer",
            subject: `system:serviceaccount:${NS}:app-${i}`,
          },
        ],
        attachTo: [vm(stack, `vm-${i}`)],
      }),
    );
    await stack.apply(...identities);
    const started = Date.now();
    const controller = await stack.startController({ resyncPeriod: "5s", concurrency: 16 });
    await stack.waitReady("uai", NS, "240s");
    console.log(`build-up: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const arm = stack.arm.arm;
    const assignments = await stack.arm.request(
      "GET",
      `/subscriptions/${stack.subscriptionId}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`,
    );
    assert.equal(assignments.body.value.length, IDENTITIES * 3);

    arm.updateSettings({ throttling: true });
    arm.resetThrottling();
    arm.resetStats();
    const resyncing = Date.now();
    const reconciled = async () =>
      metric(
        await controller.metrics(),
        "controller_runtime_reconcile_total",
        new RegExp(`controller="${CONTROLLER}"`),
      );
    const start = await reconciled();
    await eventually(
      async () => assert.ok((await reconciled()) >= start + RESYNCS * IDENTITIES),
      120_000,
      `${RESYNCS} resyncs`,
    );
    const reconciles = (await reconciled()) - start;
    console.log(`resyncs: ${((Date.now() - resyncing) / 1000).toFixed(1)} s`);
    const stats = arm.stats();
    const rounds = reconciles / IDENTITIES;
    console.log(`resync rounds: ${rounds.toFixed(2)}`);
    console.log(`arm writes during resyncs: ${stats.requests.write + stats.requests.delete}`);
    console.log(`arm reads per identity per resync: ${(stats.requests.read / reconciles).toFixed(2)}`);
    console.log(`arm 429s during resyncs: ${stats.throttled}`);
    console.log(`arm reads by operation: ${JSON.stringify(stats.byOperation)}`);
    assert.equal(stats.requests.write, 0, JSON.stringify(stats.byOperation));
    assert.equal(stats.requests.delete, 0, JSON.stringify(stats.byOperation));
    assert.ok(stats.requests.read > 0, "the resyncs did look at Azure");
  });
});
