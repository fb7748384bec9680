// Every Azure error of issue 5 through kubectl and the real controller process: each gives its
// condition reason and a Warning event, and the retry it deserves (terminal ones stop writing
// until something changes; the others recover on their own).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SANDBOX_CLIENT_ID } from "../../src/config/controller-config.js";
import {
  armGet,
  armWrites,
  assignmentsOf,
  attachedTo,
  conditionOf,
  conditionReached,
  createResourceGroup,
  createVm,
  eventRecorded,
  eventually,
  grantInAzure,
  identityId,
  NS,
  observed,
  ROLE,
  ready,
  rg,
  sai,
  teamNamespace,
  uai,
} from "./fixtures.js";
import { type ControllerProcess, Stack } from "./stack.js";

/** azid's own service principal in the sandbox tenant, registered up front so a test can restrict it. */
const AZID_OID = "a2d1d000-0000-4000-8000-0000000000a1";
const MANAGED_IDENTITY_CONTRIBUTOR = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59";
const RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168";

/** ARM answers of one operation template with one status, so far. */
function answered(stack: Stack, operation: RegExp): number {
  const { byOperation } = stack.arm.arm.stats();
  return Object.entries(byOperation)
    .filter(([key]) => operation.test(key))
    .reduce((sum, [, count]) => sum + count, 0);
}

/** The sum of one metric's series whose labels include `labels`. */
async function metric(stack: Stack, name: string, labels: string): Promise<number> {
  const text = await (stack.controllers[0] as ControllerProcess).metrics();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

const UAI_CONTROLLER = 'controller="userassignedidentity"';
let probes = 0;

/**
 * Asserts that the controller stopped trying `key` (a UserAssignedIdentity) after a failure judged
 * terminal for `reason`. The positive signals: the error policy's verdict counted
 * (azid_reconcile_stopped_total), then a later reconcile of the same queue (a Ready identity,
 * "probe", nudged) finished. Then nothing happened: no write matching `operation` reached ARM in
 * between, and the queue never scheduled a retry of `key` (its log line names the key).
 */
async function stopsTrying(
  stack: Stack,
  key: string,
  reason: string,
  operation: RegExp,
  what: string,
): Promise<void> {
  await eventually(
    async () => assert.ok((await metric(stack, "azid_reconcile_stopped_total", `reason="${reason}"`)) > 0),
    30_000,
    `${what}: a terminal verdict`,
  );
  const before = answered(stack, operation);
  const reconciles = await metric(stack, "controller_runtime_reconcile_total", UAI_CONTROLLER);
  await stack.must([
    "annotate",
    "uai",
    "probe",
    "-n",
    NS,
    `ops.example.com/probe=${++probes}`,
    "--overwrite",
  ]);
  await eventually(
    async () =>
      assert.ok((await metric(stack, "controller_runtime_reconcile_total", UAI_CONTROLLER)) > reconciles),
    30_000,
    "the probe's reconcile",
  );
  assert.equal(answered(stack, operation), before, `${what}: no retry while nothing changes`);
  const retried = readFileSync((stack.controllers[0] as ControllerProcess).logFile, "utf8")
    .split("\n")
    .filter((line) => line.includes(`"key":"${key}"`) && line.includes("retrying after backoff"));
  assert.deepEqual(retried, [], `${what}: no retry scheduled for ${key}`);
}

const PUT_IDENTITY = /^PUT .*userAssignedIdentities\/\{[^}]+\}$/;
const PUT_ASSIGNMENT = /^PUT .*roleAssignments\//;

