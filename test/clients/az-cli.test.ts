// The real `az` (Debian's azure-cli 2.45), unmodified, logged in to the ARM emulator through a
// custom cloud (ADFS-style authority): az group, identity, identity federated-credential, role
// definition, role assignment (by object id and by client id), vm identity assign/remove.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ArmEmulator } from "@azid/arm-emulator";
import { AZ, CLIENTS_DIR, failures, requireAz, runChecks, SYSTEM_PYTHON, startArm } from "./support.js";

describe("the real az CLI (azure-cli 2.45) through a custom cloud", () => {
  let arm: ArmEmulator;
  before(async () => {
    requireAz();
    arm = await startArm();
  });
  after(() => arm?.close());

  it("passes every check", async () => {
    const run = await runChecks(
      SYSTEM_PYTHON,
      [join(CLIENTS_DIR, "az_checks.py"), arm.url, arm.tenantId, arm.subscriptionId, arm.caFile],
      { env: { AZ_BINARY: AZ }, timeoutMs: 180_000 },
    );
    assert.ok(run.checks.length >= 9, `the script ran its checks:\n${run.stderr.slice(-3000)}`);
    assert.equal(failures(run), "");
    assert.equal(run.code, 0);
  });
});
