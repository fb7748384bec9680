// Applies the rendered chart to the Kubernetes emulator with the real kubectl, first with
// --dry-run=server and then for real, for each value set (each release in its own namespace);
// then checks that the chart's ValidatingAdmissionPolicy, enforced by the emulator, refuses and
// allows what it should through kubectl.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Kubectl, type KubeEmulator, kubectlFor, startTestKube } from "../support/kube.js";
import { findObject, NAMESPACE, parseManifests, renderManifests } from "./helm.js";
import { SUBSCRIPTION, VALUE_SETS } from "./value-sets.js";

const OPT_IN = "azid.dev/allow-privileged-grants=true";

/** The monitoring.coreos.com kinds a cluster with the Prometheus Operator serves (open schemas here). */
function prometheusOperatorCrds(): object[] {
  return [
    ["ServiceMonitor", "servicemonitors"],
    ["PrometheusRule", "prometheusrules"],
  ].map(([kind, plural]) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: "monitoring.coreos.com",
      scope: "Namespaced",
      names: { kind, plural, singular: kind!.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            },
          },
        },
      ],
    },
  }));
}

function identity(name: string, namespace: string, role: string, subscriptionId = SUBSCRIPTION): object {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: { name, namespace },
    spec: {
      subscriptionId,
      resourceGroup: "apps",
      location: "westeurope",
      roleAssignments: [{ role, scope: `/subscriptions/${subscriptionId}/resourceGroups/apps` }],
    },
  };
}

let kube: KubeEmulator;
let kubectl: Kubectl;
let work: string;

