// The remediation report as one self-contained HTML page: inline CSS and SVG, no script, no
// external asset, so it can be attached to a ticket or a pipeline run and opened anywhere.
import type { LimitClass } from "../plan/actions.js";
import { describePermissions } from "../plan/build.js";
import { ARM_BUCKETS } from "../plan/limits.js";
import { formatDuration } from "../util/text.js";
import type { PrincipalSnapshot, RemediationReport, ResourceReport, Verdict } from "./remediation-report.js";
import type { TimelinePoint } from "./request-log.js";

const CLASSES: ReadonlyArray<{ key: LimitClass; label: string; color: string }> = [
  { key: "read", label: "reads", color: "#4c78a8" },
  { key: "write", label: "writes", color: "#f58518" },
  { key: "delete", label: "deletes", color: "#54a24b" },
  { key: "identityCreate", label: "identity creations", color: "#b279a2" },
  { key: "ficWrite", label: "federated credential writes", color: "#9d755d" },
];

const html = (text: unknown) =>
  String(text ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

const seconds = (value: number | undefined) => (value === undefined ? "-" : formatDuration(value));

/** A duration, with what it stands for at Azure's pace when the sandbox runs faster. */
const duration = (value: number | undefined, timeScale: number) =>
  value === undefined || timeScale === 1
    ? seconds(value)
    : `${seconds(value)} (${seconds(value * timeScale)} at Azure's pace)`;

/** An id or a resource name, never broken inside a segment: lines may break after a slash only. */
const id = (text: string | undefined) =>
  text ? `<code class="id">${html(text).replace(/\//g, "/<wbr>")}</code>` : "-";

/** `source`: the command that wrote it, named in the footer. */
export function renderHtmlReport(report: RemediationReport, source = "azid remediate"): string {
  const ready = report.resources.filter((r) => r.state === "ready").length;
  const atAzurePace = (value: number | undefined) =>
    value !== undefined && report.timeScale !== 1
      ? `${seconds(value * report.timeScale)} at Azure's pace`
      : "";
  // [label, value, what the value stands for]
  const tiles: Array<[string, string, string]> = [
    ["Resources ready", report.applied ? `${ready} / ${report.resources.length}` : "not applied", ""],
    ["Actions planned", String(report.plan.total), ""],
    ["Repair time", seconds(report.seconds), atAzurePace(report.seconds)],
    ["Floor (ARM limits)", seconds(report.plan.floorSeconds), atAzurePace(report.plan.floorSeconds)],
    ["ARM calls", String(report.arm?.calls ?? 0), ""],
    ["Answered 429", String(report.arm?.throttled ?? 0), ""],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>azid remediation of ${html(report.subscriptionId)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Tenant-move remediation</h1>
${verdictBanner(report.verdict, report.applied)}
<p class="meta">Subscription ${id(report.subscriptionId)}
${report.fromTenantIds.length > 0 ? `moved from tenant ${report.fromTenantIds.map((tenant) => id(tenant)).join(", ")}` : "no identity in another tenant"}
${report.toTenantId ? ` to ${id(report.toTenantId)}` : ""}.
Started ${html(report.startedAt)}${report.finishedAt ? `, finished ${html(report.finishedAt)}` : ""}.
${report.timeScale !== 1 ? `Sandbox time scale ${html(report.timeScale)}: the emulator runs ${html(report.timeScale)} times faster than Azure; the timeline is in Azure's seconds.` : ""}</p>
<div class="tiles">${tiles.map(([label, value, sub]) => `<div class="tile"><div class="value">${html(value)}</div>${sub ? `<div class="sub">${html(sub)}</div>` : ""}<div class="label">${html(label)}</div></div>`).join("")}</div>
<h2>ARM calls per second</h2>
<p class="note">Calls azid sent each second, by ARM limit class, from the command's start: the plan's reads come first, then the repair.</p>
${LEGEND}
${timelineCharts(report)}
<h2>Per resource</h2>
${resourceTable(report.resources, report.applied)}
${vaultSection(report)}
${clusterSection(report)}
<h2>The plan</h2>
${planSection(report)}
<footer>Written by ${html(source)}.</footer>
</body>
</html>
`;
}

const LEGEND = `<div class="legend">
<span><svg width="22" height="12"><rect x="3" y="2" width="16" height="10" fill="#8c959f"/></svg>calls in that second</span>
<span><svg width="28" height="12"><line x1="1" x2="27" y1="6" y2="6" class="limit"/></svg>documented refill rate of the class's bucket (a full bucket lets a burst above it through)</span>
<span><svg width="12" height="14"><line x1="6" x2="6" y1="0" y2="14" class="start"/></svg>the repair starts</span>
<span><svg width="22" height="12"><rect x="3" y="3" width="16" height="5" fill="#d62728"/></svg>a second with 429 answers</span>
</div>`;

function verdictBanner(verdict: Verdict | undefined, applied: boolean): string {
  if (!applied) return `<div class="verdict pending">Not applied: this is the plan only.</div>`;
  if (!verdict) return "";
  if (verdict.asDeclared) {
    return `<div class="verdict good">Azure is exactly as declared <span>(${html(verdict.basis)})</span></div>`;
  }
  const items = verdict.differences.map((d) => `<li>${html(d)}</li>`).join("");
  return `<div class="verdict bad">Azure is NOT as declared: ${verdict.differences.length} difference${verdict.differences.length === 1 ? "" : "s"} <span>(${html(verdict.basis)})</span><ul>${items}</ul></div>`;
}

/** The smallest 1, 2, 4, 6 or 8 times a power of ten at or above `value`: an axis top with round ticks. */
function niceCeiling(value: number): number {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  // Even tops, so that the middle tick is a whole number of calls too.
  const step = [1, 2, 4, 6, 8, 10].find((m) => m * power >= value) ?? 10;
  return step * power;
}

function timelineCharts(report: RemediationReport): string {
  const timeline = report.timeline ?? [];
  if (timeline.length === 0) return `<p class="note">No ARM call was made.</p>`;
  return CLASSES.filter(({ key }) => timeline.some((point) => point.calls[key] > 0))
    .map((cls) =>
      chart(
        timeline,
        cls,
        report.limitsPerSecond[cls.key] ?? ARM_BUCKETS[cls.key].perSecond,
        report.repairStartSecond,
      ),
    )
    .join("\n");
}

function chart(
  timeline: readonly TimelinePoint[],
  cls: { key: LimitClass; label: string; color: string },
  limit: number,
  repairStart: number | undefined,
): string {
  const width = 880;
  const height = 150;
  const left = 48;
  const bottom = 22;
  const plotWidth = width - left - 8;
  const plotHeight = height - bottom - 10;
  const peak = Math.max(limit, ...timeline.map((p) => p.calls[cls.key]));
  // A round top at or above the peak and the limit: every tick lies inside the plot.
  const top = niceCeiling(peak * 1.1);
  const step = plotWidth / timeline.length;
  const y = (value: number) => 10 + plotHeight - (value / top) * plotHeight;
  const bars = timeline
    .map((p, i) => {
      const value = p.calls[cls.key];
      if (value === 0) return "";
      const x = left + i * step;
      return `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${Math.max(1, step - 1).toFixed(1)}" height="${(y(0) - y(value)).toFixed(1)}" fill="${cls.color}"><title>second ${p.second}: ${value} ${cls.label}</title></rect>`;
    })
    .join("");
  const throttled = timeline
    .map((p, i) =>
      p.throttled[cls.key] > 0
        ? `<rect x="${(left + i * step).toFixed(1)}" y="4" width="${Math.max(2, step - 1).toFixed(1)}" height="5" fill="#d62728"><title>second ${p.second}: ${p.throttled[cls.key]} answered 429</title></rect>`
        : "",
    )
    .join("");
  const ticks = [0, top / 2, top]
    .map(
      (v) =>
        `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text><line x1="${left}" x2="${width - 8}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`,
    )
    .join("");
  const every = Math.max(1, Math.ceil(timeline.length / 10));
  const xTicks = timeline
    .filter((_, i) => i % every === 0)
    .map((p) => `<text x="${(left + p.second * step).toFixed(1)}" y="${height - 6}">${p.second} s</text>`)
    .join("");
  const total = timeline.reduce((sum, p) => sum + p.calls[cls.key], 0);
  const start =
    repairStart !== undefined
      ? `<line x1="${(left + repairStart * step).toFixed(1)}" x2="${(left + repairStart * step).toFixed(1)}" y1="10" y2="${y(0).toFixed(1)}" class="start"><title>the repair starts</title></line>`
      : "";
  return `<figure>
<figcaption>${html(cls.label)}: ${total} call${total === 1 ? "" : "s"}; documented refill ${html(formatRate(limit))} per second</figcaption>
<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${html(cls.label)} per second">
${ticks}${bars}${throttled}${start}
<line x1="${left}" x2="${width - 8}" y1="${y(limit).toFixed(1)}" y2="${y(limit).toFixed(1)}" class="limit"><title>documented limit: ${html(formatRate(limit))} per second</title></line>
${xTicks}
</svg>
</figure>`;
}

const formatRate = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));

