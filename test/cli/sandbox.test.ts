// The sandbox as the product sees it: startSandbox composes the emulator packages into the sandbox
// file, and an installation without them (the controller image: production dependencies only)
// still runs every other command and says what `azid sandbox` needs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startSandbox } from "../../src/cli/sandbox-stack.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runNode(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A copy of the built product whose node_modules holds every package but the emulators. */
function installationWithoutEmulators(): string {
  const dir = mkdtempSync(join(tmpdir(), "azid-no-emulators-"));
  cpSync(join(PACKAGE_ROOT, "package.json"), join(dir, "package.json"));
  cpSync(join(PACKAGE_ROOT, "bin"), join(dir, "bin"), { recursive: true });
  cpSync(join(PACKAGE_ROOT, "dist", "src"), join(dir, "dist", "src"), { recursive: true });
  mkdirSync(join(dir, "node_modules"));
  for (const entry of readdirSync(join(PACKAGE_ROOT, "node_modules"))) {
    if (entry === "@azid" || entry.startsWith(".")) continue;
    symlinkSync(join(PACKAGE_ROOT, "node_modules", entry), join(dir, "node_modules", entry));
  }
  return dir;
}

describe("azid sandbox", () => {
  it("composes the emulators into the sandbox file's fields", async () => {
    const dir = mkdtempSync(join(tmpdir(), "azid-sandbox-"));
    const sandbox = await startSandbox({ stateDir: dir, timeScale: 10 });
    try {
      assert.match(sandbox.info.arm ?? "", /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(sandbox.info.authorityHost, sandbox.info.arm);
      assert.equal(sandbox.info.graph, sandbox.info.arm);
      assert.equal(sandbox.info.timeScale, 10);
      assert.equal(readFileSync(sandbox.info.caFile!, "utf8"), sandbox.arm?.caPem);
      assert.match(sandbox.info.kube ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(sandbox.info.kubeconfig, sandbox.kube?.kubeconfigPath);
    } finally {
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without the emulator packages, says what to install, and the other commands still load", async () => {
    const dir = installationWithoutEmulators();
    try {
      const sandbox = await runNode(["bin/azid.js", "sandbox"], dir);
      assert.equal(sandbox.code, 1, sandbox.stderr);
      assert.equal(sandbox.stdout, "");
      assert.match(
        sandbox.stderr,
        /needs the emulator packages @azid\/arm-emulator and @azid\/kube-emulator/,
      );
      assert.match(sandbox.stderr, /npm ci/);
      assert.doesNotMatch(sandbox.stderr, /at .*\.js:\d+/, "no stack trace");

      const help = await runNode(["bin/azid.js", "--help"], dir);
      assert.equal(help.code, 0, help.stderr);
      for (const command of ["controller", "sandbox", "demo", "validate"])
        assert.match(help.stdout, new RegExp(command));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
