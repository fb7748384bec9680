// Renders docs/api-reference.md from the CRDs that the TypeBox schemas generate (what the API
// server enforces, and what `azid validate` checks) and from the condition types and reasons of
// src/api/conditions.ts, with the doc comments of that file. Pure: the script reads and writes.
import { ConditionType, Reason } from "../conditions.js";
import { customResourceDefinition, type JsonSchemaProps } from "../crd.js";
import { KINDS, type KindDefinition } from "../kinds.js";
import { PATTERNS } from "../patterns.js";
import { GROUP, VERSION } from "../schemas/common.js";

export const API_REFERENCE_FILE = "docs/api-reference.md";
export const CONDITIONS_SOURCE = "src/api/conditions.ts";

/** Where each condition reason is explained (a hand-written page, checked by test/docs). */
const TROUBLESHOOTING = "troubleshooting.md";

/** Human names of the shared patterns, so that a field shows "ARM resource id", not 600 characters of regex. */
const PATTERN_NAMES: Record<keyof typeof PATTERNS, string> = {
  guid: "GUID",
  resourceGroup: "resource group name",
  identityName: "identity name",
  federatedCredentialName: "federated credential name",
  resourceId: "ARM resource id",
  scope: "ARM scope",
  roleDefinitionId: "role definition id",
  location: "Azure region",
  httpsUrl: "HTTPS URL",
};

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode;
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: Array<{ rule: string; message: string }>;
}

/** The doc comments (`/** ... *\/`) above the members of an `as const` object, by member name. */
export function docComments(source: string): Map<string, string> {
  const comments = new Map<string, string>();
  for (const match of source.matchAll(/\/\*\*([\s\S]*?)\*\/\s*\n\s*(\w+):/g)) {
    const text = (match[1] as string)
      .split("\n")
      .map((line) => line.replace(/^\s*\*?\s?/, "").trim())
      .filter((line) => line !== "")
      .join(" ");
    comments.set(match[2] as string, text);
  }
  return comments;
}

