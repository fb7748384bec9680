// The Azure SDK for Python (Debian's python3-azure), each client with its default api-version,
// against the ARM emulator: identities, federated credentials, role assignments and
// definitions, resource groups, a VM's identities through Compute's long-running PATCH.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ArmEmulator } from "@azid/arm-emulator";
import {
  CLIENTS_DIR,
  failures,
  requirePythonModules,
  runChecks,
  SYSTEM_PYTHON,
  startArm,
} from "./support.js";

describe("the Azure SDK for Python (python3-azure), default api-versions", () => {
  let arm: ArmEmulator;
  before(async () => {
    requirePythonModules(
      "azure.identity",
      "azure.mgmt.msi",
      "azure.mgmt.authorization",
      "azure.mgmt.compute",
    );
    arm = await startArm();
  });
  after(() => arm?.close());

  it("passes every check", async () => {
    const run = await runChecks(
      SYSTEM_PYTHON,
      [join(CLIENTS_DIR, "azure_sdk_checks.py"), arm.url, arm.tenantId, arm.subscriptionId],
      { env: { REQUESTS_CA_BUNDLE: arm.caFile }, timeoutMs: 90_000 },
    );
    assert.ok(run.checks.length >= 7, `the script ran its checks:\n${run.stderr.slice(-3000)}`);
    assert.equal(failures(run), "");
    assert.equal(run.code, 0);
  });
});