function resourceTable(resources: readonly ResourceReport[], applied: boolean): string {
  if (!applied) return `<p class="note">The plan was not applied.</p>`;
  const rows = resources
    .map((r) => {
      const done = Object.entries(r.done)
        .map(([kind, n]) => `<span class="chip">${html(kind)}${n > 1 ? ` ×${n}` : ""}</span>`)
        .join("");
      const why = r.state === "ready" ? "" : `<div class="why">${html(r.reason)}: ${html(r.message)}</div>`;
      const errors = r.errors
        .map((e) => `<div class="why">${html(e.code)}: ${html(e.message)}</div>`)
        .join("");
      return `<tr class="${r.state}"><td>${id(r.resource)}${why}${errors}</td><td>${html(r.state)}</td><td>${ids(r.before, r.after)}</td><td class="done">${done || "-"}</td></tr>`;
    })
    .join("\n");
  return `<table class="resources"><thead><tr><th>Resource</th><th>State</th><th>Ids: before &rarr; after</th><th>Done</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

/** What the repair changed in the cluster (or what it needs): annotations, exports, restarts. */
function clusterSection(report: RemediationReport): string {
  const wirings = report.clusterWiring ?? [];
  if (wirings.length === 0) return "";
  const rows = wirings
    .map((wiring) => {
      const changes = wiring.actions
        .map((action) =>
          action.kind === "ApplyServiceAccount"
            ? `ServiceAccount ${html(action.name)}: client id ${id(action.annotations["azure.workload.identity/client-id"])}`
            : action.kind === "UnwireServiceAccount"
              ? `ServiceAccount ${html(action.name)}: annotations removed`
              : action.kind === "ApplyExport"
                ? `${html(action.target)} ${html(action.name)}`
                : `restart the workloads of ServiceAccount ${html(action.serviceAccount)}`,
        )
        .join("<br>");
      const restarted = wiring.restarted.map((name) => html(name)).join("<br>") || "-";
      return `<tr><td>${html(wiring.resource)}</td><td>${changes || "nothing to change"}</td><td>${restarted}</td></tr>`;
    })
    .join("\n");
  const title = report.clusterApplied ? "The cluster: applied" : "The cluster: what it needs (not applied)";
  return `<h2>${title}</h2>
<table class="resources"><thead><tr><th>Resource</th><th>ServiceAccounts and exports</th><th>Workloads restarted</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

/** Principal (and client) id before and after, one per line, never cut inside an id. */
function ids(before: PrincipalSnapshot, after: PrincipalSnapshot): string {
  const line = (label: string, old: string | undefined, now: string | undefined) =>
    old || now
      ? `<div class="idpair"><span class="idlabel">${label}</span>${id(old)}<br><span class="idlabel">&rarr;</span>${id(now)}</div>`
      : "";
  return (
    line("principal", before.principalId, after.principalId) +
      line("client", before.clientId, after.clientId) || "-"
  );
}

/** Key Vaults whose tenant the repair resets, and the foreign entries to grant again by hand. */
function vaultSection(report: RemediationReport): string {
  if ((report.vaults ?? []).length === 0) return "";
  const rows = (report.vaults ?? [])
    .map((vault) => {
      const entries =
        vault.foreignEntries
          .map((e) => `<div>${id(e.objectId)} ${html(describePermissions(e.permissions))}</div>`)
          .join("") || "-";
      return `<tr><td>${id(vault.vaultId)}</td><td>${id(vault.fromTenantId)} &rarr; ${id(vault.toTenantId)}</td><td>${entries}</td></tr>`;
    })
    .join("\n");
  return `<h2>Key Vaults</h2>
<p class="note">The repair sets each vault's tenant to the new one and removes every entry of the old tenant. Entries of principals azid does not manage are listed here: grant them again by hand, with their permissions.</p>
<table><thead><tr><th>Vault</th><th>Tenant</th><th>Removed, to grant again by hand</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

function planSection(report: RemediationReport): string {
  const counts = Object.entries(report.plan.counts)
    .map(([kind, n]) => `<tr><td>${html(kind)}</td><td>${n}</td></tr>`)
    .join("");
  const floors = report.plan.floorByClass
    .map(
      (c) =>
        `<tr><td>${html(c.class)}</td><td>${c.calls}</td><td>${html(duration(c.floorSeconds, report.timeScale))}</td></tr>`,
    )
    .join("");
  const actions = report.plan.actions
    .map(
      (a) =>
        `<tr><td>${html(a.phase)}</td><td>${html(a.kind)}</td><td>${id(a.resource)}</td><td class="what">${html(a.description)}</td></tr>`,
    )
    .join("\n");
  return `<div class="cols">
<table><thead><tr><th>Action</th><th>Count</th></tr></thead><tbody>${counts}</tbody></table>
<table><thead><tr><th>Limit class</th><th>Calls</th><th>Floor</th></tr></thead><tbody>${floors}</tbody></table>
</div>
<details><summary>All ${report.plan.total} actions, in repair order</summary>
<table class="actions"><thead><tr><th>Phase</th><th>Action</th><th>Resource</th><th>What</th></tr></thead><tbody>
${actions}
</tbody></table></details>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1f2328;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}code.id{white-space:nowrap}
.verdict{margin:12px 0;padding:10px 14px;border-radius:6px;font-size:16px;font-weight:600}.verdict span{font-size:12px;font-weight:400;color:#57606a}
.verdict.good{background:#dafbe1;border:1px solid #1a7f37;color:#116329}.verdict.bad{background:#ffebe9;border:1px solid #d62728;color:#a40e26}.verdict.pending{background:#fff8c5;border:1px solid #bf8700}
.verdict ul{margin:6px 0 0;padding-left:20px;font-size:13px;font-weight:400}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#57606a;margin:4px 0 8px}.legend svg{vertical-align:middle;margin-right:4px}
.tile .sub{color:#57606a;font-size:12px}.idpair{white-space:nowrap;margin-bottom:2px}.idlabel{display:inline-block;width:58px;color:#57606a;font-size:11px}
.actions .what{overflow-wrap:anywhere}
.meta,.note{color:#57606a}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px;margin:16px 0}
.tile{border:1px solid #d0d7de;border-radius:6px;padding:8px 10px}.tile .value{font-size:18px;font-weight:600}.tile .label{color:#57606a;font-size:12px}
figure{margin:8px 0 16px}figcaption{font-weight:600;margin-bottom:2px}
svg text{font:10px system-ui,sans-serif;fill:#57606a}svg .grid{stroke:#eaeef2}svg .limit{stroke:#d62728;stroke-dasharray:6 4;stroke-width:1.5}svg .start{stroke:#57606a;stroke-dasharray:2 3}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;border-bottom:1px solid #eaeef2;padding:4px 6px;vertical-align:top}
th{background:#f6f8fa}tr.failed td:nth-child(2),tr.awaitingRepair td:nth-child(2){color:#d62728;font-weight:600}tr.ready td:nth-child(2){color:#1a7f37}
.why{color:#d62728;font-size:12px}td code{font-size:11px}.done{min-width:180px}
.chip{display:inline-block;margin:0 4px 3px 0;padding:0 5px;border:1px solid #d0d7de;border-radius:4px;font-size:11px;background:#f6f8fa}.cols{display:grid;grid-template-columns:1fr 1fr;gap:16px}
details{margin:8px 0}summary{cursor:pointer;color:#0969da}.actions td{font-size:12px}
footer{margin-top:32px;color:#8c959f;font-size:12px}
`;
