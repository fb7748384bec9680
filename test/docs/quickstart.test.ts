// The AKS quickstart in docs/operations.md is followed by people, command by command: every chart
// value it sets, every azid flag it passes, the names it derives from the chart (ServiceAccount,
// Deployment, container) and the paths inside the image must be what the code has, and its
// manifests must validate. A value or flag that disappears fails here.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { PACKAGE_ROOT } from "../../src/util/paths.js";
import { findObject, renderChart } from "../chart/helm.js";

const page = readFileSync(join(PACKAGE_ROOT, "docs", "operations.md"), "utf8");
const section = /^## Quickstart on AKS\n([\s\S]*?)^## /m.exec(page)?.[1] ?? "";

/** The fenced blocks of the section, by language, shell lines continued with \ joined. */
function blocks(language: string): string[] {
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)]
    .filter((match) => match[1] === language)
    .map((match) => (match[2] as string).replace(/\\\n\s*/g, " "));
}
const shell = blocks("sh").join("\n");
const azid = join(PACKAGE_ROOT, "bin", "azid.js");

describe("the AKS quickstart", () => {
  const dir = mkdtempSync(join(tmpdir(), "azid-quickstart-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("is there, with its steps", () => {
    for (const step of [
      "helm push",
      "az identity federated-credential create",
      "helm install",
      "preflight",
      "kubectl apply",
    ]) {
      assert.ok(shell.includes(step), step);
    }
  });

  test("sets only chart values that exist", () => {
    const values = parseYaml(readFileSync(join(PACKAGE_ROOT, "charts", "azid", "values.yaml"), "utf8"));
    const set = [...shell.matchAll(/--set(?:-string)?\s+([\w.]+)=/g)].map((m) => m[1] as string);
    assert.ok(set.length >= 5, `the install sets the image and workload identity values: ${set}`);
    for (const path of set) {
      let node: unknown = values;
      for (const key of path.split(".")) {
        assert.ok(node && typeof node === "object" && key in node, `${path} is not a chart value`);
        node = (node as Record<string, unknown>)[key];
      }
    }
  });

  test("passes only azid flags that exist, to the paths the image has", () => {
    const dockerfile = readFileSync(join(PACKAGE_ROOT, "Dockerfile"), "utf8");
    const runs = [
      ...shell.matchAll(/(\S+) (\S+\/azid\.js) ([a-z-]+)((?: -{1,2}[\w-]+(?: [^\s-<][^\s<]*)?)*)/g),
    ];
    assert.ok(runs.length > 0, "the quickstart runs azid in the pod");
    for (const [, node, script, command, flags] of runs) {
      assert.ok(
        dockerfile.includes(`ENTRYPOINT ["${node}", "--enable-source-maps", "${script}"]`),
        `${node} ${script}`,
      );
      const help = spawnSync(process.execPath, [azid, command as string, "--help"], { encoding: "utf8" });
      assert.equal(help.status, 0, `azid ${command}: ${help.stderr}`);
      for (const flag of (flags as string).matchAll(/\s(-{1,2}[\w-]+)/g)) {
        assert.ok(
          new RegExp(`(^|[\\s,])${flag[1]}\\b`, "m").test(help.stdout),
          `azid ${command} has no ${flag[1]}`,
        );
      }
    }
  });

  test("names the ServiceAccount, Deployment and container the chart renders for release azid in azid-system", () => {
    const subject = /--subject (system:serviceaccount:([\w-]+):([\w-]+))/.exec(shell);
    assert.ok(subject, "the federated credential's subject");
    const install = /helm install (\S+) .*--namespace (\S+)/.exec(shell);
    assert.equal(install?.[2], subject[2], "the release namespace");
    const objects = renderChart(
      { azure: { workloadIdentity: { clientId: "66666666-7777-4888-8999-000000000000" } } },
      { namespace: subject[2] },
    );
    assert.equal(install?.[1], "azid", "the release name the chart test renders");
    const account = findObject(objects, "ServiceAccount");
    assert.equal(account.metadata.name, subject[3]);
    const deployment = findObject(objects, "Deployment");
    for (const [, name] of shell.matchAll(/(?:deploy|deployment)\/([\w-]+)/g))
      assert.equal(name, deployment.metadata.name);
    // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field
    const containers = (deployment as any).spec.template.spec.containers.map((c: { name: string }) => c.name);
    for (const [, name] of shell.matchAll(/ -c ([\w-]+)/g))
      assert.ok(containers.includes(name), `container ${name}`);
  });

  test("its manifests are valid and allowed by its own IdentityPolicy", () => {
    const [manifests] = blocks("yaml");
    assert.ok(manifests, "the shop.yaml block");
    const file = join(dir, "shop.yaml");
    writeFileSync(file, manifests.replaceAll("<SUBSCRIPTION>", "11111111-2222-4333-8444-555555555555"));
    const run = spawnSync(process.execPath, [azid, "validate", "-f", file], { encoding: "utf8" });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  });

  test("says where the controller must run during a tenant move", () => {
    const where = /^## Where azid runs during a tenant move\n([\s\S]*?)^## /m.exec(page)?.[1] ?? "";
    assert.match(where, /AKS cluster in the subscription being transferred is itself broken by the move/);
    assert.match(where, /from a cluster in another\s+subscription/);
    assert.match(where, /`azid remediate`/);
  });
});
