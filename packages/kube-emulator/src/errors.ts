// Kubernetes API errors: every non-2xx answer is a metav1.Status built the way
// k8s.io/apimachinery/pkg/api/errors builds it, so client-go and client-node recognise it.

/** One cause in a Status's details (metav1.StatusCause); `reason` is its `type` in Go. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: { resourceVersion?: string; continue?: string };
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A Kubernetes API error carrying the Status the server answers with. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  readonly continueToken: string | undefined;

  constructor(
    code: number,
    reason: string,
    message: string,
    details?: StatusDetails,
    continueToken?: string,
  ) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.continueToken = continueToken;
  }

  toStatus(): Status {
    const status: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: this.continueToken ? { continue: this.continueToken } : {},
      status: "Failure",
      message: this.message,
      code: this.code,
    };
    if (this.reason) status.reason = this.reason;
    if (this.details) status.details = this.details;
    return status;
  }
}

/** Group and resource, as errors name them: `widgets.example.com` or `configmaps`. */
export interface GroupResource {
  group: string;
  resource: string;
}

export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

/** Group and kind, as Invalid errors name them: `Widget.example.com` or `ConfigMap`. */
export interface GroupKind {
  group: string;
  kind: string;
}

function qualifiedKind(gk: GroupKind): string {
  return gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualifiedResource(gr)} "${name}" not found`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

/** The answer for a path the server does not serve at all. */
export function pathNotFound(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualifiedResource(gr)} "${name}" already exists`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

export const OBJECT_MODIFIED =
  "the object has been modified; please apply your changes to the latest version and try again";

export function conflict(gr: GroupResource, name: string, why: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`,
    { name, group: gr.group, kind: gr.resource },
  );
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

export function forbidden(gr: GroupResource, name: string, why: string, causes?: StatusCause[]): ApiError {
  const subject = name ? `${qualifiedResource(gr)} "${name}"` : qualifiedResource(gr);
  const details: StatusDetails = { name, group: gr.group, kind: gr.resource };
  if (causes) details.causes = causes;
  return new ApiError(403, "Forbidden", `${subject} is forbidden: ${why}`, details);
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
    {},
  );
}

export function notAcceptable(accepted: string[]): ApiError {
  return new ApiError(
    406,
    "NotAcceptable",
    `only the following media types are accepted: ${accepted.join(", ")}`,
  );
}

export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
    { causes: [{ reason: "UnsupportedMediaType", message: contentType }] },
  );
}

export function expired(message: string, continueToken?: string): ApiError {
  return new ApiError(410, "Expired", message, undefined, continueToken);
}

export function internalError(message: string): ApiError {
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

/** A plain error the storage layer raises; the server answers 500 with no reason, as Go's ErrorToAPIStatus does. */
export function unknownError(message: string): ApiError {
  return new ApiError(500, "", message);
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(503, "ServiceUnavailable", message);
}

export function tooLargeResourceVersion(requested: number, current: number): ApiError {
  return new ApiError(
    504,
    "Timeout",
    `Timeout: Too large resource version: ${requested}, current: ${current}`,
    {
      causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      retryAfterSeconds: 1,
    },
  );
}

// ---- field errors (k8s.io/apimachinery/pkg/util/validation/field) ----

export type FieldErrorType =
  | "FieldValueRequired"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueForbidden"
  | "FieldValueDuplicate"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "FieldValueTypeInvalid";

/** A field error: `field` is a path like `metadata.name`, `message` is the ErrorBody. */
export interface FieldError {
  type: FieldErrorType | string;
  field: string;
  message: string;
}

/** Renders a value as Go's %#v would for the simple values field errors carry. */
export function goValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export const fieldErrors = {
  required(field: string, detail = ""): FieldError {
    return {
      type: "FieldValueRequired",
      field,
      message: detail ? `Required value: ${detail}` : "Required value",
    };
  },
  invalid(field: string, value: unknown, detail: string): FieldError {
    return {
      type: "FieldValueInvalid",
      field,
      message: `Invalid value: ${goValue(value)}${detail ? `: ${detail}` : ""}`,
    };
  },
  notSupported(field: string, value: unknown, supported: string[]): FieldError {
    return {
      type: "FieldValueNotSupported",
      field,
      message: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`,
    };
  },
  forbidden(field: string, detail: string): FieldError {
    return { type: "FieldValueForbidden", field, message: `Forbidden: ${detail}` };
  },
  duplicate(field: string, value: unknown): FieldError {
    return { type: "FieldValueDuplicate", field, message: `Duplicate value: ${goValue(value)}` };
  },
  tooLong(field: string, max: number): FieldError {
    return { type: "FieldValueTooLong", field, message: `Too long: may not be more than ${max} bytes` };
  },
};

/** 422 Invalid with one cause per field error, worded as errors.NewInvalid words it. */
export function invalid(gk: GroupKind, name: string, errors: FieldError[]): ApiError {
  const rendered = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  const summary =
    rendered.length === 0 ? "" : rendered.length === 1 ? `: ${rendered[0]}` : `: [${rendered.join(", ")}]`;
  return new ApiError(422, "Invalid", `${qualifiedKind(gk)} "${name}" is invalid${summary}`, {
    name,
    group: gk.group,
    kind: gk.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

/** The 422 a failed JSON patch operation gets (patch.go uses NewGenericServerResponse). */
export function patchRejected(): ApiError {
  return new ApiError(422, "Invalid", "the server rejected our request due to an error in our request", {});
}
