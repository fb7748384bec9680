#!/usr/bin/env node
// Builds the emulator packages and compiles src/, test/, bench/ and the packages' tests with tsc,
// then runs the compiled tests with node's test runner.
// Arguments filter test files by substring: `npm test -- queue sandbox/arm`.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = spawnSync("npx", ["tsc", "-b", "tsconfig.json"], { cwd: root, stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.name.endsWith(".test.js")) yield path;
  }
}

// The emulators' tests live in their packages; a filter also matches the path they had under
// test/sandbox/, so `npm test -- sandbox` or `sandbox/kube/schema` still selects them.
const ALIASES = [
  ["dist/packages/arm-emulator/test/", "dist/test/sandbox/arm/"],
  ["dist/packages/kube-emulator/test/", "dist/test/sandbox/kube/"],
];
const names = (file) => [
  file,
  ...ALIASES.filter(([prefix]) => file.startsWith(prefix)).map(
    ([prefix, alias]) => alias + file.slice(prefix.length),
  ),
];

const filters = process.argv.slice(2);
// tsc never deletes the output of a removed source: run only tests whose .ts still exists.
const hasSource = (file) => existsSync(join(root, file.replace(/^dist\//, "").replace(/\.js$/, ".ts")));
const packageTests = readdirSync(join(root, "packages")).map((name) =>
  join(root, "dist", "packages", name, "test"),
);
const files = [join(root, "dist", "test"), ...packageTests.filter((dir) => existsSync(dir))]
  .flatMap((dir) => [...walk(dir)])
  .map((file) => relative(root, file))
  .filter(hasSource)
  .filter(
    (file) =>
      filters.length === 0 || filters.some((filter) => names(file).some((name) => name.includes(filter))),
  )
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}

const env = { ...process.env, PATH: `${join(root, ".tools", "bin")}:${process.env.PATH}` };
const runTests = (group, extra = []) =>
  group.length === 0
    ? 0
    : (spawnSync(
        process.execPath,
        [
          "--enable-source-maps",
          "--test",
          ...extra,
          "--test-concurrency=2",
          "--test-reporter=spec",
          ...group,
        ],
        { cwd: root, stdio: "inherit", env },
      ).status ?? 1);
// A failover test that times out leaves its queues open (node's test runner does not cancel the
// test's promise), and their workers retry Redis forever: the HA files are made to exit once their
// tests are done, so a failure is reported instead of holding the run.
const isFailoverTest = (file) => /\/queue\/ha-[^/]*\.test\.js$/.test(file);
const status = [
  runTests(files.filter((file) => !isFailoverTest(file))),
  runTests(files.filter(isFailoverTest), ["--test-force-exit"]),
];
process.exit(status.find((code) => code !== 0) ?? 0);
