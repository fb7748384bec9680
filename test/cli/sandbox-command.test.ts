// azid sandbox as a person starts it: what to do next on stderr (with its own paths), a seeded
// estate on request, and its temporary folder (private keys, kubeconfig) gone however it stops.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

interface Started {
  info: { arm: string; caFile: string; subscriptionId: string; kubeconfig: string };
  stderr: () => string;
  stop: (signal: NodeJS.Signals) => Promise<number | null>;
}

function startSandbox(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "azid.js"), "sandbox", ...args]);
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (!stdout.includes("\n")) return;
      resolve({
        info: JSON.parse(stdout.split("\n")[0] as string),
        stderr: () => stderr,
        stop: (signal) => {
          child.kill(signal);
          return exited;
        },
      });
    });
    exited.then((code) =>
      reject(new Error(`azid sandbox exited with ${code} before it was ready: ${stderr}`)),
    );
  });
}

function armGet(
  info: Started["info"],
  path: string,
): Promise<{ status: number; body: { value?: unknown[] } }> {
  return new Promise((resolve, reject) => {
    const call = request(
      new URL(path, info.arm),
      { ca: readFileSync(info.caFile), headers: { authorization: "Bearer sandbox" } },
      (response) => {
        let text = "";
        response.on("data", (chunk) => {
          text += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    call.on("error", reject);
    call.end();
  });
}

describe("azid sandbox", () => {
  test("says what to do next, seeds an estate on request, and removes its folder on SIGTERM", async () => {
    const sandbox = await startSandbox(["--seed"]);
    const folder = dirname(dirname(sandbox.info.kubeconfig));
    const said = sandbox.stderr();
    assert.match(said, new RegExp(`export KUBECONFIG=${sandbox.info.kubeconfig}`));
    assert.match(said, new RegExp(`curl --cacert ${sandbox.info.caFile} `));
    assert.match(said, new RegExp(`azid plan -f manifests/ --sandbox ${folder}/sandbox.json`));
    assert.match(said, /azid's CRDs are installed/);
    assert.deepEqual(JSON.parse(readFileSync(join(folder, "sandbox.json"), "utf8")), sandbox.info);
    const vms = await armGet(
      sandbox.info,
      `/subscriptions/${sandbox.info.subscriptionId}/resourceGroups/shop-rg/providers/Microsoft.Compute/virtualMachines?api-version=2024-11-01`,
    );
    assert.equal(vms.status, 200);
    assert.equal(vms.body.value?.length, 3, "three VMs seeded");
    assert.match(said, /Seeded in Azure[\s\S]*virtualMachines\/web-1/);
    assert.equal(await sandbox.stop("SIGTERM"), 0);
    assert.equal(existsSync(folder), false, `${folder} (private keys) removed`);
  });

  test("removes its folder on Ctrl-C too, even the instant it is ready", async () => {
    const sandbox = await startSandbox(["--no-arm"]);
    const folder = dirname(dirname(sandbox.info.kubeconfig));
    assert.ok(existsSync(folder));
    assert.equal(await sandbox.stop("SIGINT"), 0);
    assert.equal(existsSync(folder), false);
  });
});
