// Reading `-f PATH`: files or folders (recursively), multi-document YAML and JSON (an object, an
// array, or a v1 List), each azid document validated as the API server would (schema, defaults,
// CEL rules). Every problem names its file, its document and the field.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { ManagedResource } from "../api/managed-resource.js";
import { GROUP } from "../api/schemas/common.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { IdentityPolicy } from "../api/schemas/identity-policy.js";
import type { SystemAssignedIdentity } from "../api/schemas/system-assigned-identity.js";
import type { UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import { type AzidResource, validateResource } from "../api/validate.js";
import { CliError } from "./exit-codes.js";
import { describeYamlProblem } from "./yaml-problem.js";

export interface DocumentSource {
  file: string;
  /** 1-based position of the document in its file. */
  document: number;
  /** Set when the document is a List: the item's index. */
  item?: number;
}

export interface ManifestIssue {
  source: DocumentSource;
  /** `Kind namespace/name`, when the document got that far. */
  resource?: string;
  /** Kubernetes-style field path; empty for the document as a whole. */
  field: string;
  message: string;
}

export type { ManagedResource };

export interface ManifestSet {
  userAssigned: UserAssignedIdentity[];
  systemAssigned: SystemAssignedIdentity[];
  customRoles: CustomRole[];
  policies: IdentityPolicy[];
  /** Labels of the Namespace manifests found, by name. */
  namespaces: Map<string, Record<string, string>>;
  /** Where each resource came from, by resourceKey(). */
  sources: Map<string, DocumentSource>;
  issues: ManifestIssue[];
  /** Documents of other API groups (Deployments, ...), left alone. */
  skipped: number;
  /** TenantMigrations are the controller's; the CLI's remediate takes their place. */
  ignoredMigrations: number;
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export const resourceKey = (resource: { kind: string; metadata: { namespace?: string; name: string } }) =>
  `${resource.kind}/${resource.metadata.namespace ?? "default"}/${resource.metadata.name}`;

export const describeSource = (source: DocumentSource) =>
  `${source.file}: document ${source.document}${source.item !== undefined ? ` items[${source.item}]` : ""}`;

export function formatIssue(issue: ManifestIssue): string {
  const what = issue.resource ? ` (${issue.resource})` : "";
  const field = issue.field ? `${issue.field}: ` : "";
  return `${describeSource(issue.source)}${what}: ${field}${issue.message}`;
}

/** The files a path stands for: itself, or the manifests in a folder and its subfolders, sorted. */
export function manifestFiles(path: string): string[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    throw new CliError(`${path}: no such file or folder`, "InvalidInput");
  }
  if (!stat.isDirectory()) return [path];
  const files: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name.startsWith(".")) continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) files.push(...manifestFiles(child));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(child);
  }
  return files;
}

/** Reads, parses and validates every manifest under `paths`. */
export function loadManifests(paths: readonly string[]): ManifestSet {
  const set: ManifestSet = {
    userAssigned: [],
    systemAssigned: [],
    customRoles: [],
    policies: [],
    namespaces: new Map(),
    sources: new Map(),
    issues: [],
    skipped: 0,
    ignoredMigrations: 0,
  };
  const files = [...new Set(paths.flatMap(manifestFiles))];
  for (const file of files) {
    for (const { source, value, error } of documentsOf(file)) {
      if (error) set.issues.push({ source, field: "", message: error });
      else add(set, source, value);
    }
  }
  return set;
}

interface RawDocument {
  source: DocumentSource;
  value?: unknown;
  error?: string;
}

