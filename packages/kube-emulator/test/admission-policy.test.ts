// ValidatingAdmissionPolicy enforcement as kube-apiserver does it, through the real clients
// (client-node and kubectl): matching, bindings, params, match conditions, variables, the
// validation actions, the denial the server answers, the CEL variables, compile errors and the
// policy's status. Each test works in its own namespace, which its policies select.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
} from "@kubernetes/client-node";
import {
  type Kubectl,
  type KubeEmulator,
  kubeConfigFor,
  kubectlFor,
  startTestKube,
} from "../../../test/support/kube.js";
import { registerCrd, WIDGETS, widget, widgetCrd } from "./support/fixtures.js";
import { RawClient } from "./support/raw-client.js";

const ADMISSION = "admissionregistration.k8s.io/v1";
const WIDGET_RULE = { apiGroups: ["example.com"], apiVersions: ["v1"], resources: ["widgets"] };
const CONFIGMAP_RULE = { apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] };
const ALL_WRITES = ["CREATE", "UPDATE", "DELETE"];

// biome-ignore lint/suspicious/noExplicitAny: policy specs are plain Kubernetes JSON
type Json = Record<string, any>;

interface Denial {
  code: number;
  // biome-ignore lint/suspicious/noExplicitAny: a metav1.Status
  status: any;
}

/** The Status of a refused client-node call. */
async function refused(call: Promise<unknown>): Promise<Denial> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = error.body as unknown;
    return { code: error.code, status: typeof body === "string" ? JSON.parse(body) : body };
  }
  assert.fail("the request was allowed");
}

function waitFor<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  const started = Date.now();
  const poll = async (): Promise<T> => {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    return poll();
  };
  return poll();
}