describe("Azure errors through kubectl and azid controller", () => {
  let stack: Stack;
  const other = { subscriptionId: randomUUID(), tenantId: randomUUID() };

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    const arm = stack.arm.arm;
    arm.addPrincipal(arm.tenantId, AZID_OID, { kind: "ServicePrincipal", appId: SANDBOX_CLIENT_ID });
    await createResourceGroup(stack);
    await createResourceGroup(stack, "locked-rg");

    // A second subscription, still in the sandbox tenant: an identity made there now moves with
    // it to another tenant. azid's credential for it is the new tenant's (as it must be after a move).
    arm.addSubscription(other.subscriptionId, arm.tenantId, "moved");
    const otherRg = `/subscriptions/${other.subscriptionId}/resourceGroups/app-rg`;
    const res = await stack.arm.request("PUT", `${otherRg}?api-version=2025-04-01`, {
      body: { location: "westeurope" },
    });
    assert.equal(res.status, 201, res.text);
    const identity = await stack.arm.request(
      "PUT",
      `${otherRg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/foreign?api-version=2024-11-30`,
      { body: { location: "westeurope" } },
    );
    assert.equal(identity.status, 201, identity.text);
    arm.moveSubscription(other.subscriptionId, other.tenantId);
    const secretFile = join(stack.dir, "other-secret");
    writeFileSync(secretFile, "a-secret-for-the-other-tenant\n");
    const credentialsFile = join(stack.dir, "credentials.yaml");
    writeFileSync(
      credentialsFile,
      `subscriptions:\n  ${other.subscriptionId}:\n    tenantId: ${other.tenantId}\n    clientId: ${randomUUID()}\n    clientSecretFile: ${secretFile}\n`,
    );

    const [namespace, policy] = teamNamespace(stack) as [object, { spec: Record<string, unknown> }];
    await stack.apply(namespace, {
      ...policy,
      spec: {
        ...policy.spec,
        subscriptions: [{ subscriptionId: stack.subscriptionId }, { subscriptionId: other.subscriptionId }],
        roles: [
          {
            roles: ["Reader"],
            scopes: [
              { scope: `/subscriptions/${stack.subscriptionId}`, match: "Under" },
              { scope: `/subscriptions/${other.subscriptionId}`, match: "Under" },
            ],
          },
        ],
      },
    });
    // No periodic resync: what comes back comes back through the error policy alone.
    await stack.startController({ resyncPeriod: "10m", credentialsFile });
    // A Ready identity whose nudged reconcile shows the queue went on (stopsTrying).
    await stack.apply(uai(stack, "probe"));
    await ready(stack, "uai", "probe");
  });
  after(() => stack?.close());

  test("Azure Policy denial: AzurePolicyDenied naming the policy, terminal", async () => {
    stack.arm.arm.setPolicies([
      {
        name: "no-identities-in-locked-rg",
        displayName: "Identities are not allowed in locked-rg",
        scope: rg(stack, "locked-rg"),
        resourceType: "Microsoft.ManagedIdentity/userAssignedIdentities",
      },
    ]);
    await stack.apply(uai(stack, "denied", { resourceGroup: "locked-rg" }));
    const denied = await conditionReached(stack, "uai", "denied", "Ready", "False", "AzurePolicyDenied");
    assert.match(
      conditionOf(denied, "IdentityReady")?.message ?? "",
      /Identities are not allowed in locked-rg/,
    );
    await eventRecorded(stack, "userassignedidentity", "denied", [
      /Warning/,
      /AzurePolicyDenied/,
      /Identities are not allowed in locked-rg/,
    ]);
    await stopsTrying(
      stack,
      `UserAssignedIdentity/${NS}/denied`,
      "AzurePolicyDenied",
      PUT_IDENTITY,
      "policy denial",
    );
    // The reason is a default column of `kubectl get uai`, not only of -o wide.
    const table = await stack.must(["get", "uai", "denied", "-n", NS]);
    assert.match(table.split("\n")[0] ?? "", /^NAME\s+READY\s+REASON\s+CLIENT ID\s+AGE$/);
    assert.match(table.split("\n")[1] ?? "", /^denied\s+False\s+AzurePolicyDenied\s/);
    stack.arm.arm.setPolicies([]);
    await stack.must(["delete", "uai", "denied", "-n", NS, "--wait", "--timeout=30s"]);
  });

  test("missing permission: MissingPermission naming the action, terminal, recovers once granted", async () => {
    const arm = stack.arm.arm;
    const sub = `/subscriptions/${stack.subscriptionId}`;
    await grantInAzure(stack, AZID_OID, ROLE.Reader, sub);
    await grantInAzure(stack, AZID_OID, MANAGED_IDENTITY_CONTRIBUTOR, sub);
    arm.setCallerRestricted(AZID_OID, true);
    try {
      await stack.apply(uai(stack, "grantless", { roleAssignments: [{ role: "Reader", scope: rg(stack) }] }));
      const refused = await conditionReached(
        stack,
        "uai",
        "grantless",
        "Ready",
        "False",
        "MissingPermission",
      );
      assert.equal(conditionOf(refused, "IdentityReady")?.status, "True", "what it may do, it does");
      assert.equal(conditionOf(refused, "RolesGranted")?.reason, "MissingPermission");
      assert.match(
        conditionOf(refused, "RolesGranted")?.message ?? "",
        /Microsoft\.Authorization\/roleAssignments\/write/,
      );
      await eventRecorded(stack, "userassignedidentity", "grantless", [/Warning/, /MissingPermission/]);
      await stopsTrying(
        stack,
        `UserAssignedIdentity/${NS}/grantless`,
        "MissingPermission",
        PUT_ASSIGNMENT,
        "missing permission",
      );

      // The platform team grants the role; azid finds out at its next recheck, without a nudge.
      await grantInAzure(stack, AZID_OID, RBAC_ADMINISTRATOR, rg(stack));
      const granted = await ready(stack, "uai", "grantless", NS, 60_000);
      assert.equal((await assignmentsOf(stack, granted.status?.principalId)).length, 1);
    } finally {
      arm.setCallerRestricted(AZID_OID, false);
    }
  });

  test("missing resource group: ResourceGroupNotFound, retried until it exists", async () => {
    await stack.apply(uai(stack, "homeless", { resourceGroup: "later-rg" }));
    await conditionReached(stack, "uai", "homeless", "Ready", "False", "ResourceGroupNotFound");
    await eventRecorded(stack, "userassignedidentity", "homeless", [/Warning/, /ResourceGroupNotFound/]);
    await createResourceGroup(stack, "later-rg");
    await ready(stack, "uai", "homeless", NS, 60_000);
    assert.ok(await armGet(stack, identityId(stack, "homeless", "later-rg"), "2024-11-30"));
  });

  test("missing target resource: TargetNotFound, attached once it exists", async () => {
    const target = `${rg(stack)}/providers/Microsoft.Compute/virtualMachines/vm-later`;
    await stack.apply(uai(stack, "reacher", { attachTo: [target] }));
    const missing = await conditionReached(stack, "uai", "reacher", "Attached", "False", "TargetNotFound");
    assert.equal(conditionOf(missing, "Ready")?.reason, "TargetNotFound");
    await eventRecorded(stack, "userassignedidentity", "reacher", [/Warning/, /TargetNotFound/]);
    await createVm(stack, "vm-later");
    await ready(stack, "uai", "reacher", NS, 60_000);
    assert.deepEqual(await attachedTo(stack, target), ["reacher"]);
  });

  test("Cloud Services (classic): UnsupportedTarget, nothing sent to the target", async () => {
    const classic = `${rg(stack)}/providers/Microsoft.ClassicCompute/domainNames/legacy-cs`;
    const patches = /^PATCH .*Microsoft\.ClassicCompute/;
    await stack.apply(uai(stack, "classic", { attachTo: [classic] }), sai(stack, "classic", classic));
    const attached = await conditionReached(
      stack,
      "uai",
      "classic",
      "Attached",
      "False",
      "UnsupportedTarget",
    );
    assert.match(conditionOf(attached, "Attached")?.message ?? "", /Cloud Services \(classic\)/i);
    await conditionReached(stack, "sai", "classic", "Ready", "False", "UnsupportedTarget");
    await eventRecorded(stack, "userassignedidentity", "classic", [/Warning/, /UnsupportedTarget/]);
    await eventRecorded(stack, "systemassignedidentity", "classic", [/Warning/, /UnsupportedTarget/]);
    assert.equal(answered(stack, patches), 0);
    await stack.must(["delete", "uai,sai", "classic", "-n", NS, "--wait", "--timeout=30s"]);
  });

  test("a principal from another tenant: TenantMismatch, nothing written until a repair is approved", async () => {
    const writes = armWrites(stack);
    await stack.apply(
      uai(stack, "foreign", {
        subscriptionId: other.subscriptionId,
        roleAssignments: [
          { role: "Reader", scope: `/subscriptions/${other.subscriptionId}/resourceGroups/app-rg` },
        ],
      }),
    );
    const foreign = await conditionReached(stack, "uai", "foreign", "TenantMismatch", "True");
    assert.equal(conditionOf(foreign, "Ready")?.reason, "RepairAwaitingApproval");
    assert.match(conditionOf(foreign, "TenantMismatch")?.message ?? "", new RegExp(other.tenantId));
    await eventRecorded(stack, "userassignedidentity", "foreign", [/Warning/, /TenantMoved/]);
    // The positive signal: its next reconcile, nudged, has ended.
    const reconciles = await metric(stack, "controller_runtime_reconcile_total", UAI_CONTROLLER);
    await stack.must(["annotate", "uai", "foreign", "-n", NS, "ops.example.com/nudge=1", "--overwrite"]);
    await eventually(
      async () =>
        assert.ok((await metric(stack, "controller_runtime_reconcile_total", UAI_CONTROLLER)) > reconciles),
      30_000,
      "its next reconcile",
    );
    assert.equal(armWrites(stack), writes, "no ARM write for a principal of another tenant");
  });

  test("role assignment limit: RoleAssignmentLimitExceeded, terminal until something changes", async () => {
    const everything = await armGet(
      stack,
      `/subscriptions/${stack.subscriptionId}/providers/Microsoft.Authorization/roleAssignments`,
      "2022-04-01",
    );
    stack.arm.arm.updateSettings({ roleAssignmentLimit: everything.value.length });
    await stack.apply(uai(stack, "limited", { roleAssignments: [{ role: "Reader", scope: rg(stack) }] }));
    const limited = await conditionReached(
      stack,
      "uai",
      "limited",
      "Ready",
      "False",
      "RoleAssignmentLimitExceeded",
    );
    assert.equal(conditionOf(limited, "RolesGranted")?.reason, "RoleAssignmentLimitExceeded");
    await eventRecorded(stack, "userassignedidentity", "limited", [/Warning/, /RoleAssignmentLimitExceeded/]);
    await stopsTrying(
      stack,
      `UserAssignedIdentity/${NS}/limited`,
      "RoleAssignmentLimitExceeded",
      PUT_ASSIGNMENT,
      "role assignment limit",
    );

    // Room is made; any change to the object (here an annotation) looks again at once.
    stack.arm.arm.updateSettings({ roleAssignmentLimit: 4000 });
    await stack.must(["annotate", "uai", "limited", "-n", NS, "ops.example.com/nudge=1"]);
    const granted = await ready(stack, "uai", "limited");
    assert.equal((await assignmentsOf(stack, granted.status?.principalId)).length, 1);
  });
});

