// The built-in kinds the emulator serves, with the parts of their strategies (defaults,
// validation, status handling) that clients can observe.
import { createHash } from "node:crypto";
import {
  validatingAdmissionPolicyBindingStrategy,
  validatingAdmissionPolicyStrategy,
} from "../admission/policy-strategy.js";
import { type FieldError, fieldErrors } from "../errors.js";
import type { JsonObject } from "../json.js";
import { deepEqual, isObject } from "../json.js";
import type { ScalePaths } from "../rest/scale.js";
import { componentType } from "./builtin-schemas.js";
import { crdStrategy } from "./crd.js";
import {
  coreToEventsV1,
  EVENTS_V1_FIELD_LABELS,
  eventSelectableFields,
  eventsV1ToCore,
  validateCoreEvent,
  validateEventsV1,
} from "./events.js";
import { at, BUILTIN_COLUMNS } from "./printers.js";
import {
  type NameRule,
  type ResourceType,
  type ResourceVersion,
  STANDARD_VERBS,
  type Strategy,
} from "./resource-type.js";

interface BuiltinSpec {
  group: string;
  version: string;
  kind: string;
  resource: string;
  schema: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: string[];
  storeId?: string;
  statusSubresource?: boolean;
  tracksGeneration?: boolean;
  allowCreateOnUpdate?: boolean;
  allowUnconditionalUpdate?: boolean;
  returnDeletedObject?: boolean;
  nameRule?: NameRule;
  strategy?: Strategy;
  selectableFields?: (object: JsonObject) => Record<string, string>;
  scale?: ScalePaths;
  convert?: Pick<ResourceVersion, "fromStorage" | "toStorage" | "fieldLabelToStorage">;
}

function builtin(spec: BuiltinSpec): ResourceType {
  const version: ResourceVersion = {
    name: spec.version,
    type: componentType(spec.schema),
    openApiComponent: spec.schema,
    columns: BUILTIN_COLUMNS[`${spec.group}/${spec.kind}`] ?? [],
    ...spec.convert,
  };
  const type: ResourceType = {
    group: spec.group,
    versions: [version],
    storageVersion: spec.version,
    resource: spec.resource,
    singular: spec.kind.toLowerCase(),
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    namespaced: spec.namespaced,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    verbs: spec.verbs ?? STANDARD_VERBS,
    storeId: spec.storeId ?? `${spec.group}/${spec.resource}`,
    statusSubresource: spec.statusSubresource ?? false,
    tracksGeneration: spec.tracksGeneration ?? false,
    allowCreateOnUpdate: spec.allowCreateOnUpdate ?? false,
    allowUnconditionalUpdate: spec.allowUnconditionalUpdate ?? true,
    returnDeletedObject: spec.returnDeletedObject ?? false,
    nameRule: spec.nameRule ?? "subdomain",
    strategy: spec.strategy ?? {},
  };
  const withScale = spec.scale ? { ...type, scale: spec.scale } : type;
  return spec.selectableFields ? { ...withScale, selectableFields: spec.selectableFields } : withScale;
}

/** Deployments and StatefulSets: replicas in spec and status, the selector from spec.selector. */
const WORKLOAD_SCALE: ScalePaths = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  selectorFromLabelSelector: true,
};

function objectAt(object: JsonObject, key: string): JsonObject {
  const value = object[key];
  if (isObject(value)) return value;
  const created: JsonObject = {};
  object[key] = created;
  return created;
}

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

const namespaceStrategy: Strategy = {
  prepareForCreate(ns) {
    objectAt(ns, "spec").finalizers = ["kubernetes"];
    ns.status = { phase: "Active" };
    labelNamespace(ns);
  },
  beforeDelete(ns) {
    ns.status = { ...(isObject(ns.status) ? ns.status : {}), phase: "Terminating" };
  },
  prepareForUpdate(ns, old) {
    const spec = objectAt(ns, "spec");
    const oldFinalizers = at(old, "spec", "finalizers");
    if (oldFinalizers === undefined) delete spec.finalizers;
    else spec.finalizers = oldFinalizers;
    labelNamespace(ns);
  },
};

