// The docs name things that exist: links resolve (anchors too), and the metrics, condition reasons,
// CLI commands and flags, chart values, resource fields, npm scripts and repository paths they
// put in code spans are the code's. What counts as "naming" (so that writers know):
// - a code span or code-block line that runs `azid CMD ...`: CMD and its flags must exist;
// - a code span that starts with `--`: a flag of some azid command;
// - a CamelCase word in a code span: a string the code uses (a reason, a kind, an Azure code...);
// - `controller_runtime_*`, `workqueue_*`, `azid_*`, `process_*`, `nodejs_*`: a metric (with its
//   labels, when given);
// - `spec.x.y` / `status.x.y`: a field of some kind; `<chart value>.x`: a key of values.yaml;
// - `src/...`, `test/...`, `scripts/...`, `charts/...`, `docs/...`: a path in the repository;
// - `npm run X`: a script of package.json.
// docs/design.md, the original design card, is kept as written and not checked.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { Reason } from "../../src/api/conditions.js";
import { customResourceDefinition } from "../../src/api/crd.js";
import { anchorOf } from "../../src/api/generate/api-reference.js";
import { KINDS } from "../../src/api/kinds.js";
import { Metrics } from "../../src/observability/metrics.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

const DOCS = join(PACKAGE_ROOT, "docs");
const UNCHECKED = new Set(["design.md"]);
const pages = [
  join(PACKAGE_ROOT, "README.md"),
  ...readdirSync(DOCS)
    .filter((file) => file.endsWith(".md") && !UNCHECKED.has(file))
    .map((file) => join(DOCS, file)),
];
const name = (page: string) => relative(PACKAGE_ROOT, page);

/** Prose (code removed), inline code spans, and code-block lines of a Markdown page. */
function parse(text: string) {
  const prose: string[] = [];
  const spans: string[] = [];
  const blockLines: string[] = [];
  let fence: string | undefined;
  for (const line of text.split("\n")) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    if (fence !== undefined) {
      blockLines.push(line);
      continue;
    }
    for (const match of line.matchAll(/(`+)([^`]+?)\1(?!`)/g)) spans.push((match[2] as string).trim());
    prose.push(line.replace(/(`+)[^`]+?\1(?!`)/g, "``"));
  }
  return { prose: prose.join("\n"), spans, blockLines };
}

const parsed = new Map(pages.map((page) => [page, parse(readFileSync(page, "utf8"))]));

/** Every span and code line of every page, with the page it came from. */
function* codeTexts(): Generator<{ page: string; text: string }> {
  for (const [page, { spans, blockLines }] of parsed) {
    for (const text of spans) yield { page, text };
    // Shell lines continued with a backslash are one command.
    for (const text of blockLines
      .join("\n")
      .replace(/\\\n\s*/g, " ")
      .split("\n"))
      yield { page, text };
  }
}