describe("ARM throttling and failed reads through azid controller at Azure's pace", () => {
  let stack: Stack;
  let controller: Awaited<ReturnType<Stack["startController"]>>;

  before(async () => {
    stack = await Stack.start({ timeScale: 1 });
    await createResourceGroup(stack);
    await stack.apply(...teamNamespace(stack));
    controller = await stack.startController({ resyncPeriod: "10m" });
  });
  after(() => stack?.close());

  test("failed reads: a Ready identity stays Ready through a blip, and turns not Ready when they last", async () => {
    const arm = stack.arm.arm;
    await stack.apply(uai(stack, "steady"));
    await ready(stack, "uai", "steady");
    const errors = async () => {
      const line = (await controller.metrics())
        .split("\n")
        .find((l) =>
          l.startsWith('controller_runtime_reconcile_errors_total{controller="userassignedidentity"}'),
        );
      return Number(line?.split(" ").at(-1) ?? 0);
    };
    // Every change of Ready the API server makes, as a watch (kubectl) sees them.
    const readyPath = '{.status.conditions[?(@.type=="Ready")].status}{"\\n"}';
    const watching = stack.kubectl.run(
      ["get", "uai", "steady", "-n", NS, "-w", "--request-timeout=10s", "-o", `jsonpath=${readyPath}`],
      { timeoutMs: 30_000 },
    );
    await sleep(1_000); // the watch is open

    // One reconcile whose reads fail (after the SDK's retries); ARM answers again right after.
    const before = await errors();
    arm.setFaults({ read: { errorRate: 1 } });
    try {
      await stack.must(["annotate", "uai", "steady", "-n", NS, "ops.example.com/nudge=1"]);
      await eventually(async () => assert.ok((await errors()) > before), 30_000, "a failed reconcile");
    } finally {
      arm.setFaults({});
    }
    await eventRecorded(stack, "userassignedidentity", "steady", [/Warning/]);
    const seen = (await watching).stdout.split("\n").filter(Boolean);
    assert.ok(seen.length > 0, "the watch saw the object");
    assert.deepEqual([...new Set(seen)], ["True"], "Ready never left True");

    // Reads that keep failing: after a few backed-off attempts the status says so.
    arm.setFaults({ read: { errorRate: 1 } });
    try {
      await stack.must(["annotate", "uai", "steady", "-n", NS, "ops.example.com/nudge=2", "--overwrite"]);
      await conditionReached(stack, "uai", "steady", "Ready", "False");
    } finally {
      arm.setFaults({});
    }
    await ready(stack, "uai", "steady");
  });

  test("429s: Throttled with a Warning event, Retry-After honoured, and it still converges", async () => {
    const arm = stack.arm.arm;
    arm.setFaults({ write: { throttleRate: 1 } });
    const started = Date.now();
    await stack.apply(uai(stack, "busy", { roleAssignments: [{ role: "Reader", scope: rg(stack) }] }));
    await observed(stack, "uai", "busy", (object) => {
      const reasons = (object.status?.conditions ?? []).map((c) => c.reason);
      assert.ok(reasons.includes("Throttled"), JSON.stringify(object.status?.conditions));
    });
    await eventRecorded(stack, "userassignedidentity", "busy", [/Warning/, /Throttled/]);
    await sleep(3_000);
    arm.setFaults({});
    const seconds = (Date.now() - started) / 1000;
    const throttles = arm.stats().faults.throttles;
    // Each 429 says Retry-After: 1 (second): one identity's writes wait it out before trying again.
    assert.ok(throttles >= 2, `throttled ${throttles} times`);
    assert.ok(throttles <= Math.ceil(seconds) + 2, `${throttles} 429s in ${seconds.toFixed(1)} s`);
    const busy = await ready(stack, "uai", "busy");
    assert.equal((await assignmentsOf(stack, busy.status?.principalId)).length, 1);
  });
});
