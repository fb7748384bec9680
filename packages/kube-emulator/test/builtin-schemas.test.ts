// The built-in kinds' schemas in src/builtin/schemas.json are generated; this
// keeps the file in step with its generator (and with @kubernetes/client-node's models).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BUILTIN_SCHEMAS_PATH, generateBuiltinSchemas } from "./support/builtin-schemas-generator.js";

test("schemas.json is what the generator makes", () => {
  assert.deepEqual(
    JSON.parse(readFileSync(BUILTIN_SCHEMAS_PATH, "utf8")),
    generateBuiltinSchemas(),
    "regenerate with: node dist/packages/kube-emulator/test/support/builtin-schemas-generator.js",
  );
});
