// The server-side printers behind `kubectl get`: the Table columns of each built-in kind
// (as pkg/printers/internalversion defines them) and of a CRD's additionalPrinterColumns.
import type { JsonObject, JsonValue } from "../json.js";
import { isObject } from "../json.js";
import { humanDuration, parseRfc3339 } from "../time.js";
import { JsonPath } from "./jsonpath.js";
import type { PrinterColumn } from "./resource-type.js";

type Cell = (object: JsonObject, now: number) => unknown;

function column(name: string, cell: Cell, options: Partial<PrinterColumn> = {}): PrinterColumn {
  return { name, type: "string", description: name, priority: 0, cell, ...options };
}

/** Reads a nested field: at(obj, "spec", "replicas"). */
export function at(value: JsonValue | undefined, ...path: (string | number)[]): JsonValue | undefined {
  let current = value;
  for (const key of path) {
    if (typeof key === "number") current = Array.isArray(current) ? current[key] : undefined;
    else current = isObject(current) ? current[key] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

function text(value: JsonValue | undefined, fallback = "<none>"): string {
  if (value === undefined || value === null || value === "") return fallback;
  return typeof value === "string" ? value : JSON.stringify(value);
}

function count(value: JsonValue | undefined): number {
  if (Array.isArray(value)) return value.length;
  return isObject(value) ? Object.keys(value).length : 0;
}

export function age(timestamp: JsonValue | undefined, now: number): string {
  if (typeof timestamp !== "string") return "<unknown>";
  const parsed = parseRfc3339(timestamp);
  return parsed ? humanDuration(now - parsed.date.getTime()) : "<unknown>";
}

export const NAME_COLUMN = column("Name", (o) => at(o, "metadata", "name") ?? "", {
  format: "name",
  description: "Name must be unique within a namespace.",
});

const AGE_COLUMN = column("Age", (o, now) => age(at(o, "metadata", "creationTimestamp"), now), {
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
});

const CREATED_AT = column("Created At", (o) => text(at(o, "metadata", "creationTimestamp")), {
  type: "date",
});

function labelSelectorText(selector: JsonValue | undefined): string {
  if (!isObject(selector)) return "<none>";
  const parts: string[] = [];
  const labels = selector.matchLabels;
  if (isObject(labels)) for (const [k, v] of Object.entries(labels)) parts.push(`${k}=${String(v)}`);
  const expressions = selector.matchExpressions;
  if (Array.isArray(expressions)) {
    for (const e of expressions) {
      if (!isObject(e)) continue;
      const values = Array.isArray(e.values) ? e.values.join(",") : "";
      const op = String(e.operator ?? "");
      parts.push(
        op === "Exists"
          ? String(e.key)
          : op === "DoesNotExist"
            ? `!${String(e.key)}`
            : `${String(e.key)} ${op.toLowerCase()} (${values})`,
      );
    }
  }
  return parts.length > 0 ? parts.join(",") : "<none>";
}

function eventLastSeen(o: JsonObject, now: number): string {
  const last =
    at(o, "series", "lastObservedTime") ??
    at(o, "lastTimestamp") ??
    at(o, "eventTime") ??
    at(o, "firstTimestamp");
  return age(last, now);
}

function bindingSubjects(kind: string): Cell {
  return (o) => {
    const subjects = at(o, "subjects");
    if (!Array.isArray(subjects)) return "";
    return subjects
      .filter((s) => isObject(s) && s.kind === kind)
      .map((s) => {
        const subject = s as JsonObject;
        return kind === "ServiceAccount"
          ? `${String(subject.namespace ?? "")}/${String(subject.name)}`
          : String(subject.name);
      })
      .join(", ");
  };
}

const BINDING_COLUMNS = [
  NAME_COLUMN,
  column(
    "Role",
    (o) => `${String(at(o, "roleRef", "kind") ?? "")}/${String(at(o, "roleRef", "name") ?? "")}`,
  ),
  AGE_COLUMN,
  column("Users", bindingSubjects("User"), { priority: 1 }),
  column("Groups", bindingSubjects("Group"), { priority: 1 }),
  column("ServiceAccounts", bindingSubjects("ServiceAccount"), { priority: 1 }),
];

const EVENT_COLUMNS = [
  column("Last Seen", eventLastSeen),
  column("Type", (o) => text(at(o, "type"), "")),
  column("Reason", (o) => text(at(o, "reason"), "")),
  column("Object", (o) => {
    const kind = String(at(o, "involvedObject", "kind") ?? "").toLowerCase();
    return `${kind}/${String(at(o, "involvedObject", "name") ?? "")}`;
  }),
  column("Subobject", (o) => text(at(o, "involvedObject", "fieldPath"), ""), { priority: 1 }),
  column("Source", (o) => text(at(o, "source", "component") ?? at(o, "reportingComponent"), ""), {
    priority: 1,
  }),
  column("Message", (o) => text(at(o, "message"), "")),
  column("First Seen", (o, now) => age(at(o, "firstTimestamp") ?? at(o, "eventTime"), now), { priority: 1 }),
  column("Count", (o) => at(o, "series", "count") ?? at(o, "count") ?? 1, { type: "integer", priority: 1 }),
  column("Name", (o) => at(o, "metadata", "name") ?? "", { priority: 1 }),
];

/** Columns of the built-in kinds, by "group/Kind". */
export const BUILTIN_COLUMNS: Record<string, PrinterColumn[]> = {
  "/Namespace": [NAME_COLUMN, column("Status", (o) => text(at(o, "status", "phase"), "")), AGE_COLUMN],
  "/ConfigMap": [
    NAME_COLUMN,
    column("Data", (o) => count(at(o, "data")) + count(at(o, "binaryData")), { type: "integer" }),
    AGE_COLUMN,
  ],
  "/Secret": [
    NAME_COLUMN,
    column("Type", (o) => text(at(o, "type"), "")),
    column("Data", (o) => count(at(o, "data")), { type: "integer" }),
    AGE_COLUMN,
  ],
  "/ServiceAccount": [
    NAME_COLUMN,
    column("Secrets", (o) => count(at(o, "secrets")), { type: "integer" }),
    AGE_COLUMN,
  ],
  "/Service": [
    NAME_COLUMN,
    column("Type", (o) => text(at(o, "spec", "type"), "ClusterIP")),
    column("Cluster-IP", (o) => text(at(o, "spec", "clusterIP"))),
    column("External-IP", (o) => text(at(o, "spec", "externalIPs"))),
    column("Port(s)", (o) => {
      const ports = at(o, "spec", "ports");
      if (!Array.isArray(ports) || ports.length === 0) return "<none>";
      return ports.map((p) => `${String(at(p, "port"))}/${String(at(p, "protocol") ?? "TCP")}`).join(",");
    }),
    AGE_COLUMN,
    column(
      "Selector",
      (o) => {
        const selector = at(o, "spec", "selector");
        return isObject(selector)
          ? Object.entries(selector)
              .map(([k, v]) => `${k}=${String(v)}`)
              .join(",")
          : "<none>";
      },
      { priority: 1 },
    ),
  ],
  "/Event": EVENT_COLUMNS,
  "events.k8s.io/Event": EVENT_COLUMNS,
  "apps/Deployment": [
    NAME_COLUMN,
    column(
      "Ready",
      (o) => `${Number(at(o, "status", "readyReplicas") ?? 0)}/${Number(at(o, "spec", "replicas") ?? 0)}`,
    ),
    column("Up-to-date", (o) => Number(at(o, "status", "updatedReplicas") ?? 0), { type: "integer" }),
    column("Available", (o) => Number(at(o, "status", "availableReplicas") ?? 0), { type: "integer" }),
    AGE_COLUMN,
    column("Containers", (o) => containerField(o, "name"), { priority: 1 }),
    column("Images", (o) => containerField(o, "image"), { priority: 1 }),
    column("Selector", (o) => labelSelectorText(at(o, "spec", "selector")), { priority: 1 }),
  ],
  "apps/StatefulSet": [
    NAME_COLUMN,
    column(
      "Ready",
      (o) => `${Number(at(o, "status", "readyReplicas") ?? 0)}/${Number(at(o, "spec", "replicas") ?? 0)}`,
    ),
    AGE_COLUMN,
    column("Containers", (o) => containerField(o, "name"), { priority: 1 }),
    column("Images", (o) => containerField(o, "image"), { priority: 1 }),
  ],
  "coordination.k8s.io/Lease": [
    NAME_COLUMN,
    column("Holder", (o) => text(at(o, "spec", "holderIdentity"), "")),
    AGE_COLUMN,
  ],
  "apiextensions.k8s.io/CustomResourceDefinition": [NAME_COLUMN, CREATED_AT],
  "rbac.authorization.k8s.io/ClusterRole": [NAME_COLUMN, CREATED_AT],
  "rbac.authorization.k8s.io/Role": [NAME_COLUMN, CREATED_AT],
  "rbac.authorization.k8s.io/ClusterRoleBinding": BINDING_COLUMNS,
  "rbac.authorization.k8s.io/RoleBinding": BINDING_COLUMNS,
  "policy/PodDisruptionBudget": [
    NAME_COLUMN,
    column("Min Available", (o) => text(at(o, "spec", "minAvailable"), "N/A")),
    column("Max Unavailable", (o) => text(at(o, "spec", "maxUnavailable"), "N/A")),
    column("Allowed Disruptions", (o) => Number(at(o, "status", "disruptionsAllowed") ?? 0), {
      type: "integer",
    }),
    AGE_COLUMN,
  ],
  "networking.k8s.io/NetworkPolicy": [
    NAME_COLUMN,
    column("Pod-Selector", (o) => {
      const selector = labelSelectorText(at(o, "spec", "podSelector"));
      return selector === "<none>" ? "<none>" : selector;
    }),
    AGE_COLUMN,
  ],
  "admissionregistration.k8s.io/ValidatingAdmissionPolicy": [
    NAME_COLUMN,
    column("Validations", (o) => count(at(o, "spec", "validations")), { type: "integer" }),
    column("ParamKind", (o) => {
      const kind = at(o, "spec", "paramKind");
      return isObject(kind) ? `${String(kind.apiVersion)}/${String(kind.kind)}` : "<unset>";
    }),
    AGE_COLUMN,
  ],
  "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding": [
    NAME_COLUMN,
    column("PolicyName", (o) => text(at(o, "spec", "policyName"), "")),
    column("ParamRef", (o) => (isObject(at(o, "spec", "paramRef")) ? "*" : "<unset>")),
    AGE_COLUMN,
  ],
};

function containerField(o: JsonObject, field: string): string {
  const containers = at(o, "spec", "template", "spec", "containers");
  return Array.isArray(containers) ? containers.map((c) => String(at(c, field) ?? "")).join(",") : "";
}

/** A CRD version's additionalPrinterColumns, or Name and Age when it declares none. */
export function customResourceColumns(declared: JsonValue | undefined): PrinterColumn[] {
  if (!Array.isArray(declared)) return [NAME_COLUMN, AGE_COLUMN];
  const columns: PrinterColumn[] = [NAME_COLUMN];
  for (const raw of declared) {
    if (!isObject(raw) || typeof raw.jsonPath !== "string" || typeof raw.name !== "string") continue;
    const path = new JsonPath(raw.jsonPath);
    const type = typeof raw.type === "string" ? raw.type : "string";
    const printed: PrinterColumn = {
      name: raw.name,
      type,
      description: typeof raw.description === "string" ? raw.description : "",
      priority: typeof raw.priority === "number" ? raw.priority : 0,
      cell: (object, now) => {
        const [value] = path.find(object);
        return value === undefined ? null : customCell(type, value, now);
      },
    };
    if (typeof raw.format === "string") printed.format = raw.format;
    columns.push(printed);
  }
  return columns;
}

function customCell(type: string, value: JsonValue, now: number): unknown {
  switch (type) {
    case "integer":
      return typeof value === "number" ? Math.trunc(value) : null;
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    case "date":
      return typeof value === "string" && parseRfc3339(value) ? age(value, now) : null;
    default:
      return typeof value === "string" ? value : JSON.stringify(value);
  }
}