/** The `// Heading.` line comments that group the members of `export const Reason = {...}`. */
export function reasonGroups(source: string): Array<{ heading: string; reasons: string[] }> {
  const block = /export const Reason = \{([\s\S]*?)\n\} as const;/.exec(source)?.[1] ?? "";
  const groups: Array<{ heading: string; reasons: string[] }> = [];
  let current: { heading: string; reasons: string[] } | undefined;
  for (const line of block.split("\n")) {
    const heading = /^\s*\/\/\s*(.+?)\.?\s*$/.exec(line)?.[1];
    if (heading) {
      current = { heading, reasons: [] };
      groups.push(current);
    }
    // A blank line ends a group: members after it without a heading of their own are "Other".
    if (line.trim() === "") current = undefined;
    const member = /^\s*(\w+):\s*"/.exec(line)?.[1];
    if (member) {
      if (!current) {
        current = { heading: "Other", reasons: [] };
        groups.push(current);
      }
      current.reasons.push(member);
    }
  }
  return groups;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

const cell = (text: string) => text.replace(/\|/g, "\\|");
const code = (value: unknown) => `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;

function typeOf(node: SchemaNode): string {
  if (node.type === "array") return `[]${node.items ? typeOf(node.items) : "any"}`;
  if (node.type === "object" && node.additionalProperties) {
    return `map[string]${typeOf(node.additionalProperties)}`;
  }
  if (node.type === "array" || node.type === "object") return node.type;
  return node.format ? `${node.type} (${node.format})` : (node.type ?? "any");
}

function patternText(pattern: string): string {
  const name = (Object.keys(PATTERNS) as Array<keyof typeof PATTERNS>).find(
    (key) => PATTERNS[key] === pattern,
  );
  return name ? `[${PATTERN_NAMES[name]}](#patterns)` : code(pattern);
}

function range(min: number | undefined, max: number | undefined, unit: string): string | undefined {
  if (min !== undefined && max !== undefined)
    return min === max ? `exactly ${min} ${unit}` : `${min}–${max} ${unit}`;
  if (max !== undefined) return `at most ${max} ${unit}`;
  if (min !== undefined) return `at least ${min} ${unit}`;
  return undefined;
}

function isImmutable(rule: { rule: string; message: string }): boolean {
  return rule.rule === "self == oldSelf";
}

/** What the API server checks on this node, in words. */
function validations(node: SchemaNode): string[] {
  const out: string[] = [];
  if (node.enum) out.push(`One of ${node.enum.map(code).join(", ")}.`);
  if (node.pattern) out.push(`Pattern: ${patternText(node.pattern)}.`);
  const length = range(node.minLength, node.maxLength, "characters");
  if (length) out.push(`Length: ${length}.`);
  if (node.minimum !== undefined) out.push(`Minimum ${node.minimum}.`);
  if (node.maximum !== undefined) out.push(`Maximum ${node.maximum}.`);
  const items = range(node.minItems, node.maxItems, "items");
  if (items) out.push(`${items[0]?.toUpperCase()}${items.slice(1)}.`);
  if (node.maxProperties !== undefined) out.push(`At most ${node.maxProperties} entries.`);
  if (node["x-kubernetes-list-type"] === "set") out.push("Items are unique.");
  if (node["x-kubernetes-list-type"] === "map") {
    const keys = node["x-kubernetes-list-map-keys"] ?? [];
    out.push(`One item per ${keys.map(code).join(" + ")}.`);
  }
  for (const rule of node["x-kubernetes-validations"] ?? []) {
    out.push(isImmutable(rule) ? "Immutable." : `Rule: ${rule.message} (${code(rule.rule)}).`);
  }
  return out;
}

/** The item rules of an array of objects, shown on the array's row. */
function itemValidations(node: SchemaNode): string[] {
  const rules = node.items?.type === "object" ? (node.items["x-kubernetes-validations"] ?? []) : [];
  return rules.map((rule) => `Each item: ${rule.message} (${code(rule.rule)}).`);
}

function isConditionList(node: SchemaNode): boolean {
  const fields = Object.keys(node.items?.properties ?? {});
  return (
    node.type === "array" &&
    ["type", "status", "reason", "lastTransitionTime"].every((f) => fields.includes(f))
  );
}

interface Row {
  path: string;
  required: boolean;
  node: SchemaNode;
  type?: string;
  extra?: string[];
}

/** One row per field, depth first, in declaration order; conditions point to the shared type. */
function rows(node: SchemaNode, prefix: string): Row[] {
  const out: Row[] = [];
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = `${prefix}${name}`;
    if (isConditionList(child)) {
      out.push({ path, required: required.has(name), node: child, type: "[][Condition](#condition)" });
      continue;
    }
    out.push({ path, required: required.has(name), node: child, extra: itemValidations(child) });
    if (child.type === "object" && child.properties) out.push(...rows(child, `${path}.`));
    if (child.type === "array" && child.items?.properties) out.push(...rows(child.items, `${path}[].`));
    if (child.additionalProperties?.properties) out.push(...rows(child.additionalProperties, `${path}{}.`));
  }
  return out;
}

function fieldTable(node: SchemaNode, prefix = ""): string[] {
  const lines = ["| Field | Type | Description |", "| --- | --- | --- |"];
  for (const row of rows(node, prefix)) {
    const text = [
      row.node.description ?? "",
      ...(row.node.default !== undefined ? [`Default: ${code(row.node.default)}.`] : []),
      ...validations(row.node),
      ...(row.extra ?? []),
    ]
      .filter((part) => part !== "")
      .join(" ");
    const name = `${code(row.path)}${row.required ? " **(required)**" : ""}`;
    lines.push(`| ${name} | ${cell(row.type ?? code(typeOf(row.node)))} | ${cell(text)} |`);
  }
  return lines;
}

function kindSection(definition: KindDefinition): string[] {
  const crd = customResourceDefinition(definition) as {
    spec: { versions: Array<{ schema: { openAPIV3Schema: JsonSchemaProps } }> };
  };
  const root = crd.spec.versions[0]?.schema.openAPIV3Schema as SchemaNode;
  const spec = root.properties?.spec as SchemaNode;
  const status = root.properties?.status;
  const columns = definition.printerColumns
    .map((column) => `${column.name}${column.priority ? " (`-o wide`)" : ""}`)
    .join(", ");
  const lines = [
    `## ${definition.kind}`,
    "",
    root.description ?? "",
    "",
    `- Scope: ${definition.scope === "Cluster" ? "cluster" : "namespaced"}; resource \`${definition.plural}.${GROUP}\`; ` +
      `short name${definition.shortNames.length > 1 ? "s" : ""} ${definition.shortNames.map(code).join(", ")}; ` +
      "category `azid`.",
    `- \`kubectl get ${definition.shortNames[0]}\` shows: ${columns}.`,
  ];
  for (const rule of root["x-kubernetes-validations"] ?? []) {
    lines.push(`- Rule on the object: ${rule.message} (${code(rule.rule)}).`);
  }
  lines.push("", `### ${definition.kind} spec`, "", spec.description ?? "", "");
  for (const rule of spec["x-kubernetes-validations"] ?? [])
    lines.push(`- Rule: ${rule.message} (${code(rule.rule)}).`);
  if (spec["x-kubernetes-validations"]) lines.push("");
  lines.push(...fieldTable(spec, "spec."));
  if (status) {
    lines.push("", `### ${definition.kind} status`, "", status.description ?? "", "");
    lines.push(...fieldTable(status, "status."));
  }
  lines.push("");
  return lines;
}

