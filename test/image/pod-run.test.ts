// The translation the image test runs the chart's pod with: it must carry the rendered security
// settings, and refuse what it cannot honour rather than run a different pod.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { RELEASE, renderChart } from "../chart/helm.js";
import { bytes, podRunOf } from "./pod-run.js";

const TENANT = "11111111-2222-4333-8444-555555555555";
const CLIENT = "66666666-7777-4888-8999-000000000000";

describe("the chart's pod as podman runs it", () => {
  const dir = mkdtempSync(join(tmpdir(), "azid-pod-run-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const values = {
    azure: { credentialsFile: { content: { default: { tenantId: TENANT, clientId: CLIENT } } } },
  };

  test("carries the user, read-only root, no privilege escalation, dropped capabilities, tmpfs and the credentials file", () => {
    const run = podRunOf(renderChart(values), RELEASE, dir);
    const options = run.options.join(" ");
    assert.match(options, /--user 65532:65532\b/);
    assert.match(options, /--read-only --read-only-tmpfs=false/);
    assert.match(options, /--security-opt no-new-privileges/);
    assert.match(options, /--cap-drop ALL/);
    assert.match(options, /--tmpfs \/tmp:rw,mode=1777,size=67108864/);
    assert.match(options, /--memory 536870912/);
    assert.match(options, /--env NODE_OPTIONS=--max-old-space-size=256/);
    const credentials = /--volume (\S+):\/etc\/azid\/credentials:ro/.exec(options)?.[1];
    assert.ok(credentials, options);
    assert.match(
      readFileSync(join(credentials, "credentials.yaml"), "utf8"),
      new RegExp(`clientId: ${CLIENT}`),
    );
    assert.equal(run.args[0], "controller");
    assert.ok(run.args.includes("--credentials-file=/etc/azid/credentials/credentials.yaml"));
    assert.deepEqual(run.readiness, { path: "/readyz", port: 8080 });
    assert.equal(run.stopTimeoutSeconds, 60);
  });

  test("follows the chart's values: a writable root filesystem drops --read-only", () => {
    const run = podRunOf(
      renderChart({
        ...values,
        securityContext: { readOnlyRootFilesystem: false, capabilities: { drop: ["ALL"] } },
      }),
      RELEASE,
      dir,
    );
    assert.ok(!run.options.includes("--read-only"));
  });

  test("refuses what it cannot run as the cluster would: a Secret volume, a Secret env var", () => {
    assert.throws(
      () => podRunOf(renderChart({ azure: { credentialsFile: { existingSecret: "creds" } } }), RELEASE, dir),
      /volume credentials: secret is not run by the image test/,
    );
    assert.throws(
      () =>
        podRunOf(
          renderChart({
            ...values,
            redis: { bundled: { enabled: false }, external: { existingSecret: "r", urlKey: "url" } },
          }),
          RELEASE,
          dir,
        ),
      /env AZID_REDIS_URL comes from a secretKeyRef/,
    );
  });

  test("reads Kubernetes byte quantities", () => {
    assert.equal(bytes("64Mi"), 64 * 2 ** 20);
    assert.equal(bytes("1G"), 1e9);
    assert.equal(bytes(1000), 1000);
    assert.throws(() => bytes("1.5Gi"), /quantity/);
  });
});
