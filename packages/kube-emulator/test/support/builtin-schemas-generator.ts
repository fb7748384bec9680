// Generates packages/kube-emulator/src/builtin/schemas.json: the OpenAPI v3 schemas of the built-in kinds the
// emulator serves, derived from the models of @kubernetes/client-node (generated from the
// Kubernetes release-1.36 OpenAPI document), plus the list and patch extensions that the models
// do not carry, taken from the upstream OpenAPI document.
// Regenerate: npx tsc -b tsconfig.json && node dist/packages/kube-emulator/test/support/builtin-schemas-generator.js
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as k8s from "@kubernetes/client-node";
import { PACKAGE_ROOT } from "../../../../src/util/paths.js";

type Schema = Record<string, unknown>;

interface AttributeType {
  baseName: string;
  type: string;
  format: string;
}

interface Model {
  getAttributeTypeMap(): AttributeType[];
}

/** Root kinds and their group/version/kind. */
export const ROOT_KINDS: Record<string, { group: string; version: string; kind: string }> = {
  V1Namespace: { group: "", version: "v1", kind: "Namespace" },
  V1ConfigMap: { group: "", version: "v1", kind: "ConfigMap" },
  V1Secret: { group: "", version: "v1", kind: "Secret" },
  V1ServiceAccount: { group: "", version: "v1", kind: "ServiceAccount" },
  V1Service: { group: "", version: "v1", kind: "Service" },
  CoreV1Event: { group: "", version: "v1", kind: "Event" },
  EventsV1Event: { group: "events.k8s.io", version: "v1", kind: "Event" },
  V1Deployment: { group: "apps", version: "v1", kind: "Deployment" },
  V1StatefulSet: { group: "apps", version: "v1", kind: "StatefulSet" },
  V1DaemonSet: { group: "apps", version: "v1", kind: "DaemonSet" },
  V1Lease: { group: "coordination.k8s.io", version: "v1", kind: "Lease" },
  V1CustomResourceDefinition: {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
  },
  V1ClusterRole: { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole" },
  V1ClusterRoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding" },
  V1Role: { group: "rbac.authorization.k8s.io", version: "v1", kind: "Role" },
  V1RoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding" },
  V1PodDisruptionBudget: { group: "policy", version: "v1", kind: "PodDisruptionBudget" },
  V1NetworkPolicy: { group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy" },
  V1ValidatingAdmissionPolicy: {
    group: "admissionregistration.k8s.io",
    version: "v1",
    kind: "ValidatingAdmissionPolicy",
  },
  V1ValidatingAdmissionPolicyBinding: {
    group: "admissionregistration.k8s.io",
    version: "v1",
    kind: "ValidatingAdmissionPolicyBinding",
  },
};

const EXTRA_MODELS = ["V1Status", "V1DeleteOptions"];

const mapList = (keys: string[], mergeKey = keys[0], strategy = "merge"): Schema => ({
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": keys,
  "x-kubernetes-patch-merge-key": mergeKey,
  "x-kubernetes-patch-strategy": strategy,
});
const atomicList: Schema = { "x-kubernetes-list-type": "atomic" };
const QUANTITY: Schema = { "x-kubernetes-int-or-string": true };

/** What the upstream OpenAPI document says about fields that the models leave out. */
const FIELD_EXTENSIONS: Record<string, Schema> = {
  "V1ObjectMeta.finalizers": { "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge" },
  "V1ObjectMeta.ownerReferences": mapList(["uid"]),
  "V1ObjectMeta.managedFields": atomicList,
  "V1NamespaceStatus.conditions": mapList(["type"]),
  "V1ServiceAccount.secrets": mapList(["name"]),
  "V1ServiceAccount.imagePullSecrets": atomicList,
  "V1ServiceSpec.ports": mapList(["port", "protocol"], "port"),
  "V1ServiceStatus.conditions": mapList(["type"]),
  "V1PodSpec.containers": mapList(["name"]),
  "V1PodSpec.initContainers": mapList(["name"]),
  "V1PodSpec.ephemeralContainers": mapList(["name"]),
  "V1PodSpec.volumes": mapList(["name"], "name", "merge,retainKeys"),
  "V1PodSpec.imagePullSecrets": mapList(["name"]),
  "V1PodSpec.hostAliases": mapList(["ip"]),
  "V1PodSpec.resourceClaims": mapList(["name"], "name", "merge,retainKeys"),
  "V1PodSpec.schedulingGates": mapList(["name"]),
  "V1PodSpec.topologySpreadConstraints": mapList(["topologyKey", "whenUnsatisfiable"], "topologyKey"),
  "V1PodSpec.tolerations": atomicList,
  "V1PodSpec.readinessGates": atomicList,
  "V1Container.env": mapList(["name"]),
  "V1Container.ports": mapList(["containerPort", "protocol"], "containerPort"),
  "V1Container.volumeDevices": mapList(["devicePath"]),
  "V1Container.volumeMounts": mapList(["mountPath"]),
  "V1Container.envFrom": atomicList,
  "V1EphemeralContainer.env": mapList(["name"]),
  "V1EphemeralContainer.ports": mapList(["containerPort", "protocol"], "containerPort"),
  "V1EphemeralContainer.volumeDevices": mapList(["devicePath"]),
  "V1EphemeralContainer.volumeMounts": mapList(["mountPath"]),
  "V1DeploymentStatus.conditions": mapList(["type"]),
  "V1StatefulSetSpec.volumeClaimTemplates": atomicList,
  "V1StatefulSetStatus.conditions": mapList(["type"]),
  "V1DaemonSetStatus.conditions": mapList(["type"]),
  "V1PersistentVolumeClaimSpec.accessModes": atomicList,
  "V1PersistentVolumeClaimStatus.accessModes": atomicList,
  "V1PersistentVolumeClaimStatus.conditions": mapList(["type"]),
  "V1CustomResourceDefinitionStatus.conditions": mapList(["type"]),
  "V1PodDisruptionBudgetStatus.conditions": mapList(["type"]),
  "V1ValidatingAdmissionPolicyStatus.conditions": mapList(["type"]),
  "V1ValidatingAdmissionPolicySpec.matchConditions": mapList(["name"]),
  "V1ResourceRequirements.limits": { additionalProperties: QUANTITY },
  "V1ResourceRequirements.requests": { additionalProperties: QUANTITY },
  "V1PodSpec.overhead": { additionalProperties: QUANTITY },
  "V1EmptyDirVolumeSource.sizeLimit": QUANTITY,
  "V1ResourceFieldSelector.divisor": QUANTITY,
};

function modelOf(name: string): Model | undefined {
  const candidate = (k8s as unknown as Record<string, unknown>)[name] as Partial<Model> | undefined;
  return candidate && typeof candidate.getAttributeTypeMap === "function" ? (candidate as Model) : undefined;
}

function ref(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

function schemaOfType(type: string, format: string, pending: string[]): Schema {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return { type: "array", items: schemaOfType(array[1]!, format, pending) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { type: "object", additionalProperties: schemaOfType(map[1]!, "", pending) };
  switch (type) {
    case "string":
      if (format === "int-or-string") return { "x-kubernetes-int-or-string": true };
      return format ? { type: "string", format } : { type: "string" };
    case "number":
      if (format === "int32" || format === "int64") return { type: "integer", format };
      return format ? { type: "number", format } : { type: "number" };
    case "boolean":
      return { type: "boolean" };
    case "Date":
      return { type: "string", format: "date-time" };
    case "V1MicroTime":
      return { type: "string", format: "date-time-micro" };
    case "IntOrString":
      return { "x-kubernetes-int-or-string": true };
    case "any":
      return { "x-kubernetes-preserve-unknown-fields": true };
  }
  if (!modelOf(type)) throw new Error(`unknown model type ${type}`);
  pending.push(type);
  return ref(type);
}

export function generateBuiltinSchemas(): Record<string, Schema> {
  const schemas: Record<string, Schema> = {};
  const pending = [...Object.keys(ROOT_KINDS), ...EXTRA_MODELS];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (schemas[name]) continue;
    const model = modelOf(name);
    if (!model) throw new Error(`no model ${name}`);
    const properties: Record<string, Schema> = {};
    for (const attribute of model.getAttributeTypeMap()) {
      const schema = schemaOfType(attribute.type, attribute.format, pending);
      const extension = FIELD_EXTENSIONS[`${name}.${attribute.baseName}`];
      if (extension?.additionalProperties) {
        properties[attribute.baseName] = { ...schema, ...extension };
      } else {
        properties[attribute.baseName] = extension ? { ...schema, ...extension } : schema;
      }
    }
    const schema: Schema = { type: "object", properties };
    const gvk = ROOT_KINDS[name];
    if (gvk) schema["x-kubernetes-group-version-kind"] = [gvk];
    schemas[name] = schema;
  }
  return Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
}

export const BUILTIN_SCHEMAS_PATH = join(
  PACKAGE_ROOT,
  "packages",
  "kube-emulator",
  "src",
  "builtin",
  "schemas.json",
);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(BUILTIN_SCHEMAS_PATH, `${JSON.stringify(generateBuiltinSchemas(), null, 2)}\n`);
}
