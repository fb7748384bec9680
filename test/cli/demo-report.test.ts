// The demo's report: what it says when Azure is not as declared, and the HTML report's data made
// from the sandbox's counters (per real second) in ARM seconds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type DemoFacts, formatDemoReport, remediationReportOf } from "../../src/cli/demo/report.js";

function facts(overrides: Partial<DemoFacts> = {}): DemoFacts {
  return {
    subscriptionId: "11111111-1111-4111-8111-111111111111",
    fromTenantId: "old-tenant",
    toTenantId: "new-tenant",
    timeScale: 4,
    startedAt: "2026-11-27T10:00:00.000Z",
    finishedAt: "2026-11-27T10:00:30.000Z",
    repairSeconds: 2,
    migration: {
      phase: "Succeeded",
      plan: {
        generatedAt: "2026-11-27T10:00:10.000Z",
        counts: [{ kind: "PutRoleAssignment", count: 1 }],
        total: 1,
        actions: [
          {
            kind: "PutRoleAssignment",
            resource: "UserAssignedIdentity/shop/app",
            target: "/subscriptions/x/providers/Microsoft.Authorization/roleAssignments/y",
            description:
              "grant Reader to (new principal of UserAssignedIdentity/shop/app) at /subscriptions/x",
          },
        ],
        floorSeconds: 4,
        floorByClass: [{ class: "write", calls: 1, floorSeconds: 4 }],
      },
    },
    before: { userAssigned: [], systemAssigned: [], customRoles: [] },
    after: { userAssigned: [], systemAssigned: [], customRoles: [] },
    deleted: { roleAssignments: 1, customRoles: 0 },
    arm: {
      requests: { read: 9, write: 6, delete: 0 },
      throttled: 1,
      byStatus: { "200": 14, "429": 1 },
      timeline: [
        { second: 0, read: 5, write: 6, delete: 0, identityCreate: 0, ficWrite: 0, throttled: 1 },
        { second: 2, read: 4, write: 0, delete: 0, identityCreate: 0, ficWrite: 0, throttled: 0 },
      ],
    },
    differences: [],
    ...overrides,
  };
}

describe("azid demo's report", () => {
  test("says plainly when Azure is not as declared, with every difference", () => {
    const text = formatDemoReport(
      facts({ differences: ["role assignment missing: p r s", "custom role missing: x"] }),
    );
    assert.match(
      text,
      /Azure now: NOT as declared \(2 differences\):\n {4}role assignment missing: p r s\n {4}custom role missing: x/,
    );
    assert.match(formatDemoReport(facts()), /Azure now: exactly as declared/);
  });

  test("reports the time against the floor in real seconds and at Azure's pace", () => {
    assert.match(
      formatDemoReport(facts()),
      /1 action in 2\.0 s \(8\.0 s at Azure's pace\); .* allow 1\.0 s \(4\.0 s at Azure's pace\) at best \(2\.0x the floor; a repair this small waits on the round trips of its dependent steps/,
    );
  });

  test("spreads each real second's calls over the ARM seconds it stands for, in whole calls", () => {
    const report = remediationReportOf(facts());
    const timeline = report.timeline ?? [];
    assert.equal(timeline.length, 12, "3 real seconds at time scale 4");
    assert.deepEqual(
      timeline.slice(0, 4).map((p) => p.calls.write),
      [2, 2, 1, 1],
    );
    assert.equal(
      timeline.reduce((sum, p) => sum + p.calls.read, 0),
      9,
    );
    assert.equal(
      timeline.slice(0, 4).reduce((sum, p) => sum + p.throttled.write, 0),
      1,
    );
    assert.equal(report.arm?.calls, 15);
    assert.equal(report.plan.floorSeconds, 1, "in real seconds, as remediate's report");
    assert.equal(report.plan.actions[0]?.phase, "grants");
  });
});
