// The skeleton every planner shares: the opening gates, the tenant check, the write-or-wait rule
// and the finish, first as pure functions, then through each kind's planner.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Condition } from "../../src/api/schemas/common.js";
import * as build from "../../src/plan/build.js";
import { planCustomRole } from "../../src/plan/custom-role.js";
import { emptyObserved, type ObservedState } from "../../src/plan/observed.js";
import type { PlanContext, PlanResult } from "../../src/plan/plan-types.js";
import type { PolicyDecision } from "../../src/plan/policy.js";
import {
  type OpeningInput,
  openingStop,
  PlanFrame,
  type TenantInput,
  tenantMismatch,
} from "../../src/plan/skeleton.js";
import { planSystemAssignedIdentity } from "../../src/plan/system-assigned.js";
import { planUserAssignedIdentity } from "../../src/plan/user-assigned.js";
import { ALLOWED, context, customRole, NOW, sai, uai } from "./support/resources.js";
import { identityIdOf, NEW_TENANT, SUB, TENANT } from "./support/world.js";

const REFUSED: PolicyDecision = {
  allowed: false,
  violations: [{ field: "spec", rule: "default deny", message: "no IdentityPolicy selects team-a" }],
  policies: [],
  tenantMoveRemediation: "Manual",
};
/** Refuses one item only: the resource is planned, its writes are blocked. */
const ITEM_REFUSED: PolicyDecision = {
  allowed: false,
  violations: [
    {
      field: "spec.roleAssignments[0]",
      item: { list: "roleAssignments", index: 0 },
      rule: "IdentityPolicy/team-a deny[0]",
      message: "Owner is a privileged role",
    },
  ],
  policies: ["team-a"],
  tenantMoveRemediation: "Manual",
};

describe("planner skeleton: the opening gates", () => {
  const base: OpeningInput = { invalid: undefined, policy: ALLOWED, deleting: false, orphans: false };
  const cases: Array<{
    name: string;
    input: Partial<OpeningInput>;
    want?: { reason: string; message: RegExp; deleted: boolean; warnings: number };
  }> = [
    { name: "a valid, allowed resource goes on", input: {} },
    {
      name: "an invalid spec stops first, even when refused",
      input: { invalid: "spec.name: bad", policy: REFUSED },
      want: {
        reason: "InvalidSpec",
        message: /nothing is done in Azure: spec.name: bad/,
        deleted: false,
        warnings: 0,
      },
    },
    {
      name: "an invalid spec being deleted lets the finalizer go",
      input: { invalid: "spec.name: bad", deleting: true },
      want: { reason: "InvalidSpec", message: /spec is invalid/, deleted: true, warnings: 0 },
    },
    {
      name: "a policy refusing the resource stops it, with a warning",
      input: { policy: REFUSED },
      want: {
        reason: "PolicyDenied",
        message: /nothing is written to Azure: no IdentityPolicy/,
        deleted: false,
        warnings: 1,
      },
    },
    {
      name: "a refused resource being deleted leaves Azure alone",
      input: { policy: REFUSED, deleting: true, orphans: false },
      want: { reason: "PolicyDenied", message: /deleted without touching Azure/, deleted: true, warnings: 1 },
    },
    { name: "a refused item only blocks writes: the plan goes on", input: { policy: ITEM_REFUSED } },
    {
      name: "a deletion that orphans stops with Orphaned",
      input: { deleting: true, orphans: true },
      want: { reason: "Orphaned", message: /^deleted; Azure is left as it is$/, deleted: true, warnings: 0 },
    },
    {
      name: "the orphan message may name what stays",
      input: {
        deleting: true,
        orphans: true,
        orphanMessage: "deleted; the role definition is left in Azure",
      },
      want: { reason: "Orphaned", message: /role definition is left/, deleted: true, warnings: 0 },
    },
    { name: "a deletion that does not orphan goes on", input: { deleting: true, orphans: false } },
    { name: "Orphan without a deletion goes on", input: { orphans: true } },
  ];
  for (const { name, input, want } of cases) {
    test(name, () => {
      const stop = openingStop({ ...base, ...input });
      if (!want) {
        assert.equal(stop, undefined);
        return;
      }
      assert.ok(stop, "the plan stops");
      assert.equal(stop.ready.type, "Ready");
      assert.equal(stop.ready.status, "False");
      assert.equal(stop.ready.reason, want.reason);
      assert.match(stop.ready.message, want.message);
      assert.equal(stop.deleted, want.deleted);
      assert.equal(stop.notices.filter((n) => n.type === "Warning").length, want.warnings);
    });
  }
});

