// The official Python Kubernetes client, unmodified, against the Kubernetes emulator: a
// controller's life (list + watch with bookmarks, 410 and relist, every patch, apply with force,
// status, scale, finalizers, leases, events) and a user's (CRDs, selectors, dry run, tokens).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type KubeEmulator, startTestKube } from "../support/kube.js";
import { CLIENTS_DIR, failures, requirePythonModules, runChecks, SYSTEM_PYTHON } from "./support.js";

describe("the official Python Kubernetes client (python3-kubernetes)", () => {
  let kube: KubeEmulator;
  before(async () => {
    requirePythonModules("kubernetes", "cryptography");
    // A short history so that the script meets 410 Expired after 30 writes.
    kube = await startTestKube({ watchHistory: 20 });
  });
  after(() => kube?.close());

  it("passes every check of a controller's life and a user's", async () => {
    const run = await runChecks(SYSTEM_PYTHON, [join(CLIENTS_DIR, "kube_checks.py"), kube.kubeconfigPath], {
      timeoutMs: 90_000,
    });
    assert.ok(run.checks.length >= 15, `the script ran its checks:\n${run.stderr.slice(-3000)}`);
    assert.equal(failures(run), "");
    assert.equal(run.code, 0);
  });
});