function labelNamespace(ns: JsonObject): void {
  const meta = objectAt(ns, "metadata");
  objectAt(meta, "labels")[NAMESPACE_NAME_LABEL] = String(meta.name ?? "");
}

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function validateDataKeys(object: JsonObject, fields: string[]): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const field of fields) {
    const data = object[field];
    if (!isObject(data)) continue;
    for (const key of Object.keys(data)) {
      if (key.length > 253 || !CONFIG_KEY.test(key)) {
        errors.push(
          fieldErrors.invalid(
            `${field}`,
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      }
      if (seen.has(key))
        errors.push(fieldErrors.invalid(`${field}`, key, "duplicate of key present in data"));
      seen.add(key);
    }
  }
  return errors;
}

function validateImmutableData(
  object: JsonObject,
  old: JsonObject | undefined,
  fields: string[],
): FieldError[] {
  if (old?.immutable !== true) return [];
  const errors: FieldError[] = [];
  for (const field of fields) {
    if (!deepEqual(object[field] ?? null, old[field] ?? null)) {
      errors.push(fieldErrors.forbidden(field, "field is immutable when `immutable` is set"));
    }
  }
  if (object.immutable !== true)
    errors.push(fieldErrors.forbidden("immutable", "field is immutable when `immutable` is set"));
  return errors;
}

const configMapStrategy: Strategy = {
  validate(cm, old) {
    return [
      ...validateDataKeys(cm, ["data", "binaryData"]),
      ...validateImmutableData(cm, old, ["data", "binaryData"]),
    ];
  },
};

function base64Valid(value: unknown): boolean {
  return typeof value === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0;
}

const secretStrategy: Strategy = {
  prepareForCreate(secret) {
    foldStringData(secret);
    if (!secret.type) secret.type = "Opaque";
  },
  prepareForUpdate(secret, old) {
    foldStringData(secret);
    if (!secret.type) secret.type = old.type ?? "Opaque";
  },
  validate(secret, old) {
    const errors = [...validateDataKeys(secret, ["data"]), ...validateImmutableData(secret, old, ["data"])];
    const data = secret.data;
    if (isObject(data)) {
      for (const [key, value] of Object.entries(data)) {
        if (!base64Valid(value))
          errors.push(
            fieldErrors.invalid(`data[${key}]`, "<secret contents redacted>", "illegal base64 data"),
          );
      }
    }
    if (old && old.type !== secret.type)
      errors.push(fieldErrors.invalid("type", secret.type, "field is immutable"));
    return errors;
  },
};

/** stringData is write-only: the server folds it into data, base64-encoded. */
function foldStringData(secret: JsonObject): void {
  const stringData = secret.stringData;
  delete secret.stringData;
  if (!isObject(stringData)) return;
  const data = objectAt(secret, "data");
  for (const [key, value] of Object.entries(stringData))
    data[key] = Buffer.from(String(value)).toString("base64");
}

const serviceStrategy: Strategy = {
  prepareForCreate(service) {
    const spec = objectAt(service, "spec");
    const uid = String(at(service, "metadata", "uid") ?? at(service, "metadata", "name") ?? "");
    spec.type ??= "ClusterIP";
    spec.sessionAffinity ??= "None";
    spec.internalTrafficPolicy ??= "Cluster";
    if (spec.type !== "ExternalName" && spec.clusterIP === undefined) {
      // A stable address in the default service range 10.96.0.0/12, derived from the uid.
      const hash = createHash("sha256").update(uid).digest();
      spec.clusterIP = `10.${96 + (hash[0]! % 16)}.${hash[1]!}.${(hash[2]! % 254) + 1}`;
      spec.clusterIPs = [spec.clusterIP];
      spec.ipFamilies = ["IPv4"];
      spec.ipFamilyPolicy = "SingleStack";
    }
    defaultServicePorts(spec);
    service.status = { loadBalancer: {} };
  },
  prepareForUpdate(service, old) {
    const spec = objectAt(service, "spec");
    const oldSpec = isObject(old.spec) ? old.spec : {};
    for (const field of ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"]) {
      if (spec[field] === undefined && oldSpec[field] !== undefined) spec[field] = oldSpec[field]!;
    }
    spec.type ??= "ClusterIP";
    spec.sessionAffinity ??= "None";
    spec.internalTrafficPolicy ??= "Cluster";
    defaultServicePorts(spec);
  },
  validate(service, old) {
    const errors: FieldError[] = [];
    const spec = isObject(service.spec) ? service.spec : {};
    const ports = Array.isArray(spec.ports) ? spec.ports : [];
    if (spec.type !== "ExternalName" && spec.clusterIP !== "None" && ports.length === 0) {
      errors.push(fieldErrors.required("spec.ports"));
    }
    const oldIP = old ? at(old, "spec", "clusterIP") : undefined;
    if (oldIP !== undefined && spec.clusterIP !== oldIP) {
      errors.push(fieldErrors.invalid("spec.clusterIPs[0]", spec.clusterIP ?? "", "may not change once set"));
    }
    return errors;
  },
};

function defaultServicePorts(spec: JsonObject): void {
  if (!Array.isArray(spec.ports)) return;
  for (const port of spec.ports) {
    if (!isObject(port)) continue;
    port.protocol ??= "TCP";
    if (port.targetPort === undefined && port.port !== undefined) port.targetPort = port.port;
  }
}

function defaultPodTemplate(template: JsonObject): void {
  const spec = objectAt(template, "spec");
  spec.restartPolicy ??= "Always";
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const list of ["containers", "initContainers"]) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      if (!isObject(container)) continue;
      container.terminationMessagePath ??= "/dev/termination-log";
      container.terminationMessagePolicy ??= "File";
      container.imagePullPolicy ??= String(container.image ?? "").endsWith(":latest")
        ? "Always"
        : "IfNotPresent";
      container.resources ??= {};
      if (Array.isArray(container.ports))
        for (const port of container.ports) if (isObject(port)) port.protocol ??= "TCP";
    }
  }
}

