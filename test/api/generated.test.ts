// crds/ and the built-in role table are generated; these fail when someone forgets to regenerate.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

function check(script: string) {
  const run = spawnSync(process.execPath, [join(PACKAGE_ROOT, "scripts", script), "--check"], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
}

test("crds/ matches the schemas in src/api", () => check("gen-crds.mjs"));

test("the built-in role table matches spec/azure-api/authorization/builtin-roles.json", () =>
  check("gen-builtin-roles.mjs"));