function documentsOf(file: string): RawDocument[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return [{ source: { file, document: 1 }, error: `cannot read: ${(error as Error).message}` }];
  }
  const documents: RawDocument[] = [];
  if (extname(file).toLowerCase() === ".json") {
    try {
      const value = JSON.parse(text) as unknown;
      const values = Array.isArray(value) ? value : [value];
      for (const [i, v] of values.entries()) documents.push({ source: { file, document: i + 1 }, value: v });
    } catch (error) {
      documents.push({ source: { file, document: 1 }, error: `not JSON: ${(error as Error).message}` });
    }
  } else {
    for (const [i, document] of parseAllDocuments(text).entries()) {
      const source = { file, document: i + 1 };
      if (document.errors.length > 0) {
        documents.push({ source, error: describeYamlProblem(text, document.errors) });
      } else {
        documents.push({ source, value: document.toJS() });
      }
    }
  }
  // v1 List (what `kubectl get -o yaml` prints): its items are the documents.
  return documents.flatMap((document) => {
    const value = document.value as { kind?: unknown; items?: unknown } | null | undefined;
    if (value?.kind === "List" && Array.isArray(value.items)) {
      return value.items.map((item, index) => ({ source: { ...document.source, item: index }, value: item }));
    }
    return [document];
  });
}

function add(set: ManifestSet, source: DocumentSource, value: unknown) {
  if (value === null || value === undefined) return; // an empty document
  if (typeof value !== "object" || Array.isArray(value)) {
    set.issues.push({ source, field: "", message: "a manifest must be a mapping" });
    return;
  }
  const { apiVersion, kind, metadata } = value as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: unknown;
  };
  if (apiVersion === "v1" && kind === "Namespace") {
    addNamespace(set, source, metadata);
    return;
  }
  if (typeof apiVersion !== "string" || !apiVersion.startsWith(`${GROUP}/`)) {
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      set.issues.push({ source, field: "", message: "not a Kubernetes manifest (apiVersion and kind)" });
    } else {
      set.skipped++;
    }
    return;
  }
  const result = validateResource(value);
  const label = labelOf(value);
  if (!result.ok) {
    for (const issue of result.issues) {
      set.issues.push({ source, ...(label ? { resource: label } : {}), ...issue });
    }
    return;
  }
  const resource = withNamespace(result.resource);
  const key = resourceKey(resource);
  const earlier = set.sources.get(key);
  if (earlier) {
    set.issues.push({
      source,
      resource: label,
      field: "metadata.name",
      message: `declared twice (first in ${describeSource(earlier)})`,
    });
    return;
  }
  set.sources.set(key, source);
  switch (resource.kind) {
    case "UserAssignedIdentity":
      set.userAssigned.push(resource);
      break;
    case "SystemAssignedIdentity":
      set.systemAssigned.push(resource);
      break;
    case "CustomRole":
      set.customRoles.push(resource);
      break;
    case "IdentityPolicy":
      set.policies.push(resource);
      break;
    case "TenantMigration":
      set.ignoredMigrations++;
      break;
  }
}

/** Namespaced kinds without a namespace land in `default`, as kubectl would put them. */
function withNamespace(resource: AzidResource): AzidResource {
  if (resource.kind === "IdentityPolicy" || resource.kind === "TenantMigration") return resource;
  if (resource.metadata.namespace) return resource;
  return { ...resource, metadata: { ...resource.metadata, namespace: "default" } } as AzidResource;
}

function labelOf(value: unknown): string | undefined {
  const { kind, metadata } = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  if (typeof kind !== "string" || typeof metadata?.name !== "string") return undefined;
  const namespace = typeof metadata.namespace === "string" ? `${metadata.namespace}/` : "";
  return `${kind} ${namespace}${metadata.name}`;
}

function addNamespace(set: ManifestSet, source: DocumentSource, metadata: unknown) {
  const meta = metadata as { name?: unknown; labels?: unknown } | undefined;
  if (typeof meta?.name !== "string" || meta.name === "") {
    set.issues.push({ source, field: "metadata.name", message: "a Namespace needs a name" });
    return;
  }
  const labels = meta.labels ?? {};
  if (
    typeof labels !== "object" ||
    labels === null ||
    Object.values(labels).some((v) => typeof v !== "string")
  ) {
    set.issues.push({ source, field: "metadata.labels", message: "labels must map strings to strings" });
    return;
  }
  set.namespaces.set(meta.name, labels as Record<string, string>);
}

/** The resources azid reconciles, in the order a repair needs: custom roles first. */
export function managedResources(set: ManifestSet): ManagedResource[] {
  return [...set.customRoles, ...set.userAssigned, ...set.systemAssigned];
}
