// Evaluates a rendered ValidatingAdmissionPolicy the way the API server does for one request
// (matchConditions, then variables, then validations), with the CEL engine of the Kubernetes
// emulator. The emulator itself, with the policy applied through kubectl, comes later.
import { compileCel, toCelValue } from "../../src/sandbox/kube/schema/index.js";
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

const ROOT_NAMES = ["object", "oldObject", "request", "namespaceObject", "variables"];

export function admit(policy: KubeObject, request: AdmissionRequest): AdmissionResult {
  const namespace = (request.object as { metadata?: { namespace?: string } }).metadata?.namespace;
  const roots: Record<string, unknown> = {
    object: toCelValue(request.object),
    oldObject: toCelValue(request.oldObject ?? null),
    request: toCelValue({
      operation: request.operation,
      namespace: namespace ?? "",
      userInfo: { username: request.username ?? "jane@example.com" },
    }),
    namespaceObject: toCelValue(
      request.namespaceLabels === undefined
        ? null
        : {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: namespace, labels: request.namespaceLabels },
          },
    ),
    variables: new Map<string, unknown>(),
  };
  const evaluate = (source: string) => compileCel(source, ROOT_NAMES).evaluate(roots);

  for (const condition of policy.spec.matchConditions ?? []) {
    if (evaluate(condition.expression) !== true) return { evaluated: false, allowed: true, messages: [] };
  }
  const variables = roots.variables as Map<string, unknown>;
  for (const variable of policy.spec.variables ?? [])
    variables.set(variable.name, evaluate(variable.expression));

  const messages: string[] = [];
  for (const validation of policy.spec.validations) {
    if (evaluate(validation.expression) === true) continue;
    messages.push(
      validation.messageExpression ? String(evaluate(validation.messageExpression)) : validation.message,
    );
  }
  return { evaluated: true, allowed: messages.length === 0, messages };
}