function anchorsOf(page: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(page, "utf8").split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)?.[1];
    if (!heading) continue;
    const base = anchorOf(heading.replace(/`/g, ""));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

test("links between the docs resolve, anchors included", () => {
  const problems: string[] = [];
  for (const [page, { prose }] of parsed) {
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1] as string;
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split("#") as [string, string | undefined];
      const file = path === "" ? page : resolve(dirname(page), path);
      if (!existsSync(file)) {
        problems.push(`${name(page)}: ${target}: no such file`);
        continue;
      }
      if (anchor !== undefined && (!file.endsWith(".md") || !anchorsOf(file).has(anchor))) {
        problems.push(`${name(page)}: ${target}: no such heading`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test("troubleshooting.md has a section for every condition reason, and none for others", () => {
  const headings = [
    ...readFileSync(join(DOCS, "troubleshooting.md"), "utf8").matchAll(/^### (\w+)\s*$/gm),
  ].map((match) => match[1] as string);
  const reasons = Object.values(Reason) as string[];
  assert.deepEqual(
    reasons.filter((reason) => !headings.includes(reason)),
    [],
    "reasons without a section",
  );
  assert.deepEqual(
    headings.filter((heading) => !reasons.includes(heading)),
    [],
    "sections for reasons that src/api/conditions.ts does not have",
  );
});

test("metric names and labels in the docs are the controller's", () => {
  const metrics = new Map(
    new Metrics().registry.getMetricsAsArray().map((metric) => {
      const { name: metricName, labelNames } = metric as unknown as { name: string; labelNames: string[] };
      return [metricName, new Set(labelNames)];
    }),
  );
  const problems: string[] = [];
  for (const { page, text } of codeTexts()) {
    const pattern =
      /\b((?:controller_runtime|workqueue|azid|process|nodejs)_[a-z0-9_]*[a-z0-9])(\{[^}]*\})?/g;
    for (const match of text.matchAll(pattern)) {
      const written = match[1] as string;
      const metric = [written, written.replace(/_(bucket|sum|count)$/, "")].find((n) => metrics.has(n));
      if (!metric) {
        problems.push(`${name(page)}: ${written} is not a metric`);
        continue;
      }
      for (const label of (match[2] ?? "").matchAll(/([a-z_]+)\s*(?:[=!]~?|,|\})/g)) {
        const labelName = label[1] as string;
        if (labelName !== "le" && !metrics.get(metric)?.has(labelName)) {
          problems.push(`${name(page)}: ${metric} has no label ${labelName}`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

/** The CLI's commands and their flags, as commander knows them (every module of src/cli/commands). */
async function cliOptions(): Promise<Map<string, Set<string>>> {
  const program = new Command();
  const dir = join(PACKAGE_ROOT, "src", "cli", "commands");
  for (const file of readdirSync(dir).filter((entry) => entry.endsWith(".ts"))) {
    const module = (await import(`../../src/cli/commands/${file.replace(/\.ts$/, ".js")}`)) as Record<
      string,
      unknown
    >;
    for (const [exported, value] of Object.entries(module)) {
      if (/^register\w+Command$/.test(exported) && typeof value === "function") value(program);
    }
  }
  return new Map(
    program.commands.map((command) => [
      command.name(),
      new Set(
        command.options.flatMap((option) => [option.long, option.short].filter((f): f is string => !!f)),
      ),
    ]),
  );
}

test("the azid commands and flags the docs show exist", async () => {
  const cli = await cliOptions();
  assert.ok(cli.has("controller") && cli.get("apply")?.has("--state"), "the CLI's help could not be read");
  const anyFlag = new Set([...cli.values()].flatMap((flags) => [...flags]));
  const problems: string[] = [];
  for (const { page, text } of codeTexts()) {
    const line = text.replace(/\s#\s.*$/, "");
    for (const segment of line.split(/&&|\|\||[|;]|\$\(/)) {
      const command = /^\s*(?:\$\s+)?(?:node\s+bin\/azid\.js|npx\s+azid|azid)\s+([a-z][a-z-]*)(.*)$/.exec(
        segment,
      );
      if (!command) continue;
      const flags = cli.get(command[1] as string);
      if (!flags) {
        problems.push(`${name(page)}: azid ${command[1]} is not a command`);
        continue;
      }
      for (const flag of (command[2] as string).matchAll(/(?:^|\s)(--?[a-z][\w-]*)/g)) {
        if (!flags.has(flag[1] as string))
          problems.push(`${name(page)}: azid ${command[1]} has no ${flag[1]}`);
      }
    }
    const lone = /^(--[a-z][\w-]*)/.exec(text)?.[1];
    if (lone && text === text.trim() && !anyFlag.has(lone)) {
      problems.push(`${name(page)}: ${lone} is not a flag of any azid command`);
    }
  }
  assert.deepEqual(problems, []);
});

function sourceText(): string {
  const parts: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|ya?ml|json|tpl|txt)$/.test(entry.name)) parts.push(readFileSync(path, "utf8"));
    }
  };
  walk(join(PACKAGE_ROOT, "src"));
  walk(join(PACKAGE_ROOT, "charts"));
  // The emulators answer with Azure's and Kubernetes' own codes, which the pages name too.
  for (const name of readdirSync(join(PACKAGE_ROOT, "packages")))
    walk(join(PACKAGE_ROOT, "packages", name, "src"));
  return parts.join("\n");
}

test("every CamelCase word in a code span is a string the code uses", () => {
  const words = new Set(sourceText().match(/[A-Za-z][A-Za-z0-9]*/g));
  const problems: string[] = [];
  for (const [page, { spans }] of parsed) {
    for (const span of spans) {
      if (/^[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*$/.test(span) && !words.has(span)) {
        problems.push(`${name(page)}: ${span}`);
      }
    }
  }
  assert.deepEqual(problems, [], "names the code does not know");
});

/** Every field path of every kind, list items transparent: `spec.roleAssignments.role`. */
function fieldPaths(): Set<string> {
  interface Node {
    properties?: Record<string, Node>;
    items?: Node;
    additionalProperties?: Node;
  }
  const paths = new Set<string>();
  const walk = (node: Node, prefix: string) => {
    for (const [field, child] of Object.entries(node.properties ?? {})) {
      paths.add(`${prefix}${field}`);
      walk(child.items ?? child.additionalProperties ?? child, `${prefix}${field}.`);
    }
  };
  for (const definition of KINDS) {
    const crd = customResourceDefinition(definition) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: Node } }> };
    };
    walk(crd.spec.versions[0]?.schema.openAPIV3Schema as Node, "");
  }
  return paths;
}

test("resource fields, chart values, npm scripts and paths named in the docs exist", () => {
  const fields = fieldPaths();
  const values = parseYaml(readFileSync(join(PACKAGE_ROOT, "charts/azid/values.yaml"), "utf8")) as Record<
    string,
    unknown
  >;
  const scripts = (
    JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { scripts: object }
  ).scripts;
  const problems: string[] = [];
  for (const { page, text } of codeTexts()) {
    const where = name(page);
    for (const match of text.matchAll(/(?:^|[\s(])((?:spec|status)(?:\.\w+|\[\d*\])+)/g)) {
      const path = (match[1] as string).replace(/\[\d*\]/g, "");
      if (!fields.has(path)) problems.push(`${where}: ${match[1]} is not a field of any kind`);
    }
    for (const match of text.matchAll(/npm run ([\w:-]+)/g)) {
      if (!((match[1] as string) in scripts)) problems.push(`${where}: npm run ${match[1]}: no such script`);
    }
    for (const match of text.matchAll(
      /(?:^|[\s(=])((?:src|test|bench|scripts|charts|crds|docs)\/[\w./-]*)/g,
    )) {
      const path = (match[1] as string).replace(/[.,]$/, "");
      if (!existsSync(join(PACKAGE_ROOT, path))) problems.push(`${where}: ${path} does not exist`);
    }
  }
  // Chart values: a code span `a.b.c` (maybe `=value` or `: value` after it) whose first key is a value.
  for (const [page, { spans }] of parsed) {
    for (const span of spans) {
      const path = /^([a-zA-Z]\w*(?:\.[a-zA-Z]\w*)+)(?:$|[=:\s[])/.exec(span)?.[1];
      const [first, ...rest] = path?.split(".") ?? [];
      if (
        !first ||
        !(first in values) ||
        fields.has(path as string) ||
        /\.(ts|js|md|ya?ml|json)$/.test(path ?? "")
      ) {
        continue;
      }
      let node: unknown = values[first];
      for (const key of rest) {
        node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
        if (node === undefined) break;
      }
      if (node === undefined) problems.push(`${name(page)}: ${path} is not a chart value`);
    }
  }
  assert.deepEqual(problems, []);
});

test("the checks above look where they should (pages found, spans read)", () => {
  assert.ok(pages.some((page) => page.endsWith("troubleshooting.md")));
  const spans = [...parsed.values()].flatMap((p) => p.spans);
  assert.ok(spans.includes("MissingPermission"));
  assert.ok(statSync(join(DOCS, "design.md")).isFile());
  const sample = parse("a `x` b\n```sh\nazid plan \\\n  --state s\n```\n[l](#h) `y`\n");
  assert.deepEqual(sample.spans, ["x", "y"]);
  assert.deepEqual(sample.blockLines, ["azid plan \\", "  --state s"]);
  assert.match(sample.prose, /\[l\]\(#h\)/);
});