describe("ValidatingAdmissionPolicy", () => {
  let kube: KubeEmulator;
  let config: KubeConfig;
  let kubectl: Kubectl;
  let admission: AdmissionregistrationV1Api;
  let core: CoreV1Api;
  let objects: CustomObjectsApi;

  before(async () => {
    kube = await startTestKube();
    config = kubeConfigFor(kube);
    kubectl = kubectlFor(kube);
    admission = config.makeApiClient(AdmissionregistrationV1Api);
    core = config.makeApiClient(CoreV1Api);
    objects = config.makeApiClient(CustomObjectsApi);
    await registerCrd(new RawClient(kube.url), widgetCrd(), WIDGETS);
  });
  after(async () => {
    kubectl.dispose();
    await kube.close();
  });

  /** A namespace of its own, with labels. */
  async function namespace(name: string, labels: Record<string, string> = {}): Promise<string> {
    await core.createNamespace({ body: { metadata: { name, labels } } });
    return name;
  }

  /** A policy whose rules select `ns` only, and a binding of it with the given actions. */
  async function policy(
    name: string,
    ns: string,
    spec: Json,
    binding: Json = { validationActions: ["Deny"] },
  ): Promise<void> {
    const matchConstraints = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
      ...spec.matchConstraints,
    };
    await admission.createValidatingAdmissionPolicy({
      body: {
        apiVersion: ADMISSION,
        kind: "ValidatingAdmissionPolicy",
        metadata: { name },
        spec: { ...spec, matchConstraints },
      },
    });
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        apiVersion: ADMISSION,
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: `${name}-binding` },
        spec: { policyName: name, validationActions: ["Deny"], ...binding },
      },
    });
  }

  function createWidget(ns: string, body: Json) {
    return objects.createNamespacedCustomObject({
      group: "example.com",
      version: "v1",
      namespace: ns,
      plural: "widgets",
      body,
    });
  }

  function configMap(
    name: string,
    data: Record<string, string> = {},
    labels: Record<string, string> = {},
  ): Json {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels }, data };
  }

  async function kubectlOk(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
    const result = await kubectl.run(args, input === undefined ? {} : { input });
    assert.equal(result.code, 0, `kubectl ${args.join(" ")}: ${result.stderr}`);
    return result;
  }

  test("a failed validation is the server's refusal: the validation's reason and code, the policy and binding named", async () => {
    const ns = await namespace("adm-deny");
    await policy("size-limit", ns, {
      matchConstraints: { resourceRules: [{ ...CONFIGMAP_RULE, operations: ["CREATE"] }] },
      validations: [
        {
          expression: "!has(object.data) || size(object.data) <= 1",
          messageExpression: "'at most one key, got ' + string(size(object.data))",
          reason: "Forbidden",
        },
        { expression: "object.metadata.name.startsWith('cm-')", message: "  names start with cm-  " },
        { expression: "!has(object.metadata.labels) || !('tier' in object.metadata.labels)" },
      ],
    });
    const forbidden = await refused(
      core.createNamespacedConfigMap({ namespace: ns, body: configMap("cm-big", { a: "1", b: "2" }) }),
    );
    const message =
      "ValidatingAdmissionPolicy 'size-limit' with binding 'size-limit-binding' denied request: at most one key, got 2";
    assert.equal(forbidden.code, 403);
    assert.deepEqual(forbidden.status, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: `configmaps "cm-big" is forbidden: ${message}`,
      reason: "Forbidden",
      details: { name: "cm-big", group: "", kind: "configmaps", causes: [{ message }] },
      code: 403,
    });

    const invalid = await refused(
      core.createNamespacedConfigMap({ namespace: ns, body: configMap("plain") }),
    );
    assert.equal(invalid.code, 422, "a validation without a reason is Invalid");
    assert.equal(invalid.status.reason, "Invalid");
    assert.match(invalid.status.message, /denied request: names start with cm-$/);

    const fallback = await refused(
      core.createNamespacedConfigMap({ namespace: ns, body: configMap("cm-tier", {}, { tier: "web" }) }),
    );
    assert.match(
      fallback.status.message,
      /denied request: failed expression: !has\(object\.metadata\.labels\) \|\| !\('tier' in object\.metadata\.labels\)$/,
    );
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap("cm-small", { a: "1" }) });
    const other = await namespace("adm-deny-other");
    await core.createNamespacedConfigMap({ namespace: other, body: configMap("plain", { a: "1", b: "2" }) });
  });

  test("every write is judged after schema validation: create, replace, patches, server-side apply, dry run, delete", async () => {
    const ns = await namespace("adm-writes");
    await policy("widget-rules", ns, {
      matchConstraints: { resourceRules: [{ ...WIDGET_RULE, operations: ALL_WRITES }] },
      validations: [
        {
          expression: "request.operation == 'DELETE' || object.spec.size <= 10",
          message: "size over 10",
          reason: "Forbidden",
        },
        {
          expression:
            "request.operation != 'DELETE' || oldObject.metadata.?labels.?locked.orValue('') != 'true'",
          message: "locked",
          reason: "Forbidden",
        },
      ],
    });
    const big = JSON.stringify({ ...widget("w", { size: 11 }), metadata: { name: "w", namespace: ns } });
    for (const args of [
      ["create", "-f", "-"],
      ["apply", "--server-side", "-f", "-"],
      ["apply", "--server-side", "--dry-run=server", "-f", "-"],
      ["create", "--dry-run=server", "-f", "-"],
    ]) {
      const run = await kubectl.run(args, { input: big });
      assert.notEqual(run.code, 0, args.join(" "));
      assert.match(
        run.stderr,
        /widgets\.example\.com "w" is forbidden: ValidatingAdmissionPolicy 'widget-rules' with binding 'widget-rules-binding' denied request: size over 10/,
      );
    }
    const schemaError = await refused(createWidget(ns, widget("w", { size: "big" })));
    assert.equal(schemaError.code, 422);
    assert.match(
      schemaError.status.message,
      /spec\.size: Invalid value: "string": spec\.size in body must be of type integer/,
    );

    await kubectlOk(
      ["apply", "--server-side", "-f", "-"],
      JSON.stringify({
        ...widget("w", { size: 3 }, { labels: { locked: "true" } }),
        metadata: { name: "w", namespace: ns, labels: { locked: "true" } },
      }),
    );
    const existing = await refused(createWidget(ns, widget("w", { size: 11 })));
    assert.equal(existing.code, 403, "admission judges a create before the name is found taken");
    for (const [type, patch] of [
      ["merge", { spec: { size: 12 } }],
      ["json", [{ op: "replace", path: "/spec/size", value: 12 }]],
    ] as const) {
      const run = await kubectl.run([
        "-n",
        ns,
        "patch",
        "widget",
        "w",
        `--type=${type}`,
        "-p",
        JSON.stringify(patch),
      ]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /denied request: size over 10/);
    }
    const live = await objects.getNamespacedCustomObject({
      group: "example.com",
      version: "v1",
      namespace: ns,
      plural: "widgets",
      name: "w",
    });
    const replace = await refused(
      objects.replaceNamespacedCustomObject({
        group: "example.com",
        version: "v1",
        namespace: ns,
        plural: "widgets",
        name: "w",
        body: { ...live, spec: { size: 13 } },
      }),
    );
    assert.match(replace.status.message, /size over 10/);
    await kubectlOk(["-n", ns, "patch", "widget", "w", "--type=merge", "-p", '{"spec":{"size":4}}']);

    const locked = await kubectl.run(["-n", ns, "delete", "widget", "w"]);
    assert.notEqual(locked.code, 0);
    assert.match(locked.stderr, /widgets\.example\.com "w" is forbidden: .* denied request: locked/);
    await kubectlOk(["-n", ns, "label", "widget", "w", "locked-"]);
    await kubectlOk(["-n", ns, "delete", "widget", "w"]);
  });

  test("a subresource is judged only by rules that name it", async () => {
    const ns = await namespace("adm-status");
    await policy("status-rules", ns, {
      matchConstraints: {
        resourceRules: [{ ...WIDGET_RULE, resources: ["widgets/status"], operations: ["UPDATE"] }],
      },
      validations: [{ expression: "object.status.phase != 'Broken'", message: "no broken status" }],
    });
    await createWidget(ns, widget("s", { size: 1 }));
    const status = (phase: string) =>
      kubectl.run([
        "-n",
        ns,
        "patch",
        "widget",
        "s",
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status: { phase } }),
      ]);
    assert.equal((await status("Ready")).code, 0);
    const broken = await status("Broken");
    // The default reason, Invalid, is a 422 whose one cause has no field: kubectl prints it so.
    assert.match(
      broken.stderr,
      /^The widgets "s" is invalid: : ValidatingAdmissionPolicy 'status-rules' with binding 'status-rules-binding' denied request: no broken status$/m,
    );
    await kubectlOk(["-n", ns, "patch", "widget", "s", "--type=merge", "-p", '{"spec":{"size":2}}']);
  });

  test("Warn adds a Warning header that kubectl prints, Audit an audit annotation; neither refuses", async () => {
    const ns = await namespace("adm-warn");
    await policy(
      "warned",
      ns,
      {
        matchConstraints: { resourceRules: [{ ...CONFIGMAP_RULE, operations: ["CREATE"] }] },
        validations: [{ expression: "has(object.data)", message: "a ConfigMap without data" }],
        auditAnnotations: [
          { key: "owner", valueExpression: "string(object.metadata.?labels.?owner.orValue('nobody'))" },
        ],
      },
      { validationActions: ["Warn", "Audit"] },
    );
    const created = await kubectlOk(["-n", ns, "create", "configmap", "empty"]);
    assert.match(
      created.stderr,
      /^Warning: Validation failed for ValidatingAdmissionPolicy 'warned' with binding 'warned-binding': a ConfigMap without data$/m,
    );
    const record = kube.admin.auditRecords().find((r) => r.namespace === ns && r.name === "empty");
    assert.ok(record, "the request left audit annotations");
    assert.equal(record.operation, "CREATE");
    assert.equal(record.resource, "/v1/configmaps");
    assert.deepEqual(
      JSON.parse(record.annotations["validation.policy.admission.k8s.io/validation_failure"]!),
      [
        {
          message: "a ConfigMap without data",
          policy: "warned",
          binding: "warned-binding",
          expressionIndex: 0,
          validationActions: ["Warn", "Audit"],
        },
      ],
    );
    assert.equal(record.annotations["warned/owner"], "nobody");
    const quiet = await kubectlOk(["-n", ns, "create", "configmap", "full", "--from-literal=a=1"]);
    assert.doesNotMatch(quiet.stderr, /Warning/);
  });

  test("matchConstraints: namespaceSelector, objectSelector (old or new labels), excludeResourceRules, resourceNames, operations", async () => {
    const ns = await namespace("adm-match-a", { team: "a" });
    const other = await namespace("adm-match-b", { team: "b" });
    await admission.createValidatingAdmissionPolicy({
      body: {
        apiVersion: ADMISSION,
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: "guarded" },
        spec: {
          matchConstraints: {
            namespaceSelector: { matchExpressions: [{ key: "team", operator: "In", values: ["a"] }] },
            objectSelector: { matchExpressions: [{ key: "guarded", operator: "Exists" }] },
            resourceRules: [{ ...CONFIGMAP_RULE, operations: ["CREATE", "UPDATE"] }],
            excludeResourceRules: [{ ...CONFIGMAP_RULE, operations: ["*"], resourceNames: ["exempt"] }],
          },
          validations: [{ expression: "false", message: "guarded" }],
        },
      },
    });
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        apiVersion: ADMISSION,
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: "guarded" },
        spec: { policyName: "guarded", validationActions: ["Deny"] },
      },
    });
    const guarded = { guarded: "yes" };
    const denied = await refused(
      core.createNamespacedConfigMap({ namespace: ns, body: configMap("g", {}, guarded) }),
    );
    assert.match(denied.status.message, /denied request: guarded/);
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap("plain") });
    await core.createNamespacedConfigMap({ namespace: other, body: configMap("g", {}, guarded) });
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap("exempt", {}, guarded) });
    await kubectlOk(["-n", ns, "label", "configmap", "plain", "other=x"]);
    const labelled = await kubectl.run(["-n", ns, "label", "configmap", "plain", "guarded=now"]);
    assert.match(labelled.stderr, /denied request: guarded/, "the new object's labels select it");
    await kubectlOk(["-n", ns, "delete", "configmap", "exempt"]);
    const unlabel = await kubectl.run(["-n", ns, "label", "configmap", "plain", "guarded-", "other-"]);
    assert.equal(unlabel.code, 0, "a label it does not have");
    await kubectlOk(["label", "namespace", ns, "team=b", "--overwrite"]);
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap("g", {}, guarded) });
  });

  test("matchPolicy Equivalent judges another version of a resource as the version the rules name; Exact does not", async () => {
    const ns = await namespace("adm-versions");
    const crd = widgetCrd();
    const versions = (crd.spec as Json).versions as Json[];
    const gadgets = {
      ...crd,
      metadata: { name: "gadgets.example.com" },
      spec: {
        ...(crd.spec as Json),
        names: { plural: "gadgets", singular: "gadget", kind: "Gadget" },
        versions: [versions[0], { ...versions[0], name: "v2", storage: false }],
      },
    };
    await registerCrd(new RawClient(kube.url), gadgets, `/apis/example.com/v2/namespaces/${ns}/gadgets`);
    const v1Rule = {
      apiGroups: ["example.com"],
      apiVersions: ["v1"],
      resources: ["gadgets"],
      operations: ["CREATE"],
    };
    await policy("gadgets-equivalent", ns, {
      matchConstraints: { resourceRules: [v1Rule] },
      validations: [
        {
          expression: "object.spec.size < 5",
          messageExpression:
            "'as ' + request.kind.version + ' ' + object.apiVersion + ', asked ' + request.requestKind.version + ' ' + request.requestResource.resource",
        },
      ],
    });
    await policy("gadgets-exact", ns, {
      matchConstraints: { matchPolicy: "Exact", resourceRules: [v1Rule] },
      validations: [{ expression: "object.spec.size < 3", message: "exact" }],
    });
    const gadget = (size: number) => ({
      apiVersion: "example.com/v2",
      kind: "Gadget",
      metadata: { name: `g${size}` },
      spec: { size },
    });
    const create = (size: number) =>
      objects.createNamespacedCustomObject({
        group: "example.com",
        version: "v2",
        namespace: ns,
        plural: "gadgets",
        body: gadget(size),
      });
    const denied = await refused(create(6));
    assert.match(denied.status.message, /denied request: as v1 example\.com\/v1, asked v2 gadgets$/);
    await create(4);
  });

  test("bindings: each binding's matchResources narrow the policy, with its own actions", async () => {
    const a = await namespace("adm-bind-a", { env: "prod" });
    const b = await namespace("adm-bind-b", { env: "dev" });
    await admission.createValidatingAdmissionPolicy({
      body: {
        apiVersion: ADMISSION,
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: "needs-owner" },
        spec: {
          matchConstraints: {
            namespaceSelector: { matchExpressions: [{ key: "env", operator: "Exists" }] },
            resourceRules: [{ ...CONFIGMAP_RULE, operations: ["CREATE"] }],
          },
          validations: [
            {
              expression: "has(object.metadata.labels) && 'owner' in object.metadata.labels",
              message: "needs an owner",
            },
          ],
        },
      },
    });
    for (const [name, env, actions] of [
      ["needs-owner-prod", "prod", ["Deny"]],
      ["needs-owner-prod-warn", "prod", ["Warn"]],
      ["needs-owner-dev", "dev", ["Warn"]],
    ] as const) {
      await admission.createValidatingAdmissionPolicyBinding({
        body: {
          apiVersion: ADMISSION,
          kind: "ValidatingAdmissionPolicyBinding",
          metadata: { name },
          spec: {
            policyName: "needs-owner",
            validationActions: [...actions],
            matchResources: { namespaceSelector: { matchLabels: { env } } },
          },
        },
      });
    }
    const prod = await kubectl.run(["-n", a, "create", "configmap", "x"]);
    assert.match(
      prod.stderr,
      /is forbidden: ValidatingAdmissionPolicy 'needs-owner' with binding 'needs-owner-prod' denied request: needs an owner/,
    );
    assert.match(
      prod.stderr,
      /^Warning: Validation failed for ValidatingAdmissionPolicy 'needs-owner' with binding 'needs-owner-prod-warn': needs an owner$/m,
      "the warnings of a refused request come with the refusal",
    );
    const dev = await kubectlOk(["-n", b, "create", "configmap", "x"]);
    assert.match(
      dev.stderr,
      /Warning: Validation failed for ValidatingAdmissionPolicy 'needs-owner' with binding 'needs-owner-dev': needs an owner/,
    );
  });

  test("params: by name (in the request's namespace or paramRef's), by selector (each judged), parameterNotFoundAction, unknown paramKind", async () => {
    const ns = await namespace("adm-params");
    const limits = await namespace("adm-params-limits");
    const spec = {
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      matchConstraints: { resourceRules: [{ ...WIDGET_RULE, operations: ["CREATE"] }] },
      validations: [
        {
          expression: "object.spec.size <= int(params.data.max)",
          messageExpression: "'size above ' + params.data.max + ' of ' + params.metadata.name",
        },
      ],
    };
    await policy("limited", ns, spec, {
      validationActions: ["Deny"],
      paramRef: { name: "limits", namespace: limits, parameterNotFoundAction: "Deny" },
    });
    const missing = await refused(createWidget(ns, widget("a", { size: 1 })));
    assert.equal(missing.code, 422);
    assert.match(
      missing.status.message,
      /ValidatingAdmissionPolicy 'limited' with binding 'limited-binding' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction$/,
    );
    await core.createNamespacedConfigMap({ namespace: limits, body: configMap("limits", { max: "5" }) });
    assert.match(
      (await refused(createWidget(ns, widget("a", { size: 6 })))).status.message,
      /size above 5 of limits/,
    );
    await createWidget(ns, widget("a", { size: 5 }));

    const selected = await namespace("adm-params-selected");
    await policy("selected", selected, spec, {
      validationActions: ["Deny"],
      paramRef: { selector: { matchLabels: { limit: "true" } }, parameterNotFoundAction: "Allow" },
    });
    await createWidget(selected, widget("none", { size: 100 }));
    for (const [name, max] of [
      ["loose", "9"],
      ["tight", "3"],
    ]) {
      await core.createNamespacedConfigMap({
        namespace: selected,
        body: configMap(name!, { max: max! }, { limit: "true" }),
      });
    }
    assert.match(
      (await refused(createWidget(selected, widget("b", { size: 4 })))).status.message,
      /size above 3 of tight/,
    );
    await createWidget(selected, widget("b", { size: 3 }));

    const unknown = await namespace("adm-params-unknown");
    await policy(
      "unknown-kind",
      unknown,
      { ...spec, paramKind: { apiVersion: "example.com/v1", kind: "Limit" } },
      {
        validationActions: ["Deny"],
        paramRef: { name: "x", parameterNotFoundAction: "Allow" },
      },
    );
    assert.match(
      (await refused(createWidget(unknown, widget("c", { size: 1 })))).status.message,
      /ValidatingAdmissionPolicy 'unknown-kind' denied request: failed to configure policy: failed to find resource referenced by paramKind: 'example.com\/v1, Kind=Limit'$/,
    );
  });

  test("matchConditions leave requests out; a condition that errors follows failurePolicy", async () => {
    const ns = await namespace("adm-conditions");
    const spec = (failurePolicy: string, name: string) => ({
      failurePolicy,
      matchConstraints: {
        resourceRules: [{ ...CONFIGMAP_RULE, operations: ["CREATE"] }],
        objectSelector: { matchLabels: { policy: name } },
      },
      matchConditions: [
        { name: "not-the-bot", expression: "request.userInfo.username != 'system:serviceaccount:ops:bot'" },
        { name: "labelled", expression: "object.metadata.labels.policy == object.metadata.labels.mirror" },
      ],
      validations: [{ expression: "false", message: `${name} refused` }],
    });
    await policy("conditions-fail", ns, spec("Fail", "fail"));
    await policy("conditions-ignore", ns, spec("Ignore", "ignore"));
    const body = (name: string, labels: Record<string, string>) =>
      JSON.stringify({ ...configMap(name, {}, labels), metadata: { name, namespace: ns, labels } });
    const matched = await kubectl.run(["create", "-f", "-"], {
      input: body("a", { policy: "fail", mirror: "fail" }),
    });
    assert.match(matched.stderr, /denied request: fail refused/);
    await kubectlOk(["create", "-f", "-"], body("b", { policy: "fail", mirror: "other" }));
    await kubectlOk(
      ["create", "--as", "system:serviceaccount:ops:bot", "-f", "-"],
      body("c", { policy: "fail", mirror: "fail" }),
    );
    const erroring = await kubectl.run(["create", "-f", "-"], { input: body("d", { policy: "fail" }) });
    assert.match(
      erroring.stderr,
      /ValidatingAdmissionPolicy 'conditions-fail' with binding 'conditions-fail-binding' denied request: expression 'object\.metadata\.labels\.policy == object\.metadata\.labels\.mirror' resulted in error: no such key: mirror/,
    );
    await kubectlOk(["create", "-f", "-"], body("e", { policy: "ignore" }));
  });

  test("variables: evaluated when used, each from the ones before it; an error names the variable; failurePolicy Ignore admits", async () => {
    const ns = await namespace("adm-variables");
    const spec = (failurePolicy: string) => ({
      failurePolicy,
      matchConstraints: {
        resourceRules: [{ ...WIDGET_RULE, operations: ["CREATE"] }],
        objectSelector: { matchLabels: { policy: failurePolicy } },
      },
      variables: [
        { name: "size", expression: "object.spec.size" },
        { name: "double", expression: "variables.size * 2" },
        { name: "colour", expression: "object.spec.color" },
      ],
      validations: [
        { expression: "variables.double < 10", messageExpression: "'double is ' + string(variables.double)" },
        { expression: "variables.size != 3 || variables.colour == 'red'", message: "three must be red" },
      ],
    });
    await policy("vars-fail", ns, spec("Fail"));
    await policy("vars-ignore", ns, spec("Ignore"));
    const labels = (policyName: string) => ({ labels: { policy: policyName } });
    assert.match(
      (await refused(createWidget(ns, widget("a", { size: 5 }, labels("Fail"))))).status.message,
      /denied request: double is 10$/,
    );
    await createWidget(ns, widget("b", { size: 2 }, labels("Fail")));
    const error = await refused(createWidget(ns, widget("c", { size: 3 }, labels("Fail"))));
    assert.equal(error.code, 422);
    assert.match(
      error.status.message,
      /denied request: expression 'variables\.size != 3 \|\| variables\.colour == 'red'' resulted in error: composited variable "colour" fails to evaluate: no such key: color$/,
    );
    await createWidget(ns, widget("d", { size: 3 }, labels("Ignore")));
  });

  test("the CEL variables: request (user from --as/--as-group, dry run, options), namespaceObject, oldObject on DELETE", async () => {
    const ns = await namespace("adm-request", { team: "blue" });
    await policy("echo", ns, {
      matchConstraints: { resourceRules: [{ ...CONFIGMAP_RULE, operations: ALL_WRITES }] },
      validations: [
        {
          expression: "object != null && object.metadata.name == 'allowed'",
          messageExpression: `[request.operation, request.name, request.namespace, request.kind.kind, request.resource.resource,
            request.userInfo.username, request.userInfo.groups.join('+'), string(request.dryRun), string(request.options.kind),
            string(namespaceObject.metadata.labels.team), object == null ? 'no object' : 'object',
            oldObject == null ? 'no old object' : string(oldObject.data.k)].join(' ')`,
        },
      ],
    });
    const asAlice = await kubectl.run([
      "-n",
      ns,
      "create",
      "configmap",
      "c",
      "--as",
      "alice",
      "--as-group",
      "devs",
      "--dry-run=server",
    ]);
    assert.match(
      asAlice.stderr,
      /denied request: CREATE c adm-request ConfigMap configmaps alice devs\+system:authenticated true CreateOptions blue object no old object$/m,
    );
    const groupAlone = await new RawClient(kube.url).post(
      `/api/v1/namespaces/${ns}/configmaps`,
      configMap("g"),
      {
        headers: { "Impersonate-Group": "devs" },
      },
    );
    assert.equal(groupAlone.status, 400, "impersonating a group needs a user");
    assert.match(groupAlone.body.message, /without impersonating a user$/);
    await kubectlOk(["-n", ns, "create", "configmap", "allowed", "--from-literal=k=before"]);
    await kubectlOk([
      "-n",
      ns,
      "patch",
      "configmap",
      "allowed",
      "--type=merge",
      "-p",
      '{"data":{"k":"after"}}',
    ]);
    const removal = await kubectl.run(["-n", ns, "delete", "configmap", "allowed"]);
    assert.match(
      removal.stderr,
      /denied request: DELETE allowed adm-request ConfigMap configmaps kubernetes-admin system:masters\+system:authenticated false DeleteOptions blue no object after$/m,
    );
  });

  test("expressions: one that does not compile is a 422; one using what the emulator's CEL lacks is kept, reported in status, and fails per failurePolicy", async () => {
    const ns = await namespace("adm-compile");
    const invalid = await refused(
      admission.createValidatingAdmissionPolicy({
        body: {
          apiVersion: ADMISSION,
          kind: "ValidatingAdmissionPolicy",
          metadata: { name: "broken" },
          spec: {
            matchConstraints: { resourceRules: [{ ...CONFIGMAP_RULE, operations: ["CREATE"] }] },
            validations: [{ expression: "object.data.size() >" }, { expression: "object.metadata.name" }],
          },
        },
      }),
    );
    assert.equal(invalid.code, 422);
    assert.deepEqual(
      invalid.status.details.causes.map((c: { field: string }) => c.field),
      ["spec.validations[0].expression", "spec.validations[1].expression"],
    );
    assert.match(
      invalid.status.details.causes[0].message,
      /^Invalid value: "object\.data\.size\(\) >": compilation failed: ERROR: <input>:1:21: /,
    );
    assert.equal(
      invalid.status.details.causes[1].message,
      'Invalid value: "object.metadata.name": must evaluate to bool',
    );

    const authz =
      "authorizer.group('').resource('secrets').namespace(object.metadata.namespace).check('get').allowed()";
    for (const failurePolicy of ["Fail", "Ignore"]) {
      await policy(`authz-${failurePolicy.toLowerCase()}`, ns, {
        failurePolicy,
        matchConstraints: {
          resourceRules: [{ ...CONFIGMAP_RULE, operations: ["CREATE"] }],
          objectSelector: { matchLabels: { policy: failurePolicy } },
        },
        validations: [{ expression: authz }],
      });
    }
    const status = await waitFor(async () => {
      const read = await admission.readValidatingAdmissionPolicy({ name: "authz-fail" });
      return read.status?.observedGeneration === 1 ? read.status : undefined;
    }, "the policy's status");
    const warnings = status.typeChecking?.expressionWarnings ?? [];
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.fieldRef, "spec.validations[0].expression");
    assert.match(
      warnings[0]!.warning,
      /CEL engine cannot compile this expression.*undeclared reference to 'authorizer'/s,
    );
    const denied = await refused(
      core.createNamespacedConfigMap({ namespace: ns, body: configMap("x", {}, { policy: "Fail" }) }),
    );
    assert.equal(denied.code, 422);
    assert.match(
      denied.status.message,
      /denied request: compilation error: compilation failed: ERROR: <input>:1:1: undeclared reference to 'authorizer' \(in container ''\)/,
    );
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap("y", {}, { policy: "Ignore" }) });
  });

  test("status.typeChecking: expressions checked against the schemas of the kinds the rules name", async () => {
    await admission.createValidatingAdmissionPolicy({
      body: {
        apiVersion: ADMISSION,
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: "typos" },
        spec: {
          matchConstraints: {
            resourceRules: [
              { ...WIDGET_RULE, operations: ["CREATE"] },
              { ...CONFIGMAP_RULE, operations: ["CREATE"] },
            ],
          },
          validations: [
            { expression: "object.spec.sise > 0", messageExpression: "string(object.metadata.name)" },
            { expression: "object.metadata.labels.all(k, k != '')" },
          ],
        },
      },
    });
    const status = await waitFor(async () => {
      const read = await admission.readValidatingAdmissionPolicy({ name: "typos" });
      return read.status?.observedGeneration === 1 ? read.status : undefined;
    }, "the policy's status");
    assert.deepEqual(
      (status.typeChecking?.expressionWarnings ?? []).map((w) => w.fieldRef),
      ["spec.validations[0].expression"],
    );
    const warning = status.typeChecking!.expressionWarnings![0]!.warning;
    assert.match(warning, /^\/v1, Kind=ConfigMap: ERROR: <input>:1:7: undefined field 'spec'/);
    assert.match(warning, /\n\nexample\.com\/v1, Kind=Widget: ERROR: <input>:1:12: undefined field 'sise'/);

    await kubectlOk([
      "patch",
      "validatingadmissionpolicy",
      "typos",
      "--type=json",
      "-p",
      JSON.stringify([{ op: "remove", path: "/spec/validations/0" }]),
    ]);
    const fixed = await waitFor(async () => {
      const read = await admission.readValidatingAdmissionPolicy({ name: "typos" });
      return read.status?.observedGeneration === 2 ? read.status : undefined;
    }, "the status of generation 2");
    assert.ok(fixed.typeChecking, "typeChecking is set, with no warnings");
    assert.equal(fixed.typeChecking.expressionWarnings, undefined);
  });

  test("policy kinds are not judged by policies; bindings are validated", async () => {
    await admission.createValidatingAdmissionPolicy({
      body: {
        apiVersion: ADMISSION,
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: "no-policies" },
        spec: {
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ["admissionregistration.k8s.io"],
                apiVersions: ["*"],
                operations: ["*"],
                resources: ["*"],
              },
            ],
          },
          validations: [{ expression: "false" }],
        },
      },
    });
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        apiVersion: ADMISSION,
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: "no-policies" },
        spec: { policyName: "no-policies", validationActions: ["Deny"] },
      },
    });
    await kubectlOk(["delete", "validatingadmissionpolicybinding", "no-policies"]);
    const invalid = await refused(
      admission.createValidatingAdmissionPolicyBinding({
        body: {
          apiVersion: ADMISSION,
          kind: "ValidatingAdmissionPolicyBinding",
          metadata: { name: "bad-binding" },
          spec: { policyName: "no-policies", validationActions: ["Deny", "Warn"], paramRef: { name: "x" } },
        },
      }),
    );
    assert.equal(invalid.code, 422);
    assert.deepEqual(
      invalid.status.details.causes.map(
        (c: { field: string; message: string }) => `${c.field}: ${c.message}`,
      ),
      [
        "spec.paramRef.parameterNotFoundAction: Required value",
        'spec.validationActions: Invalid value: ["Deny","Warn"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)',
      ],
    );
  });
});
