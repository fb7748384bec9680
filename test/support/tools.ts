import { existsSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

/** kubectl and helm as scripts/fetch-tools.mjs installs them. */
export function toolPath(name: "kubectl" | "helm"): string {
  const path = join(PACKAGE_ROOT, ".tools", "bin", name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/bootstrap.sh`);
  return path;
}
