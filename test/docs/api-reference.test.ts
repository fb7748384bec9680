// docs/api-reference.md is generated from src/api; these fail when it is stale or leaves something out.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ConditionType, Reason } from "../../src/api/conditions.js";
import { customResourceDefinition } from "../../src/api/crd.js";
import {
  API_REFERENCE_FILE,
  anchorOf,
  CONDITIONS_SOURCE,
  docComments,
  reasonGroups,
  renderApiReference,
} from "../../src/api/generate/api-reference.js";
import { KINDS } from "../../src/api/kinds.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

interface Node {
  type?: string;
  properties?: Record<string, Node>;
  items?: Node;
}

const conditionsSource = readFileSync(join(PACKAGE_ROOT, CONDITIONS_SOURCE), "utf8");
const page = renderApiReference(conditionsSource);

/** Every field path of a schema, as the page writes them (`[]` for list items). */
function paths(node: Node, prefix: string): string[] {
  const out: string[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = `${prefix}${name}`;
    out.push(path);
    if (name === "conditions") continue; // described once, under Condition
    if (child.properties) out.push(...paths(child, `${path}.`));
    if (child.items?.properties) out.push(...paths(child.items, `${path}[].`));
  }
  return out;
}

test(`${API_REFERENCE_FILE} matches src/api (npm run gen:docs)`, () => {
  const run = spawnSync(process.execPath, [join(PACKAGE_ROOT, "scripts", "gen-api-docs.mjs"), "--check"], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
});

test("the reference has a row for every spec and status field of every kind", () => {
  for (const definition of KINDS) {
    const crd = customResourceDefinition(definition) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: Node } }> };
    };
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema as Node;
    const section = page.slice(page.indexOf(`## ${definition.kind}\n`));
    for (const path of [
      ...paths(root.properties?.spec as Node, "spec."),
      ...paths(root.properties?.status ?? {}, "status."),
    ]) {
      assert.ok(section.includes(`| \`${path}\``), `${definition.kind}: no row for ${path}`);
    }
  }
});

test("the reference names every condition type and links every reason to troubleshooting", () => {
  for (const type of Object.values(ConditionType)) assert.ok(page.includes(`| \`${type}\` |`), type);
  for (const reason of Object.values(Reason)) {
    assert.ok(page.includes(`[\`${reason}\`](troubleshooting.md#${anchorOf(reason)})`), reason);
  }
});

test("every reason and condition type has a doc comment, and every reason a group", () => {
  const comments = docComments(conditionsSource);
  const missing = [...Object.values(ConditionType), ...Object.values(Reason)].filter(
    (name) => !comments.get(name),
  );
  assert.deepEqual(missing, [], `add a /** doc comment */ in ${CONDITIONS_SOURCE}`);
  const grouped = reasonGroups(conditionsSource).flatMap((group) => group.reasons);
  assert.deepEqual([...grouped].sort(), Object.values(Reason).sort());
});

test("doc comments and groups are read as written", () => {
  const source = [
    "export const Reason = {",
    "  // Good news.",
    "  /**",
    "   * Two lines",
    "   * of text.",
    "   */",
    '  A: "A",',
    '  B: "B",',
    "",
    '  C: "C",',
    "} as const;",
  ].join("\n");
  assert.equal(docComments(source).get("A"), "Two lines of text.");
  assert.equal(docComments(source).has("B"), false);
  assert.deepEqual(reasonGroups(source), [
    { heading: "Good news", reasons: ["A", "B"] },
    { heading: "Other", reasons: ["C"] },
  ]);
  assert.equal(anchorOf("Upgrades, and rollbacks (Helm)"), "upgrades-and-rollbacks-helm");
});
