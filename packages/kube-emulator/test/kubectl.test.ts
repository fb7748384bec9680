// The real kubectl (1.36) against the emulator, without --validate=false: every command
// the issue lists, against a CRD applied with kubectl, asserting output and exit status
// as a real cluster gives them. Independent commands run concurrently.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import {
  type Kubectl,
  type KubectlResult,
  type KubeEmulator,
  kubectlFor,
  startTestKube,
} from "../../../test/support/kube.js";
import { widget, widgetCrd } from "./support/fixtures.js";
import { RawClient } from "./support/raw-client.js";

const yaml = (...docs: unknown[]): string => docs.map((doc) => toYaml(doc)).join("---\n");

function ok(result: KubectlResult): string {
  assert.equal(result.code, 0, `kubectl failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

describe("kubectl", () => {
  let kube: KubeEmulator;
  let kubectl: Kubectl;
  let api: RawClient;
  const run = (args: string[], input?: string) => kubectl.run(args, input === undefined ? {} : { input });

  before(async () => {
    kube = await startTestKube();
    kubectl = kubectlFor(kube);
    api = new RawClient(kube.url);
    const applied = await run(["apply", "-f", "-"], yaml(widgetCrd()));
    assert.equal(ok(applied), "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n");
    const established = await run([
      "wait",
      "--for",
      "condition=established",
      "--timeout=30s",
      "crd/widgets.example.com",
    ]);
    assert.equal(
      ok(established),
      "customresourcedefinition.apiextensions.k8s.io/widgets.example.com condition met\n",
    );
  });
  after(async () => {
    kubectl?.dispose();
    await kube?.close();
  });

  test("apply: client-side create, unchanged, configured; server-side; --dry-run=server", async () => {
    const first = widget("applied", { size: 1 }, { labels: { tier: "gold" } });
    assert.equal(ok(await run(["apply", "-f", "-"], yaml(first))), "widget.example.com/applied created\n");
    assert.equal(ok(await run(["apply", "-f", "-"], yaml(first))), "widget.example.com/applied unchanged\n");
    assert.equal(
      ok(await run(["apply", "-f", "-"], yaml(widget("applied", { size: 2 }, { labels: { tier: "gold" } })))),
      "widget.example.com/applied configured\n",
    );
    const live = await api.get("/apis/example.com/v1/namespaces/default/widgets/applied");
    assert.equal(live.body.spec.size, 2);
    assert.ok(live.body.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]);

    const [serverSide, dryRun] = await Promise.all([
      run(["apply", "--server-side", "-f", "-"], yaml(widget("ssa", { size: 3 }))),
      run(["apply", "--dry-run=server", "-f", "-"], yaml(widget("dry", { size: 4 }))),
    ]);
    assert.equal(ok(serverSide), "widget.example.com/ssa serverside-applied\n");
    assert.equal(ok(dryRun), "widget.example.com/dry created (server dry run)\n");
    assert.equal((await api.get("/apis/example.com/v1/namespaces/default/widgets/dry")).status, 404);

    const conflict = await run(
      ["apply", "--server-side", "--field-manager=other", "-f", "-"],
      yaml(widget("ssa", { size: 5 })),
    );
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.size/);
    const forced = await run(
      ["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"],
      yaml(widget("ssa", { size: 5 })),
    );
    assert.equal(ok(forced), "widget.example.com/ssa serverside-applied\n");

    const unknown = await run(
      ["apply", "-f", "-"],
      yaml({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "strict" }, extra: true }),
    );
    assert.equal(unknown.code, 1, "kubectl validates strictly through the server");
    assert.match(unknown.stderr, /strict decoding error: unknown field "extra"/);
  });

  test("create, and AlreadyExists on a second create", async () => {
    const manifest = yaml(widget("created", { size: 1 }));
    assert.equal(ok(await run(["create", "-f", "-"], manifest)), "widget.example.com/created created\n");
    const again = await run(["create", "-f", "-"], manifest);
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr,
      'Error from server (AlreadyExists): error when creating "STDIN": widgets.example.com "created" already exists\n',
    );
  });

  test("create namespace, configmap, secret and serviceaccount (protobuf bodies from kubectl's typed clients)", async () => {
    assert.equal(ok(await run(["create", "namespace", "team-x"])), "namespace/team-x created\n");
    const [configmap, secret, serviceaccount] = await Promise.all([
      run(["create", "configmap", "cfg", "-n", "team-x", "--from-literal=a=b"]),
      run(["create", "secret", "generic", "sec", "-n", "team-x", "--from-literal=password=hunter2"]),
      run(["create", "serviceaccount", "robot", "-n", "team-x"]),
    ]);
    assert.equal(ok(configmap), "configmap/cfg created\n");
    assert.equal(ok(secret), "secret/sec created\n");
    assert.equal(ok(serviceaccount), "serviceaccount/robot created\n");
    const data = await run([
      "get",
      "secret",
      "sec",
      "-n",
      "team-x",
      "-o",
      "jsonpath={.type} {.data.password}",
    ]);
    assert.equal(ok(data), `Opaque ${Buffer.from("hunter2").toString("base64")}`);
    const cm = await api.get("/api/v1/namespaces/team-x/configmaps/cfg");
    assert.deepEqual(cm.body.data, { a: "b" });
    const missingNamespace = await run(["create", "configmap", "cfg", "-n", "nowhere"]);
    assert.equal(missingNamespace.code, 1);
    assert.match(missingNamespace.stderr, /namespaces "nowhere" not found/);
  });

  test("get: table with printer columns, -o yaml, -o jsonpath, -l selectors, NotFound", async () => {
    ok(
      await run(
        ["apply", "-f", "-"],
        yaml(
          widget("g-gold", { size: 7 }, { labels: { tier: "gold", app: "g" } }),
          widget("g-silver", { size: 8 }, { labels: { tier: "silver", app: "g" } }),
        ),
      ),
    );
    const [table, asYaml, jsonpath, gold, notGold, missing] = await Promise.all([
      run(["get", "wd", "-l", "app=g"]),
      run(["get", "widget", "g-gold", "-o", "yaml"]),
      run(["get", "widgets", "-l", "app=g", "-o", "jsonpath={.items[*].spec.size}"]),
      run(["get", "widgets", "-l", "app=g,tier=gold", "-o", "name"]),
      run([
        "get",
        "widgets",
        "-l",
        "app=g,tier!=gold",
        "-o",
        "custom-columns=NAME:.metadata.name",
        "--no-headers",
      ]),
      run(["get", "widget", "nope"]),
    ]);
    const lines = ok(table).trimEnd().split("\n");
    assert.match(lines[0]!, /^NAME\s+SIZE\s+READY\s+AGE$/);
    assert.match(lines[1]!, /^g-gold\s+7\s+\d+s$/);
    assert.match(lines[2]!, /^g-silver\s+8\s+\d+s$/);
    const object = parseYaml(ok(asYaml));
    assert.equal(object.kind, "Widget");
    assert.equal(object.spec.size, 7);
    assert.equal(object.metadata.labels.tier, "gold");
    assert.equal(ok(jsonpath), "7 8");
    assert.equal(ok(gold), "widget.example.com/g-gold\n");
    assert.equal(ok(notGold), "g-silver\n");
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error from server (NotFound): widgets.example.com "nope" not found\n');
  });

  test("get -w prints the changes until its timeout", async () => {
    ok(await run(["apply", "-f", "-"], yaml(widget("watched", { size: 1 }, { labels: { watch: "me" } }))));
    const watching = run(["get", "widgets", "-l", "watch=me", "-w", "--request-timeout=3s"]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    ok(await run(["patch", "widget", "watched", "--type=merge", "-p", '{"spec":{"size":2}}']));
    const lines = ok(await watching)
      .trimEnd()
      .split("\n");
    assert.match(lines[0]!, /^NAME\s+SIZE\s+READY\s+AGE$/);
    assert.match(lines[1]!, /^watched\s+1\s+\d+s$/);
    assert.match(lines[2]!, /^watched\s+2\s+\d+s$/);
  });

  test("patch (merge and JSON), label and annotate", async () => {
    ok(await run(["apply", "-f", "-"], yaml(widget("patched", { size: 1 }))));
    assert.equal(
      ok(await run(["patch", "widget", "patched", "--type=merge", "-p", '{"spec":{"size":5}}'])),
      "widget.example.com/patched patched\n",
    );
    assert.equal(
      ok(await run(["patch", "widget", "patched", "--type=merge", "-p", '{"spec":{"size":5}}'])),
      "widget.example.com/patched patched (no change)\n",
    );
    assert.equal(
      ok(
        await run([
          "patch",
          "widget",
          "patched",
          "--type=json",
          "-p",
          '[{"op":"replace","path":"/spec/size","value":6}]',
        ]),
      ),
      "widget.example.com/patched patched\n",
    );
    const failed = await run([
      "patch",
      "widget",
      "patched",
      "--type=json",
      "-p",
      '[{"op":"test","path":"/spec/size","value":1}]',
    ]);
    assert.equal(failed.code, 1);
    assert.equal(
      failed.stderr,
      "The request is invalid: the server rejected our request due to an error in our request\n",
    );
    const strategic = await run(["patch", "widget", "patched", "-p", '{"spec":{"size":7}}']);
    assert.equal(strategic.code, 1, "strategic merge patch is refused on custom resources");
    assert.match(strategic.stderr, /UnsupportedMediaType|unknown format/);

    assert.equal(
      ok(await run(["label", "widget", "patched", "env=prod"])),
      "widget.example.com/patched labeled\n",
    );
    assert.equal(
      ok(await run(["annotate", "widget", "patched", "note=hello"])),
      "widget.example.com/patched annotated\n",
    );
    const taken = await run(["label", "widget", "patched", "env=dev"]);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /'env' already has a value \(prod\), and --overwrite is false/);
    const live = await api.get("/apis/example.com/v1/namespaces/default/widgets/patched");
    assert.equal(live.body.spec.size, 6);
    assert.equal(live.body.metadata.labels.env, "prod");
    assert.equal(live.body.metadata.annotations.note, "hello");
  });

  test("wait --for=condition and --for=jsonpath", async () => {
    ok(await run(["apply", "-f", "-"], yaml(widget("waited", { size: 1 }))));
    const condition = run(["wait", "--for=condition=Ready", "widget/waited", "--timeout=20s"]);
    const jsonpath = run(["wait", "--for=jsonpath={.status.phase}=Done", "widget/waited", "--timeout=20s"]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    ok(
      await run([
        "patch",
        "widget",
        "waited",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Done","conditions":[{"type":"Ready","status":"True","reason":"Done","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}',
      ]),
    );
    assert.equal(ok(await condition), "widget.example.com/waited condition met\n");
    assert.equal(ok(await jsonpath), "widget.example.com/waited condition met\n");
    const timedOut = await run(["wait", "--for=condition=Stalled", "widget/waited", "--timeout=1s"]);
    assert.equal(timedOut.code, 1);
    assert.match(timedOut.stderr, /timed out waiting for the condition on widgets\/waited/);
  });

  test("delete: without finalizers, with finalizers held (--wait=false) and released while waiting", async () => {
    ok(
      await run(
        ["apply", "-f", "-"],
        yaml(widget("plain"), widget("held", { size: 1 }, { finalizers: ["example.com/hold"] })),
      ),
    );
    assert.equal(
      ok(await run(["delete", "widget", "plain"])),
      'widget.example.com "plain" deleted from default namespace\n',
    );
    assert.equal((await api.get("/apis/example.com/v1/namespaces/default/widgets/plain")).status, 404);

    assert.equal(
      ok(await run(["delete", "widget", "held", "--wait=false"])),
      'widget.example.com "held" deleted from default namespace\n',
    );
    const held = await api.get("/apis/example.com/v1/namespaces/default/widgets/held");
    assert.ok(held.body.metadata.deletionTimestamp, "the finalizer holds the object");

    const timedOut = await run(["delete", "widget", "held", "--timeout=1s"]);
    assert.equal(timedOut.code, 1);
    assert.match(timedOut.stderr, /timed out waiting for the condition on widgets\/held/);

    const waiting = run(["delete", "widget", "held", "--wait", "--timeout=20s"]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    ok(
      await run([
        "patch",
        "widget",
        "held",
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/metadata/finalizers"}]',
      ]),
    );
    const released = await waiting;
    assert.equal(ok(released), 'widget.example.com "held" deleted from default namespace\n');
    assert.equal((await api.get("/apis/example.com/v1/namespaces/default/widgets/held")).status, 404);
  });

  test("describe shows the object's events; kubectl events lists them", async () => {
    ok(await run(["apply", "-f", "-"], yaml(widget("described", { size: 1 }))));
    const live = await api.get("/apis/example.com/v1/namespaces/default/widgets/described");
    const now = new Date().toISOString();
    const created = await api.post("/apis/events.k8s.io/v1/namespaces/default/events", {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "described.1" },
      eventTime: now.replace("Z", "000Z"),
      reportingController: "azid.dev/controller",
      reportingInstance: "azid-0",
      action: "Reconcile",
      reason: "RolesGranted",
      note: "granted 2 roles",
      type: "Normal",
      regarding: {
        apiVersion: "example.com/v1",
        kind: "Widget",
        name: "described",
        namespace: "default",
        uid: live.body.metadata.uid,
      },
    });
    assert.equal(created.status, 201, created.text);
    const [describe, events] = await Promise.all([
      run(["describe", "widget", "described"]),
      run(["events", "--for", "widget/described"]),
    ]);
    const described = ok(describe);
    assert.match(described, /^Name:\s+described$/m);
    assert.match(described, /^Kind:\s+Widget$/m);
    assert.match(described, /^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/m);
    assert.match(described, /Normal\s+RolesGranted\s+\S+\s+azid.dev\/controller\s+granted 2 roles/);
    const listed = ok(events).trimEnd().split("\n");
    assert.match(listed[0]!, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    assert.match(listed[1]!, /Normal\s+RolesGranted\s+Widget\/described\s+granted 2 roles$/);
  });

  test("apply --dry-run=server of the kinds azid's chart renders", async () => {
    const labels = { "app.kubernetes.io/name": "azid" };
    const chart = yaml(
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "azid", annotations: { "azure.workload.identity/client-id": "x" } },
      },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "azid-config" },
        data: { "config.yaml": "a: 1\n" },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "azid-redis" },
        type: "Opaque",
        stringData: { password: "x" },
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "azid" },
        rules: [
          { apiGroups: ["azid.dev"], resources: ["*"], verbs: ["get", "list", "watch", "update", "patch"] },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "azid" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "azid" },
        subjects: [{ kind: "ServiceAccount", name: "azid", namespace: "default" }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "azid-leader-election" },
        rules: [
          { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "azid-leader-election" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "azid-leader-election" },
        subjects: [{ kind: "ServiceAccount", name: "azid", namespace: "default" }],
      },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "azid", labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: "azid",
              securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "controller",
                  image: "ghcr.io/azid/azid:0.1.0",
                  args: ["controller"],
                  ports: [{ name: "metrics", containerPort: 8080 }],
                  securityContext: {
                    readOnlyRootFilesystem: true,
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                  },
                  readinessProbe: { httpGet: { path: "/readyz", port: "metrics" } },
                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "azid-metrics", labels },
        spec: { selector: labels, ports: [{ name: "metrics", port: 8080, targetPort: "metrics" }] },
      },
      {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "azid" },
        spec: { minAvailable: 1, selector: { matchLabels: labels } },
      },
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "azid" },
        spec: {
          podSelector: { matchLabels: labels },
          policyTypes: ["Ingress", "Egress"],
          ingress: [{ ports: [{ port: 8080, protocol: "TCP" }] }],
          egress: [{}],
        },
      },
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: "azid-guard" },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ["azid.dev"],
                apiVersions: ["*"],
                operations: ["CREATE", "UPDATE"],
                resources: ["*"],
              },
            ],
          },
          validations: [{ expression: "object.metadata.name.size() < 64" }],
        },
      },
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: "azid-guard" },
        spec: { policyName: "azid-guard", validationActions: ["Deny"] },
      },
    );
    const result = await run(["apply", "--dry-run=server", "-f", "-"], chart);
    assert.deepEqual(ok(result).trimEnd().split("\n"), [
      "serviceaccount/azid created (server dry run)",
      "configmap/azid-config created (server dry run)",
      "secret/azid-redis created (server dry run)",
      "clusterrole.rbac.authorization.k8s.io/azid created (server dry run)",
      "clusterrolebinding.rbac.authorization.k8s.io/azid created (server dry run)",
      "role.rbac.authorization.k8s.io/azid-leader-election created (server dry run)",
      "rolebinding.rbac.authorization.k8s.io/azid-leader-election created (server dry run)",
      "deployment.apps/azid created (server dry run)",
      "service/azid-metrics created (server dry run)",
      "poddisruptionbudget.policy/azid created (server dry run)",
      "networkpolicy.networking.k8s.io/azid created (server dry run)",
      "validatingadmissionpolicy.admissionregistration.k8s.io/azid-guard created (server dry run)",
      "validatingadmissionpolicybinding.admissionregistration.k8s.io/azid-guard created (server dry run)",
    ]);
    assert.equal(
      (await api.get("/apis/apps/v1/namespaces/default/deployments/azid")).status,
      404,
      "nothing was stored",
    );
    const real = await run(["apply", "-f", "-"], chart);
    assert.equal(
      ok(real)
        .split("\n")
        .filter((l) => l.endsWith(" created")).length,
      13,
    );
    assert.match(ok(await run(["apply", "-f", "-"], chart)), /^deployment.apps\/azid unchanged$/m);
    const upgraded = chart
      .replace("ghcr.io/azid/azid:0.1.0", "ghcr.io/azid/azid:0.2.0")
      .replace("replicas: 2", "replicas: 3");
    assert.match(ok(await run(["apply", "-f", "-"], upgraded)), /^deployment.apps\/azid configured$/m);
    const deployment = await api.get("/apis/apps/v1/namespaces/default/deployments/azid");
    assert.equal(deployment.body.spec.replicas, 3);
    assert.equal(deployment.body.spec.template.spec.containers[0].image, "ghcr.io/azid/azid:0.2.0");
    assert.equal(deployment.body.spec.template.spec.containers.length, 1);
    assert.equal(deployment.body.metadata.generation, 2);

    const unknownKind = await run(
      ["apply", "-f", "-"],
      yaml({
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: "azid" },
        spec: {},
      }),
    );
    assert.equal(unknownKind.code, 1);
    assert.match(
      unknownKind.stderr,
      /no matches for kind "ServiceMonitor" in version "monitoring.coreos.com\/v1"/,
    );
  });
});