function defaultStatefulSet(statefulSet: JsonObject): void {
  const spec = objectAt(statefulSet, "spec");
  spec.replicas ??= 1;
  spec.podManagementPolicy ??= "OrderedReady";
  spec.revisionHistoryLimit ??= 10;
  const strategy = objectAt(spec, "updateStrategy");
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") objectAt(strategy, "rollingUpdate").partition ??= 0;
  const retention = objectAt(spec, "persistentVolumeClaimRetentionPolicy");
  retention.whenDeleted ??= "Retain";
  retention.whenScaled ??= "Retain";
  defaultPodTemplate(objectAt(spec, "template"));
  const claims = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [];
  for (const claim of claims) {
    if (!isObject(claim)) continue;
    claim.apiVersion ??= "v1";
    claim.kind ??= "PersistentVolumeClaim";
    objectAt(claim, "spec").volumeMode ??= "Filesystem";
    claim.status ??= { phase: "Pending" };
  }
}

function defaultDeployment(deployment: JsonObject): void {
  const spec = objectAt(deployment, "spec");
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  const strategy = objectAt(spec, "strategy");
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") {
    const rolling = objectAt(strategy, "rollingUpdate");
    rolling.maxUnavailable ??= "25%";
    rolling.maxSurge ??= "25%";
  }
  defaultPodTemplate(objectAt(spec, "template"));
}

/** What Deployments, StatefulSets and DaemonSets check alike: a selector matching the template, containers. */
function validateWorkload(workload: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const selector = at(workload, "spec", "selector");
  const labels = at(workload, "spec", "template", "metadata", "labels");
  if (!isObject(selector)) {
    errors.push(fieldErrors.required("spec.selector"));
  } else if (!selectorMatches(selector, isObject(labels) ? labels : {})) {
    errors.push(
      fieldErrors.invalid(
        "spec.template.metadata.labels",
        isObject(labels) ? labels : {},
        "`selector` does not match template `labels`",
      ),
    );
  }
  if (!Array.isArray(at(workload, "spec", "template", "spec", "containers"))) {
    errors.push(fieldErrors.required("spec.template.spec.containers"));
  }
  if (old && !deepEqual(at(old, "spec", "selector") ?? null, selector ?? null)) {
    errors.push(fieldErrors.invalid("spec.selector", selector ?? null, "field is immutable"));
  }
  return errors;
}

const deploymentStrategy: Strategy = {
  prepareForCreate: defaultDeployment,
  prepareForUpdate: defaultDeployment,
  validate: validateWorkload,
};

function defaultDaemonSet(daemonSet: JsonObject): void {
  const spec = objectAt(daemonSet, "spec");
  spec.revisionHistoryLimit ??= 10;
  const strategy = objectAt(spec, "updateStrategy");
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") {
    const rolling = objectAt(strategy, "rollingUpdate");
    rolling.maxUnavailable ??= 1;
    rolling.maxSurge ??= 0;
  }
  defaultPodTemplate(objectAt(spec, "template"));
}

