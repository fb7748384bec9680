// Bad usage reads the same in every command: an unknown flag is named as unknown (before any
// missing one), a missing or malformed flag is named, and the exit code is the one `--help` gives.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { EXIT } from "../../src/cli/exit-codes.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

function azid(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "azid.js"), ...args], {
      env: { ...process.env, AZID_REDIS_URL: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const COMMANDS = [
  "validate",
  "plan",
  "apply",
  "remediate",
  "export",
  "preflight",
  "sandbox",
  "demo",
  "controller",
];

describe("azid usage", () => {
  test("--version prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8"));
    const run = await azid(["--version"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), version);
  });

  test("the help gives the usage exit code", async () => {
    const run = await azid(["--help"]);
    assert.match(run.stdout, new RegExp(`^ {2}${EXIT.usage} .*bad usage`, "m"));
  });

  test("an unknown flag is named as unknown in every command, before any missing one", async () => {
    const runs = await Promise.all(COMMANDS.map((command) => azid([command, "--bogus-flag"])));
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, EXIT.usage, `${COMMANDS[i]}: ${run.stderr}`);
      assert.match(run.stderr, /^error: unknown option '--bogus-flag'$/m, COMMANDS[i]);
      assert.doesNotMatch(run.stderr, /required option/, COMMANDS[i]);
    }
  });

  test("a missing or malformed flag is named, with the usage exit code", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["validate"], /required option '-f, --filename <path>' not specified/],
      [["export"], /required option '--subscription <id>' not specified/],
      [["remediate", "-f", "."], /required option '--subscription <id>' not specified/],
      [["export", "--subscription", "not-a-guid"], /--subscription: expected a subscription id/],
      [["remediate", "-f", ".", "--subscription", "x"], /--subscription: expected a subscription id/],
      [["validate", "-f", ".", "--namespace-labels", "team"], /--namespace-labels: expected key=value/],
      [
        ["controller", "--redis-url=redis://127.0.0.1:1", "--concurrency=zero"],
        /--concurrency must be a whole number/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await azid(args);
      assert.equal(run.code, EXIT.usage, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(" "));
    }
  });

  test("an empty folder or one without azid manifests is an error (exit 3), not 'no change'", async () => {
    const dir = mkdtempSync(join(tmpdir(), "azid-usage-"));
    try {
      for (const command of ["plan", "apply", "preflight"]) {
        const empty = await azid([command, "-f", dir]);
        assert.equal(empty.code, EXIT.invalid, `${command}: ${empty.stdout}${empty.stderr}`);
        assert.match(
          empty.stderr,
          new RegExp(
            `no UserAssignedIdentity, SystemAssignedIdentity or CustomRole in -f ${dir}: nothing to do; check the path`,
          ),
        );
        assert.doesNotMatch(empty.stdout, /no change/);
      }
      writeFileSync(
        join(dir, "deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
      );
      const other = await azid(["plan", "-f", dir]);
      assert.equal(other.code, EXIT.invalid);
      assert.match(other.stderr, /\(1 other document skipped\): nothing to do/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
