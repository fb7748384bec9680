// CustomResourceDefinitions: the validation and status handling of the CRD strategy, and
// the resource type a CRD serves (apiextensions-apiserver's registry and crdHandler).
import { type FieldError, fieldErrors } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { isObject } from "../json.js";
import { checkCelRules, checkStructuralSchema, type JsonSchemaProps } from "../schema/index.js";
import { customResourceType as customResourceTypeNode } from "./builtin-schemas.js";
import { JsonPath } from "./jsonpath.js";
import { at, customResourceColumns } from "./printers.js";
import { type ResourceType, type ResourceVersion, STANDARD_VERBS, type Strategy } from "./resource-type.js";
import { validateName } from "./validation.js";

export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

function versions(crd: JsonObject): JsonObject[] {
  const list = at(crd, "spec", "versions");
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function storageVersionOf(crd: JsonObject): string | undefined {
  const storage = versions(crd).find((v) => v.storage === true);
  return typeof storage?.name === "string" ? storage.name : undefined;
}

function validateNames(names: JsonValue | undefined, errors: FieldError[]): void {
  const n = isObject(names) ? names : {};
  const lowercaseLabel = (field: string, value: JsonValue | undefined, required: boolean): void => {
    if (value === undefined || value === "") {
      if (required) errors.push(fieldErrors.required(`spec.names.${field}`));
      return;
    }
    for (const error of validateName("label", String(value), `spec.names.${field}`)) errors.push(error);
  };
  lowercaseLabel("plural", n.plural, true);
  lowercaseLabel("singular", n.singular, false);
  if (!n.kind) errors.push(fieldErrors.required("spec.names.kind"));
  if (typeof n.kind === "string" && n.kind !== "" && !/^[A-Za-z][A-Za-z0-9]*$/.test(n.kind)) {
    errors.push(
      fieldErrors.invalid(
        "spec.names.kind",
        n.kind,
        "a DNS-1035 label (with upper case letters allowed) is expected",
      ),
    );
  }
  if (Array.isArray(n.shortNames)) {
    n.shortNames.forEach((short, index) => {
      for (const error of validateName("label", String(short), `spec.names.shortNames[${index}]`))
        errors.push(error);
    });
  }
}

/** ValidateCustomResourceDefinition, with the schema engine's structural and CEL checks. */
export function validateCrd(crd: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isObject(crd.spec) ? crd.spec : {};
  const group = typeof spec.group === "string" ? spec.group : "";
  const plural = String(at(crd, "spec", "names", "plural") ?? "");
  const name = String(at(crd, "metadata", "name") ?? "");
  if (name !== `${plural}.${group}`) {
    errors.push(fieldErrors.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (!group) errors.push(fieldErrors.required("spec.group"));
  else if (!group.includes("."))
    errors.push(fieldErrors.invalid("spec.group", group, "should be a domain with at least one dot"));
  else errors.push(...validateName("subdomain", group, "spec.group"));
  validateNames(spec.names, errors);
  if (spec.scope !== "Cluster" && spec.scope !== "Namespaced") {
    errors.push(fieldErrors.notSupported("spec.scope", spec.scope ?? "", ["Cluster", "Namespaced"]));
  }
  const list = versions(crd);
  if (list.length === 0)
    errors.push(
      fieldErrors.invalid("spec.versions", [], "must have exactly one version marked as storage version"),
    );
  const seen = new Set<string>();
  let storageCount = 0;
  list.forEach((version, index) => {
    const field = `spec.versions[${index}]`;
    const versionName = String(version.name ?? "");
    if (!versionName) errors.push(fieldErrors.required(`${field}.name`));
    else errors.push(...validateName("label1035", versionName, `${field}.name`));
    if (seen.has(versionName))
      errors.push(fieldErrors.invalid(`${field}.name`, versionName, "must be unique"));
    seen.add(versionName);
    if (version.storage === true) storageCount++;
    const schema = at(version, "schema", "openAPIV3Schema");
    if (!isObject(schema)) {
      errors.push(fieldErrors.required(`${field}.schema.openAPIV3Schema`, "schemas are required"));
    } else {
      const prefix = `${field}.schema.openAPIV3Schema`;
      for (const cause of checkStructuralSchema(schema, prefix))
        errors.push({ type: cause.reason, field: cause.field, message: cause.message });
      for (const cause of checkCelRules(schema, prefix))
        errors.push({ type: cause.reason, field: cause.field, message: cause.message });
    }
  });
  if (list.length > 0 && storageCount !== 1) {
    errors.push(
      fieldErrors.invalid(
        "spec.versions",
        list.map((v) => String(v.name)),
        "must have exactly one version marked as storage version",
      ),
    );
  }
  if (list.length > 0 && !list.some((v) => v.served === true)) {
    errors.push(
      fieldErrors.invalid(
        "spec.versions",
        list.map((v) => String(v.name)),
        "must contain at least one version marked as served",
      ),
    );
  }
  if (old) {
    if (at(old, "spec", "scope") !== spec.scope)
      errors.push(fieldErrors.invalid("spec.scope", spec.scope ?? "", "field is immutable"));
    const storedVersions = at(crd, "status", "storedVersions");
    if (Array.isArray(storedVersions)) {
      storedVersions.forEach((stored, index) => {
        if (!seen.has(String(stored))) {
          errors.push(
            fieldErrors.invalid(`status.storedVersions[${index}]`, stored, "must appear in spec.versions"),
          );
        }
      });
    }
  }
  return errors;
}

export const crdStrategy: Strategy = {
  prepareForCreate(crd) {
    const storage = storageVersionOf(crd);
    crd.status = {
      acceptedNames: { kind: "", plural: "" },
      conditions: [],
      storedVersions: storage ? [storage] : [],
    };
  },
  prepareForUpdate(crd, old) {
    const status = isObject(old.status) ? structuredClone(old.status) : {};
    const storage = storageVersionOf(crd);
    const stored = Array.isArray(status.storedVersions) ? status.storedVersions : [];
    if (storage && !stored.includes(storage)) status.storedVersions = [...stored, storage];
    crd.status = status;
  },
  validate: validateCrd,
  beforeDelete(crd, now) {
    const meta = crd.metadata as JsonObject;
    if (meta.deletionTimestamp) return;
    const finalizers = Array.isArray(meta.finalizers) ? meta.finalizers : [];
    if (!finalizers.includes(CRD_CLEANUP_FINALIZER)) meta.finalizers = [...finalizers, CRD_CLEANUP_FINALIZER];
    setCrdCondition(
      crd,
      {
        type: "Terminating",
        status: "True",
        reason: "InstanceDeletionPending",
        message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
      },
      now,
    );
  },
};

/** The names a CRD asks for, with the defaults the API server fills in. */
export function requestedNames(crd: JsonObject): JsonObject {
  const names = isObject(at(crd, "spec", "names")) ? (at(crd, "spec", "names") as JsonObject) : {};
  const kind = String(names.kind ?? "");
  const accepted: JsonObject = {
    plural: String(names.plural ?? ""),
    singular: String(names.singular ?? kind.toLowerCase()),
    kind,
    listKind: String(names.listKind ?? `${kind}List`),
  };
  if (Array.isArray(names.shortNames)) accepted.shortNames = names.shortNames;
  if (Array.isArray(names.categories)) accepted.categories = names.categories;
  return accepted;
}

export function crdCondition(crd: JsonObject, type: string): JsonObject | undefined {
  const conditions = at(crd, "status", "conditions");
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c): c is JsonObject => isObject(c) && c.type === type);
}

/** Sets a condition, keeping lastTransitionTime when the status does not change. */
export function setCrdCondition(crd: JsonObject, condition: JsonObject, now: string): void {
  const status = isObject(crd.status) ? crd.status : {};
  crd.status = status;
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
  const existing = conditions.find((c) => c.type === condition.type);
  const keep = existing !== undefined && existing.status === condition.status && existing.lastTransitionTime;
  const next = { ...condition, lastTransitionTime: keep ? existing.lastTransitionTime! : now };
  status.conditions = existing ? conditions.map((c) => (c === existing ? next : c)) : [...conditions, next];
}

const VERSION_PATTERN = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** Kubernetes' version priority: GA before beta before alpha, higher numbers first, others last by name. */
export function compareKubeVersions(a: string, b: string): number {
  const pa = VERSION_PATTERN.exec(a);
  const pb = VERSION_PATTERN.exec(b);
  if (!pa || !pb) {
    if (pa) return -1;
    if (pb) return 1;
    return a.localeCompare(b);
  }
  const rank = (m: RegExpExecArray): number => (m[2] === undefined ? 2 : m[2] === "beta" ? 1 : 0);
  return rank(pb) - rank(pa) || Number(pb[1]) - Number(pa[1]) || Number(pb[3] ?? 0) - Number(pa[3] ?? 0);
}

function selectableFieldsOf(
  version: JsonObject | undefined,
): ((object: JsonObject) => Record<string, string>) | undefined {
  const declared = version?.selectableFields;
  if (!Array.isArray(declared) || declared.length === 0) return undefined;
  const paths = declared
    .filter(isObject)
    .map((field) => String(field.jsonPath ?? ""))
    .filter((path) => path.startsWith("."))
    .map((path) => ({ name: path.slice(1), path: new JsonPath(path) }));
  return (object) => {
    const fields: Record<string, string> = {};
    for (const { name, path } of paths) {
      const [value] = path.find(object);
      fields[name] =
        value === undefined || value === null
          ? ""
          : typeof value === "string"
            ? value
            : JSON.stringify(value);
    }
    return fields;
  };
}

/** The resource type an established CRD serves. */
export function customResourceTypeOf(crd: JsonObject): ResourceType {
  const names = requestedNames(crd);
  const group = String(at(crd, "spec", "group") ?? "");
  const kind = String(names.kind);
  const served = versions(crd)
    .filter((v) => v.served === true)
    .sort((a, b) => compareKubeVersions(String(a.name), String(b.name)));
  const storageName = storageVersionOf(crd) ?? String(served[0]?.name ?? "");
  const storage = versions(crd).find((v) => v.name === storageName);
  const resourceVersions: ResourceVersion[] = served.map((v) => {
    const schema = at(v, "schema", "openAPIV3Schema");
    const version: ResourceVersion = {
      name: String(v.name),
      type: customResourceTypeNode(isObject(schema) ? schema : undefined),
      columns: customResourceColumns(v.additionalPrinterColumns),
    };
    if (isObject(schema)) version.schema = schema as JsonSchemaProps;
    if (v.deprecated === true) {
      version.deprecationWarning =
        typeof v.deprecationWarning === "string"
          ? v.deprecationWarning
          : `${group}/${String(v.name)} ${kind} is deprecated`;
    }
    return version;
  });
  const type: ResourceType = {
    group,
    versions: resourceVersions,
    storageVersion: storageName,
    resource: String(names.plural),
    singular: String(names.singular),
    kind,
    listKind: String(names.listKind),
    namespaced: at(crd, "spec", "scope") === "Namespaced",
    shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : [],
    categories: Array.isArray(names.categories) ? names.categories.map(String) : [],
    verbs: STANDARD_VERBS,
    storeId: `${group}/${String(names.plural)}`,
    statusSubresource: isObject(at(storage ?? {}, "subresources", "status")),
    tracksGeneration: true,
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: false,
    returnDeletedObject: false,
    nameRule: "subdomain",
    strategy: {},
    crdName: String(at(crd, "metadata", "name") ?? ""),
  };
  const scale = at(storage ?? {}, "subresources", "scale");
  const withScale: ResourceType =
    isObject(scale) &&
    typeof scale.specReplicasPath === "string" &&
    typeof scale.statusReplicasPath === "string"
      ? {
          ...type,
          scale: {
            specReplicasPath: scale.specReplicasPath,
            statusReplicasPath: scale.statusReplicasPath,
            ...(typeof scale.labelSelectorPath === "string"
              ? { labelSelectorPath: scale.labelSelectorPath }
              : {}),
          },
        }
      : type;
  const selectable = selectableFieldsOf(storage);
  return selectable ? { ...withScale, selectableFields: selectable } : withScale;
}