const daemonSetStrategy: Strategy = {
  prepareForCreate: defaultDaemonSet,
  prepareForUpdate: defaultDaemonSet,
  validate: validateWorkload,
};

/** The StatefulSet spec fields an update may change (apps validation ValidateStatefulSetUpdate). */
const STATEFULSET_MUTABLE = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
];

const statefulSetStrategy: Strategy = {
  prepareForCreate: defaultStatefulSet,
  prepareForUpdate: defaultStatefulSet,
  validate(statefulSet, old) {
    const errors = validateWorkload(statefulSet, old);
    if (!old) return errors;
    const frozen = (object: JsonObject) => {
      const spec = { ...(isObject(object.spec) ? object.spec : {}) };
      for (const field of STATEFULSET_MUTABLE) delete spec[field];
      return spec;
    };
    if (!deepEqual(frozen(statefulSet), frozen(old))) {
      errors.push(
        fieldErrors.forbidden(
          "spec",
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
    }
    return errors;
  },
};

function selectorMatches(selector: JsonObject, labels: JsonObject): boolean {
  const matchLabels = isObject(selector.matchLabels) ? selector.matchLabels : {};
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  for (const expression of expressions) {
    if (!isObject(expression)) continue;
    const value = labels[String(expression.key)];
    const values = Array.isArray(expression.values) ? expression.values : [];
    switch (expression.operator) {
      case "In":
        if (value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (value === undefined) return false;
        break;
      case "DoesNotExist":
        if (value !== undefined) return false;
        break;
    }
  }
  return Object.keys(matchLabels).length > 0 || expressions.length > 0;
}

const pdbStrategy: Strategy = {
  validate(pdb) {
    const spec = isObject(pdb.spec) ? pdb.spec : {};
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
      return [fieldErrors.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set")];
    }
    return [];
  },
};

const bindingStrategy: Strategy = {
  validate(binding, old) {
    const errors: FieldError[] = [];
    const roleRef = binding.roleRef;
    if (!isObject(roleRef) || !roleRef.name) errors.push(fieldErrors.required("roleRef.name"));
    if (
      isObject(roleRef) &&
      roleRef.kind !== undefined &&
      !["Role", "ClusterRole"].includes(String(roleRef.kind))
    ) {
      errors.push(fieldErrors.notSupported("roleRef.kind", roleRef.kind, ["ClusterRole", "Role"]));
    }
    if (old && !deepEqual(old.roleRef ?? null, roleRef ?? null)) {
      errors.push(fieldErrors.invalid("roleRef", roleRef ?? null, "cannot change roleRef"));
    }
    return errors;
  },
};

export function builtinTypes(): ResourceType[] {
  return [
    builtin({
      group: "",
      version: "v1",
      kind: "Namespace",
      resource: "namespaces",
      schema: "V1Namespace",
      namespaced: false,
      shortNames: ["ns"],
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      statusSubresource: true,
      returnDeletedObject: true,
      nameRule: "label",
      strategy: namespaceStrategy,
      selectableFields: (ns) => ({ "status.phase": String(at(ns, "status", "phase") ?? "") }),
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "ConfigMap",
      resource: "configmaps",
      schema: "V1ConfigMap",
      namespaced: true,
      shortNames: ["cm"],
      strategy: configMapStrategy,
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "Secret",
      resource: "secrets",
      schema: "V1Secret",
      namespaced: true,
      strategy: secretStrategy,
      selectableFields: (secret) => ({ type: String(secret.type ?? "") }),
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "ServiceAccount",
      resource: "serviceaccounts",
      schema: "V1ServiceAccount",
      namespaced: true,
      shortNames: ["sa"],
      returnDeletedObject: true,
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "Service",
      resource: "services",
      schema: "V1Service",
      namespaced: true,
      shortNames: ["svc"],
      categories: ["all"],
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
      statusSubresource: true,
      nameRule: "label1035",
      strategy: serviceStrategy,
    }),
    builtin({
      group: "",
      version: "v1",
      kind: "Event",
      resource: "events",
      schema: "CoreV1Event",
      namespaced: true,
      shortNames: ["ev"],
      storeId: "events",
      allowCreateOnUpdate: true,
      strategy: { validate: (event) => validateCoreEvent(event) },
      selectableFields: eventSelectableFields,
    }),
    builtin({
      group: "events.k8s.io",
      version: "v1",
      kind: "Event",
      resource: "events",
      schema: "EventsV1Event",
      namespaced: true,
      shortNames: ["ev"],
      storeId: "events",
      allowCreateOnUpdate: true,
      strategy: { validate: (event, old) => (old ? validateCoreEvent(event) : validateEventsV1(event)) },
      selectableFields: eventSelectableFields,
      convert: {
        fromStorage: coreToEventsV1,
        toStorage: eventsV1ToCore,
        fieldLabelToStorage: EVENTS_V1_FIELD_LABELS,
      },
    }),
    builtin({
      group: "coordination.k8s.io",
      version: "v1",
      kind: "Lease",
      resource: "leases",
      schema: "V1Lease",
      namespaced: true,
      allowCreateOnUpdate: true,
    }),
    builtin({
      group: "apiextensions.k8s.io",
      version: "v1",
      kind: "CustomResourceDefinition",
      resource: "customresourcedefinitions",
      schema: "V1CustomResourceDefinition",
      namespaced: false,
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
      statusSubresource: true,
      tracksGeneration: true,
      allowUnconditionalUpdate: false,
      strategy: crdStrategy,
    }),
    builtin({
      group: "apps",
      version: "v1",
      kind: "Deployment",
      resource: "deployments",
      schema: "V1Deployment",
      namespaced: true,
      shortNames: ["deploy"],
      categories: ["all"],
      statusSubresource: true,
      tracksGeneration: true,
      strategy: deploymentStrategy,
      scale: WORKLOAD_SCALE,
    }),
    builtin({
      group: "apps",
      version: "v1",
      kind: "StatefulSet",
      resource: "statefulsets",
      schema: "V1StatefulSet",
      namespaced: true,
      shortNames: ["sts"],
      categories: ["all"],
      statusSubresource: true,
      tracksGeneration: true,
      strategy: statefulSetStrategy,
      scale: WORKLOAD_SCALE,
    }),
    builtin({
      group: "apps",
      version: "v1",
      kind: "DaemonSet",
      resource: "daemonsets",
      schema: "V1DaemonSet",
      namespaced: true,
      shortNames: ["ds"],
      categories: ["all"],
      statusSubresource: true,
      tracksGeneration: true,
      strategy: daemonSetStrategy,
    }),
    ...["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].map((kind) =>
      builtin({
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind,
        resource: `${kind.toLowerCase()}s`,
        schema: `V1${kind}`,
        namespaced: !kind.startsWith("Cluster"),
        strategy: kind.endsWith("Binding") ? bindingStrategy : {},
      }),
    ),
    builtin({
      group: "policy",
      version: "v1",
      kind: "PodDisruptionBudget",
      resource: "poddisruptionbudgets",
      schema: "V1PodDisruptionBudget",
      namespaced: true,
      shortNames: ["pdb"],
      statusSubresource: true,
      tracksGeneration: true,
      strategy: pdbStrategy,
    }),
    builtin({
      group: "networking.k8s.io",
      version: "v1",
      kind: "NetworkPolicy",
      resource: "networkpolicies",
      schema: "V1NetworkPolicy",
      namespaced: true,
      shortNames: ["netpol"],
      tracksGeneration: true,
    }),
    builtin({
      group: "admissionregistration.k8s.io",
      version: "v1",
      kind: "ValidatingAdmissionPolicy",
      resource: "validatingadmissionpolicies",
      schema: "V1ValidatingAdmissionPolicy",
      namespaced: false,
      categories: ["api-extensions"],
      statusSubresource: true,
      tracksGeneration: true,
      strategy: validatingAdmissionPolicyStrategy,
    }),
    builtin({
      group: "admissionregistration.k8s.io",
      version: "v1",
      kind: "ValidatingAdmissionPolicyBinding",
      resource: "validatingadmissionpolicybindings",
      schema: "V1ValidatingAdmissionPolicyBinding",
      namespaced: false,
      categories: ["api-extensions"],
      tracksGeneration: true,
      strategy: validatingAdmissionPolicyBindingStrategy,
    }),
  ];
}
