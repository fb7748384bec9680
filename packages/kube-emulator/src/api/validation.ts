// Object metadata validation as k8s.io/apimachinery/pkg/api/validation words it.
import { type FieldError, fieldErrors } from "../errors.js";
import { isObject } from "../json.js";
import type { ObjectMeta } from "../objects.js";
import type { NameRule } from "./resource-type.js";

const DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?";
const QUALIFIED_NAME_PART = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";

const RULES: Record<NameRule, { regex: RegExp; max: number; message: string }> = {
  subdomain: {
    regex: new RegExp(`^${DNS1123_SUBDOMAIN}$`),
    max: 253,
    message: `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${DNS1123_SUBDOMAIN}')`,
  },
  label: {
    regex: new RegExp(`^${DNS1123_LABEL}$`),
    max: 63,
    message: `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${DNS1123_LABEL}')`,
  },
  label1035: {
    regex: new RegExp(`^${DNS1035_LABEL}$`),
    max: 63,
    message: `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${DNS1035_LABEL}')`,
  },
};

export function validateName(rule: NameRule, name: string, field = "metadata.name"): FieldError[] {
  const { regex, max, message } = RULES[rule];
  const errors: FieldError[] = [];
  if (name.length > max)
    errors.push(fieldErrors.invalid(field, name, `must be no more than ${max} characters`));
  if (!regex.test(name)) errors.push(fieldErrors.invalid(field, name, message));
  return errors;
}

/** A qualified name: an optional DNS subdomain prefix and a slash, then a name part of at most 63 characters. */
export function validateQualifiedName(value: string, field: string): FieldError[] {
  const slash = value.indexOf("/");
  const prefix = slash >= 0 ? value.slice(0, slash) : "";
  const name = slash >= 0 ? value.slice(slash + 1) : value;
  const errors: FieldError[] = [];
  if (slash >= 0 && (prefix.length === 0 || prefix.length > 253 || !RULES.subdomain.regex.test(prefix))) {
    errors.push(fieldErrors.invalid(field, value, `prefix part ${RULES.subdomain.message}`));
  }
  if (name.length === 0 || name.length > 63 || !new RegExp(`^${QUALIFIED_NAME_PART}$`).test(name)) {
    errors.push(
      fieldErrors.invalid(
        field,
        value,
        `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QUALIFIED_NAME_PART}')`,
      ),
    );
  }
  return errors;
}

const LABEL_VALUE_REGEX = new RegExp(`^${LABEL_VALUE}$`);
const TOTAL_ANNOTATION_SIZE = 256 * 1024;

function validateLabels(labels: unknown): FieldError[] {
  if (!isObject(labels)) return [];
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels)) {
    errors.push(...validateQualifiedName(key, "metadata.labels"));
    const text = String(value);
    if (text.length > 63 || !LABEL_VALUE_REGEX.test(text)) {
      errors.push(
        fieldErrors.invalid(
          "metadata.labels",
          text,
          `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '${LABEL_VALUE}')`,
        ),
      );
    }
  }
  return errors;
}

function validateAnnotations(annotations: unknown): FieldError[] {
  if (!isObject(annotations)) return [];
  const errors: FieldError[] = [];
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    errors.push(...validateQualifiedName(key.toLowerCase(), "metadata.annotations"));
    size += key.length + String(value).length;
  }
  if (size > TOTAL_ANNOTATION_SIZE) {
    errors.push({
      type: "FieldValueTooLong",
      field: "metadata.annotations",
      message: `Too long: may not be more than ${TOTAL_ANNOTATION_SIZE} bytes`,
    });
  }
  return errors;
}

function validateFinalizers(finalizers: unknown): FieldError[] {
  if (!Array.isArray(finalizers)) return [];
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  finalizers.forEach((finalizer, index) => {
    const field = `metadata.finalizers[${index}]`;
    const name = String(finalizer);
    errors.push(...validateQualifiedName(name, field));
    if (seen.has(name)) errors.push(fieldErrors.duplicate(field, name));
    seen.add(name);
  });
  return errors;
}

/** ValidateObjectMeta: the name (or generateName), labels, annotations and finalizers. */
export function validateObjectMeta(meta: ObjectMeta, rule: NameRule, namespaced: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (!meta.name) {
    errors.push(fieldErrors.required("metadata.name", "name or generateName is required"));
  } else {
    errors.push(...validateName(rule, meta.name));
  }
  if (namespaced && !meta.namespace) errors.push(fieldErrors.required("metadata.namespace"));
  if (!namespaced && meta.namespace) {
    errors.push(fieldErrors.forbidden("metadata.namespace", "not allowed on this type"));
  }
  errors.push(...validateLabels(meta.labels));
  errors.push(...validateAnnotations(meta.annotations));
  errors.push(...validateFinalizers(meta.finalizers));
  return errors;
}

const IMMUTABLE_META = ["name", "namespace", "uid", "creationTimestamp"] as const;

/** ValidateObjectMetaUpdate: identity fields are immutable; no new finalizers while deleting. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of IMMUTABLE_META) {
    if ((meta[field] ?? "") !== (old[field] ?? "")) {
      errors.push(fieldErrors.invalid(`metadata.${field}`, meta[field] ?? "", "field is immutable"));
    }
  }
  if (old.deletionTimestamp) {
    const before = new Set(old.finalizers ?? []);
    const added = (meta.finalizers ?? []).filter((f) => !before.has(f));
    if (added.length > 0) {
      errors.push(
        fieldErrors.forbidden(
          "metadata.finalizers",
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(", ")}}`,
        ),
      );
    }
  }
  return errors;
}
