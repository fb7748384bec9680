#!/usr/bin/env node
// Writes src/api/builtin-roles.generated.ts from the built-in role definitions in spec/.
// `--check` writes nothing and exits 1 when the committed file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { renderBuiltinRolesModule, BUILTIN_ROLES_SOURCE, BUILTIN_ROLES_MODULE } = await import(
  join(root, "dist/src/api/generate/builtin-roles-module.js")
);

const expected = renderBuiltinRolesModule(JSON.parse(readFileSync(join(root, BUILTIN_ROLES_SOURCE), "utf8")));
const target = join(root, BUILTIN_ROLES_MODULE);
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {}
  if (current !== expected) {
    console.error(`${BUILTIN_ROLES_MODULE} is stale: run npm run gen:roles`);
    process.exit(1);
  }
} else {
  writeFileSync(target, expected);
  console.log(`wrote ${BUILTIN_ROLES_MODULE}`);
}
