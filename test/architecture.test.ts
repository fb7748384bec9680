// The import rules of docs/architecture.md, checked on the source tree.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { PACKAGE_ROOT } from "../src/util/paths.js";

const SRC = join(PACKAGE_ROOT, "src");

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

interface Import {
  file: string;
  specifier: string;
}

function imports(): Import[] {
  const found: Import[] = [];
  const pattern =
    /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const path of sourceFiles(SRC)) {
    const text = readFileSync(path, "utf8");
    for (const match of text.matchAll(pattern)) {
      found.push({ file: relative(SRC, path), specifier: (match[1] ?? match[2]) as string });
    }
  }
  return found;
}

const all = imports();
const area = (file: string) => file.split("/")[0] as string;
const offenders = (predicate: (i: Import) => boolean) =>
  all.filter(predicate).map((i) => `${i.file} -> ${i.specifier}`);

test("plan/ and api/ import nothing that does I/O", () => {
  const pure = (i: Import) => area(i.file) === "plan" || area(i.file) === "api";
  const allowed = (specifier: string) =>
    specifier.startsWith("./") ||
    specifier.startsWith("../api/") ||
    specifier.startsWith("../plan/") ||
    specifier.startsWith("../util/") ||
    specifier.startsWith("../") ||
    specifier === "typebox" ||
    specifier.startsWith("typebox/");
  assert.deepEqual(
    offenders((i) => pure(i) && !allowed(i.specifier)),
    [],
  );
  // Relative imports out of plan/ and api/ may only reach pure folders.
  assert.deepEqual(
    offenders(
      (i) =>
        pure(i) &&
        /^\.\.\/(azure|kube|queue|controller|cli|sandbox|config|observability)\//.test(i.specifier),
    ),
    [],
  );
});

test("only azure/ imports Azure SDK packages", () => {
  assert.deepEqual(
    offenders((i) => i.specifier.startsWith("@azure/") && area(i.file) !== "azure"),
    [],
  );
});

test("only kube/ imports the Kubernetes client", () => {
  assert.deepEqual(
    offenders((i) => i.specifier.startsWith("@kubernetes/client-node") && area(i.file) !== "kube"),
    [],
  );
});

test("only queue/ imports bullmq", () => {
  assert.deepEqual(
    offenders((i) => i.specifier.startsWith("bullmq") && area(i.file) !== "queue"),
    [],
  );
});

test("production code never imports the sandbox", () => {
  const mayImportSandbox = (file: string) =>
    area(file) === "sandbox" || file === "cli/commands/sandbox.ts" || file === "cli/commands/demo.ts";
  assert.deepEqual(
    offenders(
      (i) => /(^|\/)sandbox\//.test(i.specifier) && i.specifier.startsWith(".") && !mayImportSandbox(i.file),
    ),
    [],
  );
});
