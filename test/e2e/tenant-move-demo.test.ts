// `azid demo` as a user runs it: one command, the whole tenant move on the sandbox, a readable
// report, the HTML page, exit 0 because Azure ends exactly as declared, and nothing left running.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function azid(args: string[], timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(PACKAGE_ROOT, "bin", "azid.js"), ...args],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

describe("azid demo", () => {
  const dir = mkdtempSync(join(tmpdir(), "azid-demo-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("runs the tenant move end to end, reports before and after, and exits 0 with Azure exactly as declared", async () => {
    const page = join(dir, "demo.html");
    const run = await azid(["demo", "--report", page]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const out = run.stdout;
    assert.match(out, /not for production/);
    for (const step of [
      "1. sandbox",
      "2. azid controller",
      "3. Azure",
      "4. applied",
      "5. the subscription moves",
    ]) {
      assert.ok(out.includes(step), step);
    }
    assert.match(out, /CredentialTenantMismatch on all 5 resources/);
    assert.match(out, /azid_credential_tenant_mismatch\{subscription="[0-9a-f-]{36}"\} 1/);
    assert.match(out, /TenantMismatch=True on 4 identities/);
    assert.match(out, /TenantMigration demo-repair planned 26 actions: .*3 DeleteIdentity, 3 CreateIdentity/);
    assert.match(out, /8\. repair Succeeded/);

    // The workload: its ServiceAccount's client id before and after, restarted exactly once.
    const clientIds = [
      ...out.matchAll(/ServiceAccount reports: azure\.workload\.identity\/client-id=([0-9a-f-]{36})/g),
    ];
    assert.equal(clientIds.length, 2, out);
    assert.notEqual(clientIds[0]?.[1], clientIds[1]?.[1], "a new client id after the repair");
    assert.match(out, /Deployment reports: generation 1, pod template annotations \(none\)/);
    assert.match(
      out,
      /UserAssignedIdentity reports \(Ready\)[^\n]*\n.*principal.*\n.*client.*\n\s+workloads restarted: Deployment\/reports/,
    );
    assert.match(
      out,
      /9\. the workload after the repair[^\n]*\n.*\n\s+Deployment reports: generation 2, pod template annotations .*kubectl\.kubernetes\.io\/restartedAt=/,
    );

    // Before and after: every identity has a new principal, and says what was done to it.
    const changes = [...out.matchAll(/principal ([0-9a-f-]{36}) -> ([0-9a-f-]{36})/g)];
    assert.equal(changes.length, 4, out);
    for (const [, before, after] of changes) assert.notEqual(before, after);
    assert.match(
      out,
      /orders-api \(Ready\)\n.*\n\s+client ([0-9a-f-]{36}) -> (?!\1)[0-9a-f-]{36}\n\s+deleted and re-created; 1 credential; re-attached to 2 VMs; 2 roles re-granted; 1 Graph app role re-granted/,
    );
    assert.match(out, /batch-1 \(Ready\)\n.*\n\s+turned off and on again; 1 role re-granted/);
    assert.match(out, /orders-reader \(Ready\)\n\s+restored/);
    const repaired = /8\. repair Succeeded: 5 resources repaired in (\d[^;]*);/.exec(out)?.[1];
    assert.ok(repaired, "the TenantMigration's summary gives the repair's duration");
    // One repair, one duration: the summary and the report give the same.
    assert.ok(
      out.includes(`Repair: 26 actions in ${repaired} (`),
      `the report's duration is the summary's ${repaired}:\n${out}`,
    );
    assert.match(
      out,
      /Repair: 26 actions in \S+ (?:ms|s) \(.+ at Azure's pace\); ARM's documented limits allow/,
    );
    assert.match(out, /done: 26\/26 actions/, "the progress ends on the final count");
    // 22 writes and 3 deletes are needed (one credential per ServiceAccount too); a call answered 429 is made again, and counted again.
    const calls =
      /ARM calls during the repair: \d+ \(\d+ reads, (\d+) writes, (\d+) deletes\), (\d+) answered 429/.exec(
        out,
      );
    assert.ok(calls, "the repair's ARM calls are reported");
    const [writes, deletes, throttled] = calls.slice(1).map(Number) as [number, number, number];
    assert.ok(writes >= 22 && deletes >= 3, `${writes} writes, ${deletes} deletes`);
    assert.ok(
      writes + deletes <= 25 + throttled,
      `${writes + deletes} writes and deletes, ${throttled} answered 429`,
    );
    assert.match(
      out,
      /Azure now: exactly as declared: 4 identities, 4 federated credentials, 4 attachments, 5 role assignments, 1 custom role, 1 Graph app role/,
    );

    const html = readFileSync(page, "utf8");
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<svg/);
    assert.match(html, /Written by azid demo\./);
    assert.doesNotMatch(html, /<script|<link|\b(src|href)="https?:/i, "self-contained");

    // Nothing left behind: the controller and redis-server are gone, and so is the demo's folder.
    const pid = Number(/\(pid (\d+),/.exec(out)?.[1]);
    assert.ok(pid > 0);
    assert.equal(alive(pid), false, "the controller was stopped");
    const redisPort = Number(/redis-server redis:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    assert.equal(await listening(redisPort), false, "redis-server was stopped");
    const sandboxFile = /--sandbox (\S+) is running/.exec(out)?.[1] as string;
    assert.equal(existsSync(sandboxFile), false, "its folder was removed");
  });

  test("refuses a time scale of 0 with a clear message", async () => {
    const run = await azid(["demo", "--time-scale", "0"], 30_000);
    assert.equal(run.code, 1, "bad usage");
    assert.match(run.stderr, /--time-scale must be above 0/);
  });
});
