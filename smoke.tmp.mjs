import { startKubeEmulator } from "./dist/src/sandbox/kube/index.js";

const kube = await startKubeEmulator();
const call = async (method, path, body, headers = {}) => {
  const r = await fetch(kube.url + path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body && JSON.stringify(body),
  });
  const t = await r.text();
  return { status: r.status, warn: r.headers.get("warning"), body: t.length > 1500 ? t.slice(0, 1500) : t };
};
const VAP = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies";
const VAPB = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings";
console.log(
  await call("POST", VAP, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: "bad" },
    spec: {
      matchConstraints: {
        resourceRules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] },
        ],
      },
      validations: [{ expression: "object.data.x == " }],
    },
  }),
);
console.log(
  await call("POST", VAP, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: "p" },
    spec: {
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE"],
            resources: ["configmaps"],
          },
        ],
      },
      variables: [{ name: "size", expression: "has(object.data) ? size(object.data) : 0" }],
      validations: [
        {
          expression: "variables.size < 2",
          messageExpression: "'too many keys: ' + string(variables.size)",
          reason: "Forbidden",
        },
        { expression: "object.metadata.name.startsWith('ok')" },
        { expression: "object.nope.x == 1", message: "never" },
      ],
    },
  }),
);
console.log(
  await call("POST", VAP, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: "authz" },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["secrets"] },
        ],
      },
      validations: [
        { expression: "authorizer.group('').resource('secrets').check('get').allowed()" },
        { expression: "object.metadata.nope == 'x'" },
      ],
    },
  }),
);
console.log(
  await call("POST", VAPB, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: "pb" },
    spec: { policyName: "p", validationActions: ["Deny"] },
  }),
);
console.log(
  await call("POST", VAPB, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: "ab" },
    spec: { policyName: "authz", validationActions: ["Warn"] },
  }),
);
console.log(
  await call("POST", "/api/v1/namespaces/default/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "big" },
    data: { a: "1", b: "2" },
  }),
);
console.log(
  await call("POST", "/api/v1/namespaces/default/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "small" },
    data: { a: "1" },
  }),
);
console.log(
  await call("POST", "/api/v1/namespaces/default/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "ok-small" },
    data: { a: "1" },
  }),
);
console.log(
  await call("POST", "/api/v1/namespaces/default/secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
  }),
);
await new Promise((r) => setTimeout(r, 100));
console.log(await call("GET", VAP + "/authz"));
console.log(await call("GET", VAP + "/p"));
await kube.close();
