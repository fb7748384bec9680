// The HTML report as a person sees it: rendered by headless Chromium (Debian's `chromium`), with a
// script added to the test's copy that measures the laid-out page. It fails when a section is
// missing, the page overflows sideways, an id or a name is broken inside a segment, or a chart's
// label falls outside its chart.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { renderHtmlReport } from "../../src/cli/html-report.js";
import type { RemediationReport, ResourceReport } from "../../src/cli/remediation-report.js";
import type { TimelinePoint } from "../../src/cli/request-log.js";

const CHROMIUM = "/usr/bin/chromium";

interface Layout {
  title: string;
  verdict: string;
  headings: string[];
  pageOverflow: number;
  brokenIds: string[];
  overflowingCells: string[];
  labelsOutside: string[];
  idCount: number;
}

// Runs inside the page: measures what a reader would see, and writes it as JSON into the DOM.
const MEASURE = `<script>
const out = { title: document.querySelector("h1")?.textContent ?? "",
  verdict: document.querySelector(".verdict")?.textContent ?? "",
  headings: [...document.querySelectorAll("h2")].map((h) => h.textContent),
  pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
  brokenIds: [], overflowingCells: [], labelsOutside: [], idCount: 0 };
for (const code of document.querySelectorAll("code.id")) {
  out.idCount++;
  for (const node of code.childNodes) {
    if (node.nodeType !== Node.TEXT_NODE || node.textContent === "") continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    if (lines.size > 1) out.brokenIds.push(code.textContent);
  }
}
for (const cell of document.querySelectorAll("td, th, .tile, .verdict")) {
  if (cell.scrollWidth > cell.clientWidth + 1) out.overflowingCells.push(cell.textContent.slice(0, 60));
}
for (const svg of document.querySelectorAll("figure svg")) {
  const [, , width, height] = svg.getAttribute("viewBox").split(" ").map(Number);
  for (const text of svg.querySelectorAll("text")) {
    const box = text.getBBox();
    if (box.y < 0 || box.x < 0 || box.y + box.height > height + 0.5 || box.x + box.width > width + 0.5)
      out.labelsOutside.push(svg.getAttribute("aria-label") + ": " + text.textContent);
  }
}
const pre = document.createElement("pre");
pre.id = "layout";
pre.textContent = JSON.stringify(out);
document.body.append(pre);
</script>`;

function render(page: string, dir: string, width: number, screenshot?: string): Promise<Layout> {
  const file = join(dir, `report-${width}.html`);
  writeFileSync(file, page.replace("</body>", `${MEASURE}</body>`));
  const common = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    `--window-size=${width},${process.env.AZID_REPORT_HEIGHT ?? 1600}`,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      CHROMIUM,
      [...common, "--dump-dom", `file://${file}`],
      { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const json = /<pre id="layout">([^<]*)<\/pre>/.exec(stdout)?.[1];
        if (!json)
          return reject(new Error(`chromium printed no layout (${error?.message ?? ""}): ${stderr}`));
        const layout = JSON.parse(
          json
            .replace(/&quot;/g, '"')
            .replace(/&lt;/g, "<")
            .replace(/&gt;/g, ">")
            .replace(/&amp;/g, "&"),
        );
        if (!screenshot) return resolve(layout);
        execFile(
          CHROMIUM,
          [...common, `--screenshot=${screenshot}`, `file://${file}`],
          { timeout: 60_000 },
          () => resolve(layout),
        );
      },
    );
  });
}

const SUB = "6f1d2c3b-4a59-4e6d-8c7b-9a0b1c2d3e4f";
const guid = (n: number) =>
  `${String(n).repeat(8).slice(0, 8)}-1111-4111-8111-${String(n).repeat(12).slice(0, 12)}`;

function resource(name: string, n: number, state: ResourceReport["state"] = "ready"): ResourceReport {
  return {
    resource: `UserAssignedIdentity/team-payments-and-settlements/${name}`,
    state,
    ...(state === "ready"
      ? {}
      : {
          reason: "MissingPermission",
          message:
            "IdentityReady: MissingPermission: the credential lacks Microsoft.Authorization/roleAssignments/write at /subscriptions/" +
            `${SUB}/resourceGroups/payments-production-westeurope-rg`,
        }),
    before: { principalId: guid(n), clientId: guid(n + 1), tenantId: guid(9) },
    after: state === "ready" ? { principalId: guid(n + 2), clientId: guid(n + 3), tenantId: guid(8) } : {},
    done: {
      PatchResourceIdentity: 2,
      DeleteIdentity: 1,
      CreateIdentity: 1,
      PutFederatedCredential: 3,
      PutRoleAssignment: 4,
    },
    writes: [],
    errors: [],
  };
}