describe("planner skeleton: the tenant check", () => {
  const OTHER = "cccccccc-cccc-cccc-cccc-cccccccccccc";
  const cases: Array<{ name: string; input: TenantInput; want?: { from: string; to: string } }> = [
    {
      name: "a principal in the subscription's tenant (any case) has not moved",
      input: {
        subscriptionTenantId: TENANT,
        principalTenantId: TENANT.toUpperCase(),
        principalId: "p1",
        previous: { tenantId: TENANT, principalId: "p1" },
      },
    },
    {
      name: "a principal of another tenant moved from that tenant",
      input: { subscriptionTenantId: NEW_TENANT, principalTenantId: TENANT, principalId: "p1", previous: {} },
      want: { from: TENANT, to: NEW_TENANT },
    },
    {
      name: "Azure reporting no tenant: the status's tenant for the same principal tells",
      input: {
        subscriptionTenantId: NEW_TENANT,
        principalTenantId: undefined,
        principalId: "P1",
        previous: { tenantId: TENANT, principalId: "p1" },
      },
      want: { from: TENANT, to: NEW_TENANT },
    },
    {
      name: "the principal Azure reports is the moved one although its tenant is updated",
      input: {
        subscriptionTenantId: NEW_TENANT,
        principalTenantId: NEW_TENANT,
        principalId: "p1",
        previous: { tenantId: TENANT, principalId: "p1" },
      },
      want: { from: TENANT, to: NEW_TENANT },
    },
    {
      name: "a re-created principal in the new tenant is repaired, not moved",
      input: {
        subscriptionTenantId: NEW_TENANT,
        principalTenantId: NEW_TENANT,
        principalId: "p2",
        previous: { tenantId: TENANT, principalId: "p1" },
      },
    },
    {
      name: "the principal's own tenant wins over the status's",
      input: {
        subscriptionTenantId: NEW_TENANT,
        principalTenantId: OTHER,
        principalId: "p1",
        previous: { tenantId: TENANT, principalId: "p1" },
      },
      want: { from: OTHER, to: NEW_TENANT },
    },
    {
      name: "no tenant anywhere: nothing to compare",
      input: { subscriptionTenantId: TENANT, principalTenantId: undefined, principalId: "p1", previous: {} },
    },
  ];
  for (const { name, input, want } of cases) {
    test(name, () => assert.deepEqual(tenantMismatch(input), want));
  }
});

describe("planner skeleton: writes and the finish", () => {
  const identityId = identityIdOf("orders");
  const frameOf = (observed: ObservedState = emptyObserved(), status?: Condition[]) =>
    new PlanFrame({ ...uai(), ...(status ? { status: { conditions: status } } : {}) }, observed, context());
  const create = (frame: PlanFrame<ReturnType<typeof uai>>) =>
    build.createIdentity(frame.owner, identityId, "westeurope", {});

  test("a blocked write waits and says why, writing nothing", () => {
    const frame = frameOf();
    const outcome = frame.writeItem(create(frame), { writable: false, blockedBecause: "policy" }, "missing");
    assert.deepEqual(outcome, { state: "Pending", reason: "Waiting", message: "missing; policy" });
    assert.deepEqual(frame.writes, []);
  });

  test("a write that failed earlier in the reconcile fails with Azure's reason, not again", () => {
    const observed = emptyObserved();
    const probe = frameOf();
    observed.failures[create(probe).key] = { code: "RequestDisallowedByPolicy", message: "denied" };
    const frame = frameOf(observed);
    const outcome = frame.writeItem(create(frame), { writable: true, blockedBecause: "" }, "missing");
    assert.deepEqual(outcome, {
      state: "Failed",
      reason: "AzurePolicyDenied",
      message: "RequestDisallowedByPolicy: denied",
    });
    assert.deepEqual(frame.writes, []);
  });

  test("an allowed write is queued and pending", () => {
    const frame = frameOf();
    const action = create(frame);
    const outcome = frame.writeItem(action, { writable: true, blockedBecause: "" }, "missing");
    assert.deepEqual(outcome, { state: "Pending", reason: "Progressing", message: action.description });
    assert.deepEqual(frame.writes, [action]);
  });

  test("finish puts reads before writes, stamps conditions and keeps unchanged transition times", () => {
    const before = "2026-01-01T00:00:00Z";
    const frame = frameOf(emptyObserved(), [
      { type: "Ready", status: "False", reason: "Progressing", message: "x", lastTransitionTime: before },
      { type: "Gone", status: "True", reason: "Reconciled", message: "", lastTransitionTime: before },
    ]);
    frame.obs.subscription(SUB);
    frame.tryWrite(build.deleteIdentity(frame.owner, identityId, "teardown"));
    const plan = frame.finish({}, [
      { type: "Ready", status: "False", reason: "Deleting", message: "y" },
      { type: "PolicyViolation", status: "False", reason: "PolicyAllowed", message: "" },
    ]);
    assert.deepEqual(
      plan.actions.map((a) => a.kind),
      ["ReadSubscription", "DeleteIdentity"],
    );
    assert.deepEqual(
      plan.status.conditions?.map((c) => [c.type, c.lastTransitionTime, c.observedGeneration]),
      [
        ["Ready", before, 1],
        ["PolicyViolation", NOW, 1],
      ],
    );
    assert.equal(plan.status.observedGeneration, 1);
    assert.ok(
      plan.notices.some((n) => n.reason === "TokenCaching"),
      "a deletion says tokens outlive it",
    );
  });
});

