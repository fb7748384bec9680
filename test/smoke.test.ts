import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PACKAGE_ROOT } from "../src/util/paths.js";

test("the package root holds package.json", () => {
  assert.ok(existsSync(join(PACKAGE_ROOT, "package.json")));
});
