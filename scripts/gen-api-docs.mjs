#!/usr/bin/env node
// Writes docs/api-reference.md from the TypeBox schemas and condition reasons in src/api (run
// after the build). `--check` writes nothing and exits 1 when the committed page is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { renderApiReference, API_REFERENCE_FILE, CONDITIONS_SOURCE } = await import(
  join(root, "dist/src/api/generate/api-reference.js")
);

const expected = renderApiReference(readFileSync(join(root, CONDITIONS_SOURCE), "utf8"));
const target = join(root, API_REFERENCE_FILE);
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {}
  if (current !== expected) {
    console.error(`${API_REFERENCE_FILE} is stale: run npm run gen:docs`);
    process.exit(1);
  }
} else {
  writeFileSync(target, expected);
  console.log(`wrote ${API_REFERENCE_FILE}`);
}
