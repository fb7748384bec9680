// loadKubeConfig's refusals say what is wrong with what was given, once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadKubeConfig } from "../../src/kube/client.js";

test("a file that is not a kubeconfig is named as such, not as no --kubeconfig given", () => {
  const dir = mkdtempSync(join(tmpdir(), "azid-kubeconfig-"));
  try {
    const notKubeconfig = join(dir, "values.yaml");
    writeFileSync(notKubeconfig, "replicaCount: 2\n");
    assert.throws(
      () => loadKubeConfig({ kubeconfigPath: notKubeconfig }),
      (error: Error) => {
        assert.equal(error.name, "KubeConfigError");
        assert.match(
          error.message,
          new RegExp(`^${notKubeconfig} is not a usable kubeconfig: .*kubectl config view`),
        );
        assert.doesNotMatch(error.message, /give --kubeconfig/);
        return true;
      },
    );
    const missing = join(dir, "missing.yaml");
    assert.throws(
      () => loadKubeConfig({ kubeconfigPath: missing }),
      (error: Error) => {
        assert.equal(error.message, `cannot load the Kubernetes configuration from ${missing}: no such file`);
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
