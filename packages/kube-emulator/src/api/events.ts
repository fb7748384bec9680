// core/v1 Event and events.k8s.io/v1 Event are one stored resource served in two shapes
// (pkg/apis/events/v1 conversion): events are stored in the core shape and converted on
// the way in and out of events.k8s.io.
import { type FieldError, fieldErrors } from "../errors.js";
import type { JsonObject } from "../json.js";
import { isObject } from "../json.js";
import { at } from "./printers.js";

/** events.k8s.io/v1 field name -> core/v1 field name. */
const RENAMED: [string, string][] = [
  ["regarding", "involvedObject"],
  ["note", "message"],
  ["reportingController", "reportingComponent"],
  ["deprecatedSource", "source"],
  ["deprecatedFirstTimestamp", "firstTimestamp"],
  ["deprecatedLastTimestamp", "lastTimestamp"],
  ["deprecatedCount", "count"],
];

function rename(object: JsonObject, pairs: [string, string][], apiVersion: string): JsonObject {
  const out: JsonObject = {};
  const names = new Map(pairs);
  for (const [key, value] of Object.entries(object)) out[names.get(key) ?? key] = value;
  out.apiVersion = apiVersion;
  return out;
}

export function eventsV1ToCore(object: JsonObject): JsonObject {
  return rename(object, RENAMED, "v1");
}

export function coreToEventsV1(object: JsonObject): JsonObject {
  return rename(
    object,
    RENAMED.map(([v1, core]) => [core, v1]),
    "events.k8s.io/v1",
  );
}

export const EVENTS_V1_FIELD_LABELS: Record<string, string> = {
  "regarding.kind": "involvedObject.kind",
  "regarding.namespace": "involvedObject.namespace",
  "regarding.name": "involvedObject.name",
  "regarding.uid": "involvedObject.uid",
  "regarding.apiVersion": "involvedObject.apiVersion",
  "regarding.resourceVersion": "involvedObject.resourceVersion",
  "regarding.fieldPath": "involvedObject.fieldPath",
  reportingController: "reportingComponent",
};

/** The fields core/v1 events can be selected by (pkg/registry/core/event ToSelectableFields). */
export function eventSelectableFields(event: JsonObject): Record<string, string> {
  const involved = (name: string): string => String(at(event, "involvedObject", name) ?? "");
  return {
    "involvedObject.kind": involved("kind"),
    "involvedObject.namespace": involved("namespace"),
    "involvedObject.name": involved("name"),
    "involvedObject.uid": involved("uid"),
    "involvedObject.apiVersion": involved("apiVersion"),
    "involvedObject.resourceVersion": involved("resourceVersion"),
    "involvedObject.fieldPath": involved("fieldPath"),
    reason: String(event.reason ?? ""),
    reportingComponent: String(event.reportingComponent ?? ""),
    source: String(at(event, "source", "component") ?? ""),
    type: String(event.type ?? ""),
  };
}

const EVENT_TYPES = ["Normal", "Warning"];

/** ValidateEventCreate/Update for events written through core/v1. */
export function validateCoreEvent(event: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const namespace = at(event, "metadata", "namespace");
  const involvedNamespace = at(event, "involvedObject", "namespace");
  if (typeof involvedNamespace === "string" && involvedNamespace !== "" && involvedNamespace !== namespace) {
    errors.push(
      fieldErrors.invalid("involvedObject.namespace", involvedNamespace, "does not match event.namespace"),
    );
  }
  if (typeof event.type === "string" && event.type !== "" && !EVENT_TYPES.includes(event.type)) {
    errors.push(fieldErrors.notSupported("type", event.type, EVENT_TYPES));
  }
  return errors;
}

/** events.k8s.io/v1 asks more of a new event than core/v1 does (the fields of the new API are required). */
export function validateEventsV1(event: JsonObject): FieldError[] {
  const errors = validateCoreEvent(event);
  if (!event.eventTime) errors.push(fieldErrors.required("eventTime"));
  if (!event.reportingComponent) errors.push(fieldErrors.required("reportingController"));
  if (!event.reportingInstance) errors.push(fieldErrors.required("reportingInstance"));
  if (!event.action) errors.push(fieldErrors.required("action"));
  if (!event.reason) errors.push(fieldErrors.required("reason"));
  if (!event.type) errors.push(fieldErrors.required("type"));
  if (typeof event.message === "string" && event.message.length > 1024)
    errors.push(fieldErrors.tooLong("note", 1024));
  if (isObject(event.series) && !at(event, "series", "lastObservedTime")) {
    errors.push(fieldErrors.required("series.lastObservedTime"));
  }
  return errors;
}
