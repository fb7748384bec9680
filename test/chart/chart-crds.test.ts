import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { CHART_DIR, findObject, RELEASE, renderChart } from "./helm.js";

const PLACEHOLDER = "placeholders.azid.dev";
const SYNC_SCRIPT = join(PACKAGE_ROOT, "scripts", "sync-chart-crds.mjs");

const PLACEHOLDER_CRD = `# A stand-in for the generated CRDs, made by the test.
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: placeholders.azid.dev
  labels:
    app.kubernetes.io/component: crd
spec:
  group: azid.dev
  names:
    kind: Placeholder
    listKind: PlaceholderList
    plural: placeholders
    singular: placeholder
    categories: [azid]
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources:
        status: {}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                subscriptionId:
                  type: string
                  pattern: "^[0-9a-f-]{36}$"
                  maxLength: 36
                  x-kubernetes-validations:
                    - rule: self == oldSelf
                      message: subscriptionId is immutable
                conditionVersion:
                  enum: ["2.0"]
                  type: string
`;

function yamlFiles(dir: string): Map<string, string> {
  if (!existsSync(dir)) return new Map();
  return new Map(
    readdirSync(dir)
      .filter((name) => name.endsWith(".yaml"))
      .map((name) => [name, readFileSync(join(dir, name), "utf8")]),
  );
}

function sync(...args: string[]) {
  const run = spawnSync(process.execPath, [SYNC_SCRIPT, ...args], { encoding: "utf8" });
  return { status: run.status, output: run.stdout + run.stderr };
}

const work = mkdtempSync(join(tmpdir(), "azid-chart-crds-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("the chart carries exactly the CRDs of crds/, byte for byte", () => {
  const source = yamlFiles(join(PACKAGE_ROOT, "crds"));
  const chart = yamlFiles(join(CHART_DIR, "files", "crds"));
  assert.deepEqual(
    [...chart.keys()].sort(),
    [...source.keys()].sort(),
    "run node scripts/sync-chart-crds.mjs to update the chart's copy",
  );
  for (const [name, text] of source) {
    assert.equal(
      chart.get(name),
      text,
      `charts/azid/files/crds/${name} differs: run node scripts/sync-chart-crds.mjs`,
    );
  }
});

test("the chart renders each CRD of crds/ as it is, with the chart's labels and the keep policy", () => {
  const rendered = renderChart().filter((o) => o.kind === "CustomResourceDefinition");
  const sources = [...yamlFiles(join(PACKAGE_ROOT, "crds")).values()].map((text) => parseYaml(text));
  assert.equal(rendered.length, sources.length);
  for (const source of sources) {
    const crd = findObject(rendered, "CustomResourceDefinition", source.metadata.name);
    assert.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], "keep");
    assert.equal(crd.metadata.labels?.["app.kubernetes.io/instance"], RELEASE);
    const { metadata: _rendered, ...renderedRest } = crd;
    const { metadata: _source, ...sourceRest } = source;
    assert.deepEqual(renderedRest, sourceRest, source.metadata.name);
  }
});

describe("scripts/sync-chart-crds.mjs", () => {
  const from = join(work, "sync", "crds");
  const to = join(work, "sync", "chart-crds");
  mkdirSync(from, { recursive: true });

  test("copies the CRDs, then --check finds nothing to do", () => {
    writeFileSync(join(from, "azid.dev_placeholders.yaml"), PLACEHOLDER_CRD);
    const copy = sync("--from", from, "--to", to);
    assert.equal(copy.status, 0, copy.output);
    assert.deepEqual(yamlFiles(to), yamlFiles(from));
    assert.equal(sync("--check", "--from", from, "--to", to).status, 0);
  });

  test("--check names a changed file and a stale one, and changes nothing", () => {
    writeFileSync(join(from, "azid.dev_placeholders.yaml"), PLACEHOLDER_CRD.replace("v1alpha1", "v1beta1"));
    writeFileSync(join(to, "azid.dev_gone.yaml"), PLACEHOLDER_CRD);
    const check = sync("--check", "--from", from, "--to", to);
    assert.equal(check.status, 1);
    assert.match(check.output, /azid\.dev_placeholders\.yaml differs from/);
    assert.match(check.output, /azid\.dev_gone\.yaml has no source/);
    assert.match(check.output, /run node scripts\/sync-chart-crds\.mjs/);
    assert.ok(
      yamlFiles(to).get("azid.dev_placeholders.yaml")?.includes("v1alpha1"),
      "--check must not write",
    );

    assert.equal(sync("--from", from, "--to", to).status, 0);
    assert.deepEqual(yamlFiles(to), yamlFiles(from), "the stale copy is removed, the changed one updated");
  });

  test("refuses a source that is not a CustomResourceDefinition, and a bad argument", () => {
    const bad = join(work, "sync", "bad");
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    const refused = sync("--from", bad, "--to", join(work, "sync", "unused"));
    assert.equal(refused.status, 2);
    assert.match(
      refused.output,
      /cm\.yaml: expected exactly one apiextensions\.k8s\.io\/v1 CustomResourceDefinition/,
    );
    assert.ok(!existsSync(join(work, "sync", "unused")));
    assert.match(sync("--force").output, /unexpected argument '--force'/);
  });
});

describe("the CRD template", () => {
  const chart = join(work, "chart");
  cpSync(CHART_DIR, chart, { recursive: true });
  writeFileSync(join(chart, "files", "crds", "azid.dev_placeholders.yaml"), PLACEHOLDER_CRD);
  const source = parseYaml(PLACEHOLDER_CRD);

  test("renders each CRD unchanged but for the chart's labels and the keep policy", () => {
    const crd = findObject(renderChart({}, { chartDir: chart }), "CustomResourceDefinition", PLACEHOLDER);
    assert.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], "keep");
    assert.equal(crd.metadata.labels?.["app.kubernetes.io/instance"], RELEASE);
    assert.equal(crd.metadata.labels?.["app.kubernetes.io/component"], "crd", "the CRD's own labels stay");
    const { metadata: _rendered, ...renderedRest } = crd;
    const { metadata: _source, ...sourceRest } = source;
    assert.deepEqual(renderedRest, sourceRest);
    assert.equal(crd.metadata.name, source.metadata.name);
  });

  test("crds.annotations are added to every CRD (e.g. Argo CD sync options)", () => {
    const options = "Prune=false,ServerSideApply=true";
    const values = { crds: { annotations: { "argocd.argoproj.io/sync-options": options } } };
    const crd = findObject(renderChart(values, { chartDir: chart }), "CustomResourceDefinition", PLACEHOLDER);
    assert.equal(crd.metadata.annotations?.["argocd.argoproj.io/sync-options"], options);
    assert.equal(crd.metadata.annotations?.["helm.sh/resource-policy"], "keep");
  });

  test("crds.keep=false drops the keep policy; crds.install=false renders no CRD", () => {
    const unkept = findObject(
      renderChart({ crds: { keep: false } }, { chartDir: chart }),
      "CustomResourceDefinition",
      PLACEHOLDER,
    );
    assert.equal(unkept.metadata.annotations?.["helm.sh/resource-policy"], undefined);
    assert.equal(
      renderChart({}, { chartDir: chart }).filter((o) => o.kind === "CustomResourceDefinition").length,
      yamlFiles(join(chart, "files", "crds")).size,
    );
    const none = renderChart({ crds: { install: false } }, { chartDir: chart });
    assert.ok(!none.some((o) => o.kind === "CustomResourceDefinition"));
  });
});
