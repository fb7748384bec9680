// Fails when `npm ci` left out a package the product needs: npm can fail and still exit 0
// ("Exit handler never called!"), leaving node_modules half empty. Walks the lockfile from the
// root's own dependencies (not the workspaces', which a production install leaves out) and looks
// for each package it reaches on disk. `npm ls` cannot check such an install: it fails on the
// absent workspace folders.
const { existsSync } = require("node:fs");

const packages = require(`${process.cwd()}/package-lock.json`).packages;

/** Where node finds `name` from the package at `from`: its own node_modules, then its parents'. */
function resolve(from, name) {
  for (let path = from; ; ) {
    const candidate = `${path ? `${path}/` : ""}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!path) return undefined;
    const parent = path.lastIndexOf("/node_modules/");
    path = parent < 0 ? "" : path.slice(0, parent);
  }
}

const seen = new Set();
const missing = [];
const visit = (path) => {
  if (seen.has(path)) return;
  seen.add(path);
  if (path && !existsSync(`${path}/package.json`)) missing.push(path);
  const entry = packages[path];
  for (const name of Object.keys({ ...entry.dependencies, ...entry.peerDependencies })) {
    const found = resolve(path, name);
    if (found) visit(found);
  }
};
visit("");
if (missing.length > 0) {
  console.error(`npm ci left out ${missing.length} package(s) the product needs: ${missing.join(" ")}`);
  process.exit(1);
}
console.error(`npm ci installed all ${seen.size - 1} packages the product needs`);
