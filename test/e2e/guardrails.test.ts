// Issue 7's escalation matrix through kubectl, the chart's ValidatingAdmissionPolicy and the real
// controller process: every attempt to use azid's credential beyond what an IdentityPolicy allows
// is refused at admission (CRD schema, CEL, the chart's policy) or by the controller with
// PolicyViolation, and reaches ARM with no write; what is allowed still works; and a policy
// change re-evaluates without tearing anything down.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { findObject, renderChart } from "../chart/helm.js";
import {
  armWrites,
  asSomeoneElse,
  assignmentsOf,
  attachedTo,
  conditionOf,
  conditionReached,
  createResourceGroup,
  createVm,
  customRole,
  eventRecorded,
  eventually,
  GRAPH,
  ready,
  rg,
  sai,
  uai,
  vm,
} from "./fixtures.js";
import { Stack } from "./stack.js";

const GUARDED = "guarded";
const TRUSTED = "trusted";
const OPT_IN = "azid.dev/allow-privileged-grants";

describe("guardrails: no escalation through azid", () => {
  let stack: Stack;
  let sub: string;
  const otherSubscription = randomUUID();

  const policy = (roles: string[]) => ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "IdentityPolicy",
    metadata: { name: "teams" },
    spec: {
      namespaceSelector: { matchExpressions: [{ key: "team", operator: "In", values: [GUARDED, TRUSTED] }] },
      subscriptions: [{ subscriptionId: stack.subscriptionId, resourceGroups: ["app-rg"] }],
      roles: [{ roles, scopes: [{ scope: rg(stack), match: "Under" }] }],
      attachTargets: [{ scope: rg(stack), match: "Under" }],
      graphAppRoles: [{ resourceAppId: GRAPH, appRoles: ["User.Read.All"] }],
      allowCustomRoles: true,
      deny: [
        {
          description: "the payments VM is off limits",
          attachTargets: [{ scope: vm(stack, "vm-payments"), match: "Exact" }],
        },
      ],
    },
  });
  const privileged = {
    apiVersion: "azid.dev/v1alpha1",
    kind: "IdentityPolicy",
    metadata: { name: "trusted-rbac-admin" },
    spec: {
      namespaceSelector: { matchLabels: { team: TRUSTED } },
      privilegedRoles: ["Role Based Access Control Administrator"],
      roles: [
        { roles: ["Role Based Access Control Administrator"], scopes: [{ scope: "", match: "Exact" }] },
      ],
    },
  };

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    sub = `/subscriptions/${stack.subscriptionId}`;
    privileged.spec.roles[0]!.scopes[0]!.scope = rg(stack);
    stack.arm.arm.addSubscription(otherSubscription, stack.arm.arm.tenantId, "not theirs");
    await Promise.all([createResourceGroup(stack), createResourceGroup(stack, "other-rg")]);
    await Promise.all([
      createVm(stack, "vm-app"),
      createVm(stack, "vm-payments"),
      createVm(stack, "vm-other", undefined, "other-rg"),
    ]);
    // The chart's guardrails, as `helm install` puts them on the cluster.
    const chart = renderChart();
    await stack.apply(
      findObject(chart, "ValidatingAdmissionPolicy"),
      findObject(chart, "ValidatingAdmissionPolicyBinding"),
      { apiVersion: "v1", kind: "Namespace", metadata: { name: GUARDED, labels: { team: GUARDED } } },
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: TRUSTED, labels: { team: TRUSTED, [OPT_IN]: "true" } },
      },
      policy(["Reader", "Storage Blob Data Reader", "Wildcard"]),
      privileged,
    );
    await stack.startController({ resyncPeriod: "3s" });
  });
  after(() => stack?.close());

  /** `kubectl apply` of one object that admission must refuse; answers kubectl's error. */
  async function refusedAtAdmission(object: {
    kind: string;
    metadata: { name: string; namespace?: string };
  }) {
    const result = await stack.kubectl.run(["apply", "-f", "-"], { input: JSON.stringify(object) });
    assert.notEqual(result.code, 0, `${object.metadata.name} was admitted`);
    const { name, namespace = GUARDED } = object.metadata;
    assert.equal(await stack.get(object.kind, name, namespace), undefined);
    return result.stderr;
  }

  test("admission refuses privileged grants outside opted-in namespaces, and crafted ids everywhere", async () => {
    const writes = armWrites(stack);
    const refusals: Array<[object, RegExp]> = [
      [
        uai(stack, "owner", { roleAssignments: [{ role: "Owner", scope: sub }] }, GUARDED),
        /ValidatingAdmissionPolicy 'azid-guardrails'.*roles that can grant roles \(Owner\)/,
      ],
      [
        uai(
          stack,
          "uaa",
          { roleAssignments: [{ roleDefinitionId: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", scope: sub }] },
          GUARDED,
        ),
        /roles that can grant roles \(18d7d88d/,
      ],
      [
        uai(
          stack,
          "rbac-admin",
          { roleAssignments: [{ role: "Role Based Access Control Administrator", scope: rg(stack) }] },
          GUARDED,
        ),
        /roles that can grant roles/,
      ],
      [
        customRole(stack, "wildcard", { roleName: "Wildcard", permissions: [{ actions: ["*"] }] }, GUARDED),
        /roleAssignments\/write \(or a wildcard that matches it\)/,
      ],
      [
        uai(
          stack,
          "graph-admin",
          { graphAppRoles: [{ appRole: "RoleManagement.ReadWrite.Directory" }] },
          GUARDED,
        ),
        /Microsoft Graph permissions that can escalate/,
      ],
      // Crafted ids: the CRD schema accepts no dot segment, query, escape or extra slash in a name.
      [
        uai(
          stack,
          "dots",
          { attachTo: [`${rg(stack)}/providers/Microsoft.Compute/virtualMachines/../../../other-rg`] },
          GUARDED,
        ),
        /spec\.attachTo\[0\]/,
      ],
      [
        uai(
          stack,
          "query",
          { roleAssignments: [{ role: "Reader", scope: `${rg(stack)}?api-version=2015-07-01` }] },
          GUARDED,
        ),
        /spec\.roleAssignments\[0\]\.scope/,
      ],
      [uai(stack, "group", { resourceGroup: "app-rg/../other-rg" }, GUARDED), /spec\.resourceGroup/],
      [uai(stack, "named", { name: "x?api-version=1" }, GUARDED), /spec\.name/],
      [
        uai(
          stack,
          "subscription",
          { subscriptionId: `${stack.subscriptionId}/resourceGroups/other-rg` },
          GUARDED,
        ),
        /spec\.subscriptionId/,
      ],
      [
        sai(
          stack,
          "escaped",
          `${rg(stack)}/providers/Microsoft.Compute/virtualMachines/x%2F..%2F..%2Fother-rg`,
          {},
          GUARDED,
        ),
        /spec\.resourceId/,
      ],
      [
        uai(
          stack,
          "credential",
          { federatedCredentials: [{ name: "../x", issuer: "https://issuer.example.com", subject: "s" }] },
          GUARDED,
        ),
        /spec\.federatedCredentials\[0\]\.name/,
      ],
    ];
    for (const [object, message] of refusals) {
      assert.match(await refusedAtAdmission(object as never), message);
    }
    assert.equal(armWrites(stack), writes, "no ARM write");
  });

  test("the controller refuses the rest with PolicyViolation and no ARM write", async () => {
    // In the trusted namespace admission lets privileged roles through: the IdentityPolicy decides.
    await stack.apply(
      customRole(
        stack,
        "wildcard",
        { roleName: "Wildcard", permissions: [{ actions: ["*"] }], assignableScopes: [rg(stack)] },
        TRUSTED,
      ),
    );
    await ready(stack, "azrole", "wildcard", TRUSTED);
    const writes = armWrites(stack);
    const cases: Array<[object, string, RegExp]> = [
      [
        uai(stack, "other-group", { resourceGroup: "other-rg" }, GUARDED),
        GUARDED,
        /identities in resource group other-rg .*\(default deny\)$/,
      ],
      [
        uai(stack, "other-sub", { subscriptionId: otherSubscription }, GUARDED),
        GUARDED,
        new RegExp(
          `identities in resource group app-rg of subscription ${otherSubscription} \\(default deny\\)$`,
        ),
      ],
      [
        uai(stack, "wide-scope", { roleAssignments: [{ role: "Reader", scope: sub }] }, GUARDED),
        GUARDED,
        /allows Reader at \/subscriptions\/[^/ ]+ \(default deny\)$/,
      ],
      [
        uai(
          stack,
          "other-scope",
          { roleAssignments: [{ role: "Reader", scope: rg(stack, "other-rg") }] },
          GUARDED,
        ),
        GUARDED,
        /allows Reader at .*\/other-rg \(default deny\)$/,
      ],
      [
        uai(
          stack,
          "foreign-scope",
          { roleAssignments: [{ role: "Reader", scope: `/subscriptions/${otherSubscription}` }] },
          GUARDED,
        ),
        GUARDED,
        new RegExp(`Reader at /subscriptions/${otherSubscription} \\(default deny\\)$`),
      ],
      [
        uai(
          stack,
          "unlisted-role",
          { roleAssignments: [{ role: "Storage Blob Data Contributor", scope: rg(stack) }] },
          GUARDED,
        ),
        GUARDED,
        /allows Storage Blob Data Contributor at .* \(default deny\)$/,
      ],
      [
        uai(stack, "outside", { attachTo: [vm(stack, "vm-other", "other-rg")] }, GUARDED),
        GUARDED,
        /attaching to .*vm-other \(default deny\)$/,
      ],
      [
        uai(stack, "payments", { attachTo: [vm(stack, "vm-payments")] }, GUARDED),
        GUARDED,
        /the payments VM is off limits \(IdentityPolicy\/teams deny\[0\]\)$/,
      ],
      [
        sai(stack, "outside", vm(stack, "vm-other", "other-rg"), {}, GUARDED),
        GUARDED,
        /enabling a system-assigned identity on .*vm-other \(default deny\)$/,
      ],
      [
        uai(stack, "mail", { graphAppRoles: [{ appRole: "Mail.Read" }] }, GUARDED),
        GUARDED,
        /app role Mail\.Read .*\(default deny\)$/,
      ],
      [
        customRole(
          stack,
          "foreign-role",
          { subscriptionId: otherSubscription, assignableScopes: [`/subscriptions/${otherSubscription}`] },
          GUARDED,
        ),
        GUARDED,
        new RegExp(`custom roles assignable in subscription ${otherSubscription} \\(default deny\\)$`),
      ],
      ...["Owner", "User Access Administrator", "Contributor", "Key Vault Data Access Administrator"].map(
        (role) =>
          [
            uai(
              stack,
              `grants-${role.toLowerCase().replace(/ /g, "-")}`,
              { roleAssignments: [{ role, scope: rg(stack) }] },
              TRUSTED,
            ),
            TRUSTED,
            new RegExp(`${role} is refused: it is privileged .*\\(privileged role\\)$`),
          ] as [object, string, RegExp],
      ),
      [
        uai(
          stack,
          "grants-wildcard",
          { roleAssignments: [{ customRoleRef: { name: "wildcard" }, scope: rg(stack) }] },
          TRUSTED,
        ),
        TRUSTED,
        /Wildcard.* is refused: it is privileged .*\(privileged role\)$/,
      ],
      [
        uai(
          stack,
          "rbac-admin-wide",
          { roleAssignments: [{ role: "Role Based Access Control Administrator", scope: sub }] },
          TRUSTED,
        ),
        TRUSTED,
        /allows Role Based Access Control Administrator at \/subscriptions\/[^/ ]+ \(default deny\)$/,
      ],
    ];
    await stack.apply(...cases.map(([object]) => object));
    for (const [object, namespace, rule] of cases) {
      const { kind, metadata } = object as { kind: string; metadata: { name: string } };
      const refused = await conditionReached(
        stack,
        kind,
        metadata.name,
        "PolicyViolation",
        "True",
        "PolicyDenied",
        namespace,
      );
      assert.match(conditionOf(refused, "PolicyViolation")?.message ?? "", rule, `${kind}/${metadata.name}`);
      assert.equal(conditionOf(refused, "Ready")?.status, "False");
    }
    await eventRecorded(
      stack,
      "userassignedidentity",
      "grants-owner",
      [/Warning/, /PolicyViolation|PolicyDenied/],
      TRUSTED,
    );
    assert.equal(armWrites(stack), writes, "no ARM write for any of them");
  });

  test("allowed cases still work, privileged ones only where a policy names them", async () => {
    await stack.apply(
      uai(
        stack,
        "app",
        {
          roleAssignments: [{ role: "Reader", scope: rg(stack) }],
          attachTo: [vm(stack, "vm-app")],
          graphAppRoles: [{ appRole: "User.Read.All" }],
        },
        GUARDED,
      ),
      uai(
        stack,
        "delegate",
        { roleAssignments: [{ role: "Role Based Access Control Administrator", scope: rg(stack) }] },
        TRUSTED,
      ),
    );
    const app = await ready(stack, "uai", "app", GUARDED);
    assert.equal((await assignmentsOf(stack, app.status?.principalId)).length, 1);
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-app")), ["app"]);
    const delegate = await ready(stack, "uai", "delegate", TRUSTED);
    assert.equal((await assignmentsOf(stack, delegate.status?.principalId)).length, 1);
  });

  test("a policy change re-evaluates: what became disallowed stops changing and says so, and is not torn down", async () => {
    const app = await ready(stack, "uai", "app", GUARDED);
    const principal = app.status?.principalId as string;
    const writes = armWrites(stack);
    await stack.apply(policy(["Storage Blob Data Reader"]));
    const refused = await conditionReached(
      stack,
      "uai",
      "app",
      "PolicyViolation",
      "True",
      "PolicyDenied",
      GUARDED,
    );
    assert.match(conditionOf(refused, "PolicyViolation")?.message ?? "", /Reader/);
    assert.equal(conditionOf(refused, "Ready")?.reason, "PolicyDenied");

    // Someone revokes the grant in the portal: while refused, azid does not put it back.
    const [assignment] = await assignmentsOf(stack, principal);
    assert.ok(assignment);
    assert.equal(
      (await asSomeoneElse(stack, "DELETE", `${assignment.id}?api-version=2022-04-01`)).status,
      200,
    );
    // The positive signal: every identity of the namespace reconciled again after the DELETE.
    const names = (await stack.must(["get", "uai", "-n", GUARDED, "-o", "name"])).split("\n").filter(Boolean);
    const reconciles = async () =>
      [
        ...((await stack.controllers[0]?.metrics()) ?? "").matchAll(
          /^controller_runtime_reconcile_total\{controller="userassignedidentity".*\} (\d+)$/gm,
        ),
      ].reduce((sum, match) => sum + Number(match[1]), 0);
    const before = await reconciles();
    await stack.must(["annotate", "uai", "--all", "-n", GUARDED, `example.com/nudge=${Date.now()}`]);
    await eventually(
      async () => assert.ok((await reconciles()) >= before + names.length),
      30_000,
      "every identity reconciled after the DELETE",
    );
    assert.deepEqual(await assignmentsOf(stack, principal), [], "not repaired while refused");
    assert.equal(
      armWrites(stack),
      writes + 1,
      "nothing torn down or repaired: the only write is the portal's",
    );
    assert.deepEqual(await attachedTo(stack, vm(stack, "vm-app")), ["app"]);
    assert.equal(
      (await stack.arm.request("GET", `/v1.0/servicePrincipals/${principal}/appRoleAssignments`)).body.value
        .length,
      1,
    );

    await stack.apply(policy(["Reader", "Storage Blob Data Reader", "Wildcard"]));
    await ready(stack, "uai", "app", GUARDED);
    assert.equal((await assignmentsOf(stack, principal)).length, 1, "allowed again: repaired");
  });
});
