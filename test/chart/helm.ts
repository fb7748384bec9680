// Runs the real Helm 4 binary on the chart and parses what it renders.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { toolPath } from "../support/tools.js";

export const CHART_DIR = join(PACKAGE_ROOT, "charts", "azid");
export const RELEASE = "azid";
export const NAMESPACE = "azid-system";
/** The oldest Kubernetes the chart supports (ValidatingAdmissionPolicy v1). */
export const KUBE_VERSION = "1.30.0";

const HELM_HOME = join(tmpdir(), "azid-chart-tests-helm");

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
  [field: string]: any;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const run = spawnSync(toolPath("helm"), args, {
    encoding: "utf8",
    // Helm must not read or write the developer's own Helm configuration.
    env: {
      PATH: process.env.PATH ?? "",
      HELM_CACHE_HOME: join(HELM_HOME, "cache"),
      HELM_CONFIG_HOME: join(HELM_HOME, "config"),
      HELM_DATA_HOME: join(HELM_HOME, "data"),
    },
  });
  if (run.error) throw run.error;
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

/** Runs helm with a values file holding `values` (JSON is YAML). */
export function helmWithValues(args: string[], values: object): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), "azid-chart-"));
  try {
    const file = join(dir, "values.yaml");
    writeFileSync(file, JSON.stringify(values));
    return helm([...args, "--values", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  chartDir?: string;
  kubeVersion?: string;
  /** The release namespace (default NAMESPACE). */
  namespace?: string;
}

/** `helm template` with the given values, as YAML; throws with Helm's message when it fails. */
export function renderManifests(values: object = {}, options: RenderOptions = {}): string {
  const result = helmWithValues(
    [
      "template",
      RELEASE,
      options.chartDir ?? CHART_DIR,
      "--namespace",
      options.namespace ?? NAMESPACE,
      "--kube-version",
      options.kubeVersion ?? KUBE_VERSION,
    ],
    values,
  );
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return result.stdout;
}

/** `helm template` with the given values, parsed. */
export function renderChart(values: object = {}, options: RenderOptions = {}): KubeObject[] {
  return parseManifests(renderManifests(values, options));
}

export function parseManifests(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML is invalid: ${doc.errors[0]?.message}`);
    const object = doc.toJS() as KubeObject | null;
    if (object !== null) objects.push(object);
  }
  return objects;
}

export function findObject(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ""}, rendered ${found.length}`);
  return found[0] as KubeObject;
}

export function kinds(objects: KubeObject[]): string[] {
  return objects.map((o) => o.kind).sort();
}
