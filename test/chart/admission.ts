// Evaluates a rendered ValidatingAdmissionPolicy for one request with the Kubernetes emulator's
// own policy evaluation (packages/kube-emulator/src/admission), without a server: fast unit checks of the
// chart's rules. chart-apply.test.ts checks the same policy enforced by the emulator via kubectl.
import { requestValue } from "@azid/kube-emulator/internal/admission/cel-environment.js";
import { compilePolicy } from "@azid/kube-emulator/internal/admission/compile.js";
import type { PolicySpec } from "@azid/kube-emulator/internal/admission/policy-types.js";
import { validatePolicy } from "@azid/kube-emulator/internal/admission/validator.js";
import { toCelValue } from "@azid/kube-emulator/internal/schema/index.js";
import type { KubeObject } from "./helm.js";

export interface AdmissionRequest {
  operation: "CREATE" | "UPDATE";
  object: object;
  oldObject?: object;
  /** Labels of the object's namespace; absent for a cluster-scoped object. */
  namespaceLabels?: Record<string, string>;
  username?: string;
}

export interface AdmissionResult {
  /** False when a match condition excluded the request. */
  evaluated: boolean;
  allowed: boolean;
  messages: string[];
}

export function admit(policy: KubeObject, request: AdmissionRequest): AdmissionResult {
  const object = request.object as {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  };
  const [group, version] = object.apiVersion.includes("/")
    ? object.apiVersion.split("/")
    : ["", object.apiVersion];
  const namespace = object.metadata.namespace ?? "";
  const kind = { group: group!, version: version!, kind: object.kind };
  const resource = { group: group!, version: version!, resource: `${object.kind.toLowerCase()}s` };
  const spec = policy.spec as PolicySpec;
  const result = validatePolicy(compilePolicy(spec), spec.failurePolicy ?? "Fail", {
    object: toCelValue(request.object),
    oldObject: toCelValue(request.oldObject ?? null),
    request: requestValue({
      kind,
      resource,
      subResource: "",
      requestKind: kind,
      requestResource: resource,
      requestSubResource: "",
      name: object.metadata.name,
      namespace,
      operation: request.operation,
      userInfo: {
        username: request.username ?? "jane@example.com",
        groups: ["system:authenticated"],
        extra: {},
      },
      dryRun: false,
      options: {
        kind: request.operation === "CREATE" ? "CreateOptions" : "UpdateOptions",
        apiVersion: "meta.k8s.io/v1",
      },
    }),
    namespaceObject: toCelValue(
      request.namespaceLabels === undefined
        ? null
        : { metadata: { name: namespace, labels: request.namespaceLabels } },
    ),
  });
  const messages = result.decisions.filter((d) => d.action === "deny").map((d) => d.message);
  return { evaluated: result.decisions.length > 0, allowed: messages.length === 0, messages };
}