describe("planner skeleton: every kind stops at the same gates", () => {
  type Change = "invalid" | "orphan" | "observe" | "none";
  type AnyPlan = (ctx: PlanContext, deleting: boolean, change: Change) => PlanResult<unknown>;
  /** The spec fields that make each change; `invalid` is per kind. */
  const specFor = (change: Change, invalid: object) => ({
    ...(change === "invalid" ? invalid : {}),
    ...(change === "orphan" ? { deletionPolicy: "Orphan" as const } : {}),
    ...(change === "observe" ? { managementPolicy: "ObserveOnly" as const } : {}),
  });
  /** The resource, being deleted or not, with a status the early stops must keep. */
  const prepared = <R extends { metadata: object }>(resource: R, deleting: boolean, status: object) => ({
    ...resource,
    metadata: { ...resource.metadata, ...(deleting ? { deletionTimestamp: "2026-11-27T09:00:00Z" } : {}) },
    status,
  });
  const kept = { principalId: "kept" };
  const kinds: Array<[string, AnyPlan, boolean]> = [
    [
      "UserAssignedIdentity",
      (ctx, deleting, change) => {
        const r = uai(specFor(change, { resourceGroup: "rg?api-version=1" }));
        return planUserAssignedIdentity(prepared(r, deleting, kept), emptyObserved(), ctx);
      },
      true,
    ],
    [
      "SystemAssignedIdentity",
      (ctx, deleting, change) => {
        const r = sai(specFor(change, { resourceId: "/subscriptions/x/../y" }));
        return planSystemAssignedIdentity(prepared(r, deleting, kept), emptyObserved(), ctx);
      },
      true,
    ],
    [
      "CustomRole",
      (ctx, deleting, change) => {
        const r = customRole(specFor(change, { subscriptionId: "not-a-guid" }));
        return planCustomRole(prepared(r, deleting, { roleDefinitionId: "kept" }), emptyObserved(), ctx);
      },
      false,
    ],
  ];
  const gates: Array<{
    name: string;
    policy: PolicyDecision;
    deleting: boolean;
    change: Change;
    reason: string;
    deleted: boolean;
    observeOnly?: boolean;
  }> = [
    {
      name: "an invalid spec",
      policy: ALLOWED,
      deleting: false,
      change: "invalid",
      reason: "InvalidSpec",
      deleted: false,
    },
    {
      name: "a refusing policy",
      policy: REFUSED,
      deleting: false,
      change: "none",
      reason: "PolicyDenied",
      deleted: false,
    },
    {
      name: "a refusing policy on delete",
      policy: REFUSED,
      deleting: true,
      change: "none",
      reason: "PolicyDenied",
      deleted: true,
    },
    {
      name: "deletionPolicy Orphan",
      policy: ALLOWED,
      deleting: true,
      change: "orphan",
      reason: "Orphaned",
      deleted: true,
    },
    {
      name: "ObserveOnly on delete",
      policy: ALLOWED,
      deleting: true,
      change: "observe",
      reason: "Orphaned",
      deleted: true,
      observeOnly: true,
    },
  ];
  for (const [kind, plan, observes] of kinds) {
    for (const gate of gates) {
      if (gate.observeOnly && !observes) continue;
      test(`${kind}: ${gate.name} stops before any read, keeping the status`, () => {
        const result = plan(context({ policy: gate.policy }), gate.deleting, gate.change);
        const status = result.status as Record<string, unknown> & { conditions: Condition[] };
        assert.deepEqual(result.actions, [], "no read and no write");
        assert.equal(result.deleted, gate.deleted);
        assert.deepEqual(
          status.conditions.map((c) => [c.type, c.reason]),
          [
            ["Ready", gate.reason],
            ["PolicyViolation", gate.policy.allowed ? "PolicyAllowed" : "PolicyDenied"],
          ],
        );
        assert.equal(status.principalId ?? status.roleDefinitionId, "kept");
        assert.equal(
          result.notices.some((n) => n.reason === "PolicyDenied"),
          !gate.policy.allowed,
          "a refusal warns once; no other stop does",
        );
      });
    }
  }
});