function conditionSection(conditionsSource: string): string[] {
  const docs = docComments(conditionsSource);
  const condition = KINDS.map((definition) => {
    const root = customResourceDefinition(definition) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: SchemaNode } }> };
    };
    return root.spec.versions[0]?.schema.openAPIV3Schema.properties?.status?.properties?.conditions?.items;
  }).find((items) => items !== undefined) as SchemaNode;
  const lines = [
    "## Condition",
    "",
    `${condition.description} Every kind with a status keeps one condition per type in \`status.conditions\`.`,
    "",
    ...fieldTable(condition),
    "",
    "### Condition types",
    "",
    "| Type | Meaning |",
    "| --- | --- |",
  ];
  for (const type of Object.values(ConditionType))
    lines.push(`| \`${type}\` | ${cell(docs.get(type) ?? "")} |`);
  lines.push(
    "",
    "### Condition reasons",
    "",
    `Stable strings: alerts and scripts may key on them. Each links to what it means, what azid does and what to do, in [troubleshooting](${TROUBLESHOOTING}).`,
    "",
  );
  const known = new Set<string>(Object.values(Reason));
  for (const group of reasonGroups(conditionsSource)) {
    lines.push(`#### ${group.heading}`, "", "| Reason | Meaning |", "| --- | --- |");
    for (const reason of group.reasons.filter((name) => known.has(name))) {
      lines.push(
        `| [\`${reason}\`](${TROUBLESHOOTING}#${anchorOf(reason)}) | ${cell(docs.get(reason) ?? "")} |`,
      );
    }
    lines.push("");
  }
  return lines;
}

function patternSection(): string[] {
  const lines = [
    "## Patterns",
    "",
    "The regular expressions the schemas share (`src/api/patterns.ts`), written for both ECMAScript and",
    "the API server's RE2. Keywords of ARM ids match in any case.",
    "",
  ];
  for (const key of Object.keys(PATTERNS) as Array<keyof typeof PATTERNS>) {
    lines.push(`- ${PATTERN_NAMES[key]}:`, "", "  ```", `  ${PATTERNS[key]}`, "  ```", "");
  }
  return lines;
}

/** The whole page; `conditionsSource` is the text of src/api/conditions.ts (for its doc comments). */
export function renderApiReference(conditionsSource: string): string {
  const lines = [
    "# API reference",
    "",
    "<!-- Generated by `npm run gen:docs` from src/api (the CRDs of the TypeBox schemas, and",
    "     src/api/conditions.ts). Do not edit: test/docs/api-reference.test.ts fails when it is stale. -->",
    "",
    `Group \`${GROUP}\`, version \`${VERSION}\`. The API server checks every field below at admission`,
    "(types, enums, patterns, lengths, list rules and the CEL rules); `azid validate` runs the same checks",
    "offline. **(required)** marks a field that must be set; a default is filled in when a field is",
    "absent. In a field path, `[]` stands for every item of a list.",
    "",
    "| Kind | Scope | Short names | What it is |",
    "| --- | --- | --- | --- |",
  ];
  for (const definition of KINDS) {
    const description = (definition.schema as { description?: string }).description ?? "";
    lines.push(
      `| [${definition.kind}](#${anchorOf(definition.kind)}) | ${definition.scope} | ${definition.shortNames.map(code).join(", ")} | ${cell(description)} |`,
    );
  }
  lines.push("");
  for (const definition of KINDS) lines.push(...kindSection(definition));
  lines.push(...conditionSection(conditionsSource), ...patternSection());
  return `${lines
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd()}\n`;
}