function report(differences: string[]): RemediationReport {
  const timeline: TimelinePoint[] = Array.from({ length: 61 }, (_, second) => ({
    second,
    calls: {
      read: second < 20 ? 23 : 3,
      write: second % 3 === 0 ? 9 : 2,
      delete: second < 4 ? 1 : 0,
      identityCreate: second < 5 ? 4 : 0,
      ficWrite: second < 6 ? 2 : 0,
    },
    throttled: { read: 0, write: second === 7 ? 1 : 0, delete: 0, identityCreate: 0, ficWrite: 0 },
  }));
  const resources = [
    resource("orders-api", 1),
    resource("a-very-long-identity-name-for-the-settlement-batch-worker", 2),
    resource("reports", 3, differences.length > 0 ? "failed" : "ready"),
  ];
  return {
    subscriptionId: SUB,
    toTenantId: guid(8),
    fromTenantIds: [guid(9)],
    startedAt: "2026-12-01T10:00:00.000Z",
    finishedAt: "2026-12-01T10:01:01.000Z",
    timeScale: 20,
    plan: {
      total: 31,
      counts: {
        PatchResourceIdentity: 6,
        DeleteIdentity: 3,
        CreateIdentity: 3,
        PutFederatedCredential: 9,
        PutRoleAssignment: 10,
      },
      floorSeconds: 0.004,
      floorByClass: [
        { class: "write", calls: 25, floorSeconds: 0.0008 },
        { class: "delete", calls: 3, floorSeconds: 0.0001 },
        { class: "ficWrite", calls: 9, floorSeconds: 0.004 },
      ],
      actions: resources.map((r) => ({
        resource: r.resource,
        kind: "PutRoleAssignment" as const,
        phase: "grants",
        target: `/subscriptions/${SUB}/resourceGroups/payments-production-westeurope-rg/providers/Microsoft.Authorization/roleAssignments/${guid(4)}`,
        description: `grant Storage Blob Data Contributor to (new principal of ${r.resource}) at /subscriptions/${SUB}/resourceGroups/payments-production-westeurope-rg/providers/Microsoft.Storage/storageAccounts/settlementsarchive`,
      })),
    },
    applied: true,
    verdict: {
      asDeclared: differences.length === 0,
      basis: "every resource Ready after the repair",
      differences,
    },
    seconds: 3.05,
    resources,
    arm: {
      calls: 1200,
      byClass: { read: 560, write: 250, delete: 4, identityCreate: 20, ficWrite: 12 },
      throttled: 1,
      byStatus: { "200": 1199, "429": 1 },
    },
    timeline,
    repairStartSecond: 12,
    limitsPerSecond: { read: 25, write: 10, delete: 10, identityCreate: 4, ficWrite: 2 },
  };
}

describe("the HTML report in a browser", () => {
  let dir: string;
  before(() => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: run scripts/bootstrap.sh (it installs Debian's chromium)`,
    );
    dir = mkdtempSync(join(tmpdir(), "azid-report-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const width of [1280, 1024]) {
    test(`a clean repair at ${width} px: verdict first, every section, nothing broken or overflowing`, async () => {
      const layout = await render(
        renderHtmlReport(report([])),
        dir,
        width,
        process.env.AZID_REPORT_SCREENSHOT,
      );
      assert.equal(layout.title, "Tenant-move remediation");
      assert.match(layout.verdict, /^Azure is exactly as declared/);
      assert.deepEqual(layout.headings, ["ARM calls per second", "Per resource", "The plan"]);
      assert.ok(layout.idCount >= 10, `ids rendered: ${layout.idCount}`);
      assert.deepEqual(layout.brokenIds, [], "ids or names broken inside a segment");
      assert.deepEqual(layout.overflowingCells, [], "cells whose content overflows");
      assert.deepEqual(layout.labelsOutside, [], "chart labels outside their chart");
      assert.ok(layout.pageOverflow <= 0, `the page is ${layout.pageOverflow} px wider than the window`);
    });
  }

  test("a repair that left a difference says so first, with the difference", async () => {
    const layout = await render(
      renderHtmlReport(report(["UserAssignedIdentity/team/reports: MissingPermission"])),
      dir,
      1280,
    );
    assert.match(layout.verdict, /^Azure is NOT as declared: 1 difference/);
    assert.match(layout.verdict, /UserAssignedIdentity\/team\/reports: MissingPermission/);
    assert.deepEqual(layout.brokenIds, []);
    assert.deepEqual(layout.overflowingCells, []);
  });
});
