#!/usr/bin/env node
// Copies the generated CRDs (crds/*.yaml) into the Helm chart (charts/azid/files/crds/), byte
// for byte, and removes chart copies whose source is gone. With --check it changes nothing and
// exits 1 when the two differ, naming each file. --from/--to point it at other folders (tests).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const usage = "usage: sync-chart-crds.mjs [--check] [--from DIR] [--to DIR]";

function parseArgs(argv) {
  const options = {
    check: false,
    from: join(root, "crds"),
    to: join(root, "charts", "azid", "files", "crds"),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--check") options.check = true;
    else if ((arg === "--from" || arg === "--to") && argv[i + 1]) options[arg.slice(2)] = argv[++i];
    else throw new Error(`unexpected argument '${arg}'\n${usage}`);
  }
  return options;
}

/** The *.yaml files of a folder by name; a missing folder holds none. */
function yamlFiles(dir) {
  if (!existsSync(dir)) return new Map();
  const names = readdirSync(dir)
    .filter((name) => name.endsWith(".yaml"))
    .sort();
  return new Map(names.map((name) => [name, readFileSync(join(dir, name))]));
}

/** Each source must be one apiextensions.k8s.io/v1 CustomResourceDefinition, or the chart would ship junk. */
function checkIsCrd(name, bytes) {
  const docs = parseAllDocuments(bytes.toString("utf8"));
  const errors = docs.flatMap((doc) => doc.errors);
  if (errors.length > 0) throw new Error(`${name}: not valid YAML: ${errors[0].message}`);
  const objects = docs.map((doc) => doc.toJS()).filter((object) => object != null);
  const [crd] = objects;
  if (
    objects.length !== 1 ||
    crd.apiVersion !== "apiextensions.k8s.io/v1" ||
    crd.kind !== "CustomResourceDefinition"
  ) {
    throw new Error(`${name}: expected exactly one apiextensions.k8s.io/v1 CustomResourceDefinition`);
  }
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const source = yamlFiles(options.from);
  const copies = yamlFiles(options.to);
  for (const [name, bytes] of source) checkIsCrd(name, bytes);

  const stale = [...copies.keys()].filter((name) => !source.has(name));
  const changed = [...source.keys()].filter((name) => !copies.get(name)?.equals(source.get(name)));
  const show = (dir, name) => relative(process.cwd(), join(dir, name)) || name;

  if (options.check) {
    if (stale.length === 0 && changed.length === 0) return;
    for (const name of changed)
      console.error(`${show(options.to, name)} differs from ${show(options.from, name)}`);
    for (const name of stale)
      console.error(`${show(options.to, name)} has no source in ${show(options.from, "")}`);
    console.error("the chart's CRDs are out of date: run node scripts/sync-chart-crds.mjs");
    process.exitCode = 1;
    return;
  }
  mkdirSync(options.to, { recursive: true });
  for (const name of changed) writeFileSync(join(options.to, name), source.get(name));
  for (const name of stale) rmSync(join(options.to, name));
  console.log(`${changed.length} CRD(s) copied, ${stale.length} removed, ${source.size} in the chart`);
}

try {
  main();
} catch (error) {
  console.error(`sync-chart-crds: ${error.message}`);
  process.exitCode = 2;
}
