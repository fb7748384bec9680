// The import rules of docs/architecture.md (.dependency-cruiser.mjs), checked by dependency-cruiser
// on resolved paths: the tree keeps them, and probes that break each rule are reported, among them
// the relative imports that climb out of a subfolder (src/api/generate -> ../../azure), which a
// check of the import strings lets through. The picture on the page is drawn from the same graph.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PACKAGE_ROOT } from "../src/util/paths.js";

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

const PACKAGES = readdirSync(join(PACKAGE_ROOT, "packages"));

/** dependency-cruiser's violations for src/ and packages/<name>/src under `cwd`, with the project's rules. */
function violations(cwd: string): Violation[] {
  const run = spawnSync(
    process.execPath,
    [
      join(PACKAGE_ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs"),
      "src",
      ...PACKAGES.map((name) => `packages/${name}/src`),
      "--output-type",
      "json",
    ],
    { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  assert.ok(run.stdout, `dependency-cruiser failed (exit ${run.status}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const show = (list: Violation[]) => list.map((v) => `${v.from} -> ${v.to} (${v.rule.name})`);

test("the source tree keeps the architecture rules", () => {
  assert.deepEqual(show(violations(PACKAGE_ROOT)), []);
});

describe("imports that break a rule are reported", () => {
  let copy: string;

  /** Writes a probe module into the copy. */
  const probe = (path: string, text: string) => {
    mkdirSync(dirname(join(copy, path)), { recursive: true });
    writeFileSync(join(copy, path), `${text}\nexport const probe = 1;\n`);
  };

  // [the probe, what it imports, the rule it breaks]
  const PROBES: Array<[string, string, string]> = [
    ["src/api/generate/probe.ts", 'import "../../azure/probe-target.js";', "layer:src/api"],
    ["src/plan/nested/probe.ts", 'import "../../kube/probe-target.js";', "layer:src/plan"],
    ["src/kube/probe.ts", 'import "../controller/probe-target.js";', "layer:src/kube"],
    ["src/controller/probe.ts", 'import "../cli/probe-target.js";', "layer:src/controller"],
    ["src/queue/probe.ts", 'import "../azure/probe-target.js";', "layer:src/queue"],
    ["src/plan/probe-io.ts", 'import { readFileSync } from "node:fs";\nvoid readFileSync;', "pure:no-io"],
    ["src/api/probe-npm.ts", 'import "yaml";', "pure:npm"],
    ["src/controller/probe-azure.ts", 'import "@azure/identity";', "only-azure-imports-azure-sdk"],
    ["src/azure/probe-kube.ts", 'import "@kubernetes/client-node";', "only-kube-imports-client-node"],
    ["src/kube/probe-queue.ts", 'import "bullmq";', "only-queue-imports-bullmq"],
    ["src/cli/probe.ts", 'import "../controller/probe-target.js";', "cli-not-controller"],
    ["src/controller/probe-emulator.ts", 'import "@azid/kube-emulator";', "product-not-emulators"],
    ["src/cli/probe-stack.ts", 'import "./sandbox-stack.js";', "sandbox-stack-for-sandbox-commands"],
    [
      "packages/arm-emulator/src/probe.ts",
      'import "../../../src/util/paths.js";',
      "layer:packages/arm-emulator",
    ],
    [
      "packages/kube-emulator/src/probe.ts",
      'import "../../arm-emulator/src/index.js";',
      "layer:packages/kube-emulator",
    ],
    ["src/newfolder/probe.ts", 'import "../util/paths.js";', "outside-the-table"],
    ["src/util/probe.ts", 'import "./no-such-module.js";', "resolvable"],
  ];

  before(() => {
    // A copy of the tree (same rules, same resolution) with the probes added.
    copy = mkdtempSync(join(tmpdir(), "azid-architecture-"));
    for (const file of ["package.json", "tsconfig.json", ".dependency-cruiser.mjs", "src"]) {
      cpSync(join(PACKAGE_ROOT, file), join(copy, file), { recursive: true });
    }
    for (const name of PACKAGES) {
      cpSync(join(PACKAGE_ROOT, "packages", name, "src"), join(copy, "packages", name, "src"), {
        recursive: true,
      });
      cpSync(
        join(PACKAGE_ROOT, "packages", name, "package.json"),
        join(copy, "packages", name, "package.json"),
      );
    }
    symlinkSync(join(PACKAGE_ROOT, "node_modules"), join(copy, "node_modules"));
    for (const folder of ["azure", "kube", "controller", "cli"]) probe(`src/${folder}/probe-target.ts`, "");
    for (const [path, text] of PROBES) probe(path, text);
    // A static import of an emulator where the sandbox stack may only load them lazily.
    const stack = join(copy, "src/cli/sandbox-stack.ts");
    writeFileSync(stack, `import "@azid/arm-emulator";\n${readFileSync(stack, "utf8")}`);
  });

  after(() => rmSync(copy, { recursive: true, force: true }));

  test("each probe, and only the probes, by the rule it breaks", () => {
    const found = violations(copy).map((v) => `${v.from} (${v.rule.name})`);
    const expected = [
      ...PROBES.map(([path, , rule]) => `${path} (${rule})`),
      "src/cli/sandbox-stack.ts (emulators-loaded-lazily)",
    ];
    assert.deepEqual([...new Set(found)].sort(), expected.sort());
  });
});

test("the picture of who imports whom in docs/architecture.md is drawn from the code", () => {
  const run = spawnSync(
    process.execPath,
    [join(PACKAGE_ROOT, "scripts", "gen-architecture.mjs"), "--check"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(run.status, 0, run.stderr);
});