async function ok(args: string[], input?: string): Promise<string> {
  const result = await kubectl.run(args, input === undefined ? {} : { input });
  assert.equal(result.code, 0, `kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** Renders a value set into a namespace and applies it server-side, dry run first when asked. */
async function install(values: object, namespace: string, dryRunFirst: boolean): Promise<string> {
  const manifests = renderManifests(values, { namespace });
  const file = join(work, `${namespace}.yaml`);
  writeFileSync(file, manifests);
  if (dryRunFirst) await ok(["apply", "--server-side", "--dry-run=server", "-f", file]);
  await ok(["apply", "--server-side", "-f", file]);
  return manifests;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "azid-chart-apply-"));
  kube = await startTestKube();
  kubectl = kubectlFor(kube);
  await ok(["create", "namespace", "monitoring"]);
  await ok(
    ["apply", "--server-side", "-f", "-"],
    prometheusOperatorCrds()
      .map((c) => JSON.stringify(c))
      .join("\n"),
  );
});

after(async () => {
  kubectl?.dispose();
  await kube?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("the rendered chart on the Kubernetes emulator", () => {
  for (const [index, [name, values]] of Object.entries(VALUE_SETS).entries()) {
    test(`${name}: kubectl apply --dry-run=server, then for real`, async () => {
      const namespace = index === 0 ? NAMESPACE : `azid-values-${index}`;
      await ok(["create", "namespace", namespace]);
      const manifests = await install(values, namespace, true);
      const deployment = findObject(parseManifests(manifests), "Deployment");
      const live = JSON.parse(
        await ok(["-n", namespace, "get", "deployment", deployment.metadata.name, "-o", "json"]),
      );
      assert.deepEqual(
        live.spec.template.spec.containers.map((c: { name: string }) => c.name),
        [...deployment.spec.template.spec.containers.map((c: { name: string }) => c.name)],
      );
    });
  }

  test("every azid.dev CRD the chart carries is established and served", async () => {
    const crds = JSON.parse(await ok(["get", "crd", "-o", "json"])).items as {
      spec: { group: string; names: { plural: string } };
      status: { conditions: { type: string; status: string }[] };
    }[];
    const azid = crds.filter((crd) => crd.spec.group === "azid.dev");
    assert.ok(azid.length > 0);
    for (const crd of azid) {
      assert.ok(crd.status.conditions.some((c) => c.type === "Established" && c.status === "True"));
    }
    const served = (await ok(["api-resources", "--api-group=azid.dev", "-o", "name"])).trim().split("\n");
    assert.deepEqual(served.sort(), azid.map((crd) => `${crd.spec.names.plural}.azid.dev`).sort());
  });
});

describe("the chart's ValidatingAdmissionPolicy through kubectl", () => {
  let controller: string;

  before(async () => {
    const manifests = await install(VALUE_SETS.defaults!, NAMESPACE, false);
    const serviceAccount = findObject(parseManifests(manifests), "ServiceAccount");
    controller = `system:serviceaccount:${NAMESPACE}:${serviceAccount.metadata.name}`;
    await ok(["create", "namespace", "team-plain"]);
    await ok(["create", "namespace", "team-platform"]);
    await ok(["label", "namespace", "team-platform", OPT_IN]);
  });

  test("is accepted as valid, and its status reports no expression the server cannot type-check", async () => {
    let status: { observedGeneration?: number; typeChecking?: object } = {};
    for (let attempt = 0; attempt < 100 && status.observedGeneration === undefined; attempt++) {
      const policy = JSON.parse(
        await ok(["get", "validatingadmissionpolicy", "azid-guardrails", "-o", "json"]),
      );
      status = policy.status ?? {};
      if (status.observedGeneration === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(status.observedGeneration, "the status controller has seen the policy");
    assert.deepEqual(status.typeChecking, {});
  });

  test("refuses an Owner grant in a namespace without the opt-in label, with the server's Forbidden", async () => {
    const create = await kubectl.run(["create", "-f", "-"], {
      input: JSON.stringify(identity("escalate", "team-plain", "Owner")),
    });
    assert.notEqual(create.code, 0);
    assert.match(
      create.stderr,
      /Error from server \(Forbidden\): .*userassignedidentities\.azid\.dev "escalate" is forbidden: ValidatingAdmissionPolicy 'azid-guardrails' with binding 'azid-guardrails' denied request: roleAssignments name roles that can grant roles \(Owner\)/,
    );
    const dryRun = await kubectl.run(["apply", "--server-side", "--dry-run=server", "-f", "-"], {
      input: JSON.stringify(identity("escalate", "team-plain", "User Access Administrator")),
    });
    assert.notEqual(dryRun.code, 0, "a server-side dry run is judged too");
    assert.match(dryRun.stderr, /roles that can grant roles \(User Access Administrator\)/);
    const get = await kubectl.run(["-n", "team-plain", "get", "userassignedidentity", "escalate"]);
    assert.match(get.stderr, /NotFound/);
  });

  test("allows it in a namespace the platform team labelled, and ordinary roles anywhere", async () => {
    await ok(["create", "-f", "-"], JSON.stringify(identity("platform-owner", "team-platform", "Owner")));
    await ok(["create", "-f", "-"], JSON.stringify(identity("reader", "team-plain", "Reader")));
  });

  test("exempts the controller's ServiceAccount (--as), and no one else", async () => {
    await ok(
      ["create", "--as", controller, "-f", "-"],
      JSON.stringify(identity("by-controller", "team-plain", "Owner")),
    );
    const other = await kubectl.run(
      ["create", "--as", `system:serviceaccount:${NAMESPACE}:someone-else`, "-f", "-"],
      { input: JSON.stringify(identity("by-other", "team-plain", "Owner")) },
    );
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /is forbidden: ValidatingAdmissionPolicy 'azid-guardrails'/);
  });

  // The CRDs' own transition rule (self == oldSelf) refuses the change first: schema validation
  // runs before admission, on a real API server as here. The policy's rule is the second line
  // for clusters whose CRDs lack it (crds.install: false with CRDs of an older release).
  test("refuses a subscriptionId change, and lets other spec changes through", async () => {
    const other = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
    const patch = (spec: object) =>
      kubectl.run([
        "-n",
        "team-plain",
        "patch",
        "userassignedidentity",
        "reader",
        "--type=merge",
        "-p",
        JSON.stringify({ spec }),
      ]);
    const change = await patch({ subscriptionId: other });
    assert.notEqual(change.code, 0);
    assert.match(change.stderr, /spec\.subscriptionId: Invalid value: "string": subscriptionId is immutable/);
    const retag = await patch({ tags: { team: "plain" } });
    assert.equal(retag.code, 0, retag.stderr);
    const live = JSON.parse(
      await ok(["-n", "team-plain", "get", "userassignedidentity", "reader", "-o", "json"]),
    );
    assert.equal(live.spec.subscriptionId, SUBSCRIPTION);
    assert.deepEqual(live.spec.tags, { team: "plain" });
  });
});
