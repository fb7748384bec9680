// azid validate, offline, as the real binary: folders read recursively, multi-document YAML,
// JSON arrays and Lists, every problem located by file, document and field; exit codes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { customRole, userAssigned } from "./world.js";

const SUB = "11111111-1111-1111-1111-111111111111";

function azid(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "azid.js"), ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("azid validate", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "azid-validate-"));
    mkdirSync(join(dir, "team-a", "nested"), { recursive: true });
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, ".git", "broken.yaml"), "not: [valid");
    writeFileSync(
      join(dir, "team-a", "identities.yaml"),
      [userAssigned(SUB, "orders"), { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" } }]
        .map((d) => stringify(d))
        .join("---\n"),
    );
    writeFileSync(join(dir, "team-a", "nested", "roles.json"), JSON.stringify([customRole(SUB)]));
    writeFileSync(
      join(dir, "list.json"),
      JSON.stringify({ apiVersion: "v1", kind: "List", items: [userAssigned(SUB, "billing")] }),
    );
    writeFileSync(join(dir, "README.md"), "# not a manifest");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a folder of valid manifests: exit 0, counted by kind, other documents skipped", async () => {
    const run = await azid(["validate", "-f", dir]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /valid: 1 CustomRole, 2 UserAssignedIdentity \(1 non-azid document skipped\)/);
    assert.match(run.stderr, /enforces none/);
  });

  test("a YAML syntax error names the line to fix, its text and the fault, once", async () => {
    const file = join(dir, "indent.yaml");
    const cases: Array<[string, RegExp]> = [
      [
        "kind: UserAssignedIdentity\nspec:\n  resourceGroup: rg\n   location: westeurope\n",
        /^ {2}\S+indent\.yaml: document 1: not YAML at line 4 \("location: westeurope"\): indented deeper than the key above it; align it with its sibling keys or nest it under a key that ends with ':'$/m,
      ],
      [
        "kind: X\n\tspec: 1\n",
        /not YAML at line 2, column 1 \("spec: 1"\): tabs are not allowed as indentation$/m,
      ],
    ];
    try {
      for (const [text, expected] of cases) {
        writeFileSync(file, text);
        const run = await azid(["validate", "-f", file]);
        assert.equal(run.code, 3);
        assert.match(run.stdout, /^invalid: 1 problem$/m);
        assert.match(run.stdout, expected);
        assert.doesNotMatch(run.stdout, /line \d+.*line \d+|:$/m, "one position, no dangling colon");
      }
    } finally {
      rmSync(file);
    }
  });

  test("invalid manifests: exit 3, each problem with file, document and field", async () => {
    const bad = userAssigned(SUB, "bad");
    bad.spec.location = "West Europe!";
    (bad.spec as Record<string, unknown>).unknownField = 1;
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      [
        stringify(userAssigned(SUB, "fine")),
        stringify(bad),
        stringify(userAssigned(SUB, "fine")),
        "a: [\n",
      ].join("---\n"),
    );
    try {
      const run = await azid(["validate", "-f", file]);
      assert.equal(run.code, 3);
      assert.match(
        run.stdout,
        new RegExp(
          `${file}: document 2 \\(UserAssignedIdentity team-a/bad\\): spec.location: must be an Azure region`,
        ),
      );
      assert.match(
        run.stdout,
        new RegExp(
          `${file}: document 2 \\(UserAssignedIdentity team-a/bad\\): spec.unknownField: unknown field`,
        ),
      );
      assert.match(
        run.stdout,
        new RegExp(
          `${file}: document 3 \\(UserAssignedIdentity team-a/fine\\): metadata.name: declared twice \\(first in ${file}: document 1\\)`,
        ),
      );
      assert.match(run.stdout, new RegExp(`${file}: document 4: not YAML at line \\d+`));

      const json = await azid(["validate", "-f", file, "--output", "json"]);
      assert.equal(json.code, 3);
      const result = JSON.parse(json.stdout);
      assert.equal(result.ok, false);
      assert.deepEqual(
        result.issues.map((i: { source: { document: number }; field: string }) => [
          i.source.document,
          i.field,
        ]),
        [
          [2, "spec.unknownField"],
          [2, "spec.location"],
          [3, "metadata.name"],
          [4, ""],
        ],
      );
    } finally {
      rmSync(file);
    }
  });

  test("a missing path and a bad flag are reported plainly", async () => {
    const missing = await azid(["validate", "-f", join(dir, "nope")]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /nope: no such file or folder/);
    const policy = await azid(["validate", "-f", dir, "--policy", join(dir, "team-a")]);
    assert.equal(policy.code, 3);
    assert.match(policy.stdout, /--policy takes IdentityPolicy manifests only/);
  });

  test("help documents the exit codes", async () => {
    const help = await azid(["--help"]);
    assert.equal(help.code, 0);
    for (const command of ["validate", "plan", "apply", "remediate", "export", "preflight"]) {
      assert.match(help.stdout, new RegExp(`\\n  ${command}`));
    }
    assert.match(
      help.stdout,
      /Exit codes:[\s\S]*2 {2}plan --detailed-exitcode: changes pending[\s\S]*7 {2}not confirmed: remediate/,
    );
  });
});
