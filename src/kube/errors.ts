import { ApiException } from "@kubernetes/client-node";
import { AzidError, type ErrorCode } from "../util/errors.js";

/**
 * An answer of the API server other than success, with the HTTP status as `code` (what the error
 * policy and callers test: 404, 409, 410, 422) and the Status object's `reason`.
 */
export class KubeApiError extends AzidError {
  override readonly name = "KubeApiError";
  readonly errorCode = "kube.ApiError";

  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bad configuration of the Kubernetes client (no kubeconfig, an unsupported resource). */
export class KubeConfigError extends AzidError {
  override readonly name = "KubeConfigError";
  readonly errorCode = "kube.InvalidConfig";
  readonly code = "KubeConfigInvalid";
}

/** A failure of the Kubernetes machinery itself (a watch, the leader Lease) an operator can meet. */
export class KubeError extends AzidError {
  override readonly name = "KubeError";
  readonly errorCode: ErrorCode;
  constructor(
    readonly code: "WatchClosed" | "LeadershipLost",
    message: string,
  ) {
    super(message);
    this.errorCode = `kube.${code}`;
  }
}

interface StatusBody {
  reason?: string;
  message?: string;
}

function statusBody(body: unknown): StatusBody {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body };
    }
  }
  return typeof body === "object" && body !== null ? (body as StatusBody) : {};
}

/** Turns client-node's ApiException into a KubeApiError; anything else (a dropped connection) is returned as is. */
export function toKubeError(error: unknown, what: string): unknown {
  if (!(error instanceof ApiException)) return error;
  const status = statusBody(error.body);
  const message = status.message ?? error.message;
  return new KubeApiError(error.code, status.reason ?? "Unknown", `${what}: ${message}`, { cause: error });
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 409;
}

/** A JSON patch whose `test` failed (the object changed under us), or a stale resourceVersion. */
export function isPreconditionFailure(error: unknown): boolean {
  return error instanceof KubeApiError && (error.code === 409 || error.code === 422);
}
