import { RestError } from "@azure/core-rest-pipeline";
import { scrubSecrets } from "../observability/logger.js";
import { AzidError, type ErrorCode } from "../util/errors.js";

/**
 * Every failure that comes out of src/azure is one of these classes, so that the error
 * policy (src/engine/error-policy.ts) decides retries from types, never from strings.
 */
export class AzureError extends AzidError {
  override readonly name: string = "AzureError";
  readonly errorCode: ErrorCode = "azure.Failed";
  constructor(
    message: string,
    /** The ARM or Graph error code, e.g. "ResourceNotFound". */
    readonly code: string,
    /** The HTTP status, or 0 when no response arrived. */
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(scrubSecrets(message), options);
  }
}

/** 429 from ARM or Graph, or azid's own rate gate holding the call back before it was sent. */
export class ThrottledError extends AzureError {
  override readonly name: string = "ThrottledError";
  override readonly errorCode: ErrorCode = "azure.Throttled";
  constructor(
    message: string,
    readonly retryAfterMs: number,
    /** "arm" when Azure answered 429, "gate" when azid's own bucket was empty. */
    readonly source: "arm" | "gate",
  ) {
    super(message, "TooManyRequests", source === "arm" ? 429 : 0);
  }
}

/** 5xx, 408, a dropped connection: worth retrying with backoff. */
export class TransientError extends AzureError {
  override readonly name: string = "TransientError";
  override readonly errorCode: ErrorCode = "azure.Transient";
}

/** A long-running operation Azure has accepted but not finished; the key comes back later. */
export class OperationInProgressError extends TransientError {
  override readonly name: string = "OperationInProgressError";
  override readonly errorCode: ErrorCode = "azure.OperationInProgress";
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message, "OperationInProgress", 202);
  }
}

export class NotFoundError extends AzureError {
  override readonly name: string = "NotFoundError";
  override readonly errorCode: ErrorCode = "azure.NotFound";
}

/** AuthorizationFailed or LinkedAuthorizationFailed: azid's credential lacks `action` at `scope`. */
export class PermissionError extends AzureError {
  override readonly name: string = "PermissionError";
  override readonly errorCode: ErrorCode = "azure.PermissionDenied";
  constructor(
    message: string,
    code: string,
    readonly action: string | undefined,
    readonly scope: string | undefined,
  ) {
    super(message, code, 403);
  }
}

/** RequestDisallowedByPolicy: an Azure Policy assignment denies the request. */
export class PolicyDeniedError extends AzureError {
  override readonly name: string = "PolicyDeniedError";
  override readonly errorCode: ErrorCode = "azure.PolicyDenied";
  constructor(
    message: string,
    readonly policy: string | undefined,
  ) {
    super(message, "RequestDisallowedByPolicy", 403);
  }
}

/**
 * 401 InvalidAuthenticationTokenTenant: the token comes from another tenant than the
 * subscription's, as after a tenant move. Only a credential from the new tenant helps.
 */
export class CredentialTenantError extends AzureError {
  override readonly name: string = "CredentialTenantError";
  override readonly errorCode: ErrorCode = "azure.CredentialTenantMismatch";
}

/** Any other 401: the credential could not get or present a valid token. */
export class AuthenticationError extends AzureError {
  override readonly name: string = "AuthenticationError";
  override readonly errorCode: ErrorCode = "azure.AuthenticationFailed";
}

/**
 * PrincipalNotFound: the principal is not (yet) in the directory. Retryable shortly after
 * the principal was created (replication); permanent for a principal of another tenant.
 */
export class PrincipalNotFoundError extends AzureError {
  override readonly name: string = "PrincipalNotFoundError";
  override readonly errorCode: ErrorCode = "azure.PrincipalNotFound";
}

/** 409 RoleAssignmentExists: the same scope + role + principal exists under another name. */
export class RoleAssignmentExistsError extends AzureError {
  override readonly name: string = "RoleAssignmentExistsError";
  override readonly errorCode: ErrorCode = "azure.RoleAssignmentExists";
}

/** 409 other than RoleAssignmentExists: a concurrent write (e.g. two FIC writes under one identity). */
export class ConflictError extends AzureError {
  override readonly name: string = "ConflictError";
  override readonly errorCode: ErrorCode = "azure.Conflict";
}

/** A 400 that no retry fixes: the request itself is wrong for Azure (the spec must change). */
export class InvalidRequestError extends AzureError {
  override readonly name: string = "InvalidRequestError";
  override readonly errorCode: ErrorCode = "azure.InvalidRequest";
}

const PERMISSION_CODES = new Set([
  "AuthorizationFailed",
  "LinkedAuthorizationFailed",
  "Authorization_RequestDenied",
]);
const NOT_FOUND_CODES = new Set([
  "ResourceNotFound",
  "ResourceGroupNotFound",
  "NotFound",
  "SubscriptionNotFound",
  "RoleAssignmentNotFound",
  "RoleDefinitionDoesNotExist",
  "Request_ResourceNotFound",
  "ParentResourceNotFound",
]);

interface ErrorBody {
  code?: string;
  message?: string;
  additionalInfo?: Array<{ type?: string; info?: Record<string, unknown> }>;
}

/** Translates anything the SDK or a Graph call threw into an AzureError subclass. */
export function toAzureError(error: unknown): AzureError {
  if (error instanceof AzureError) return error;
  const identityError = fromIdentityError(error);
  if (identityError) return identityError;
  if (!(error instanceof RestError) && !isRestErrorLike(error)) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown })?.code;
    return new TransientError(message, typeof code === "string" ? code : "RequestFailed", 0, {
      cause: error,
    });
  }
  const status = error.statusCode ?? 0;
  const body = errorBody(error);
  const code = body.code ?? error.code ?? `Http${status}`;
  const message = body.message ?? error.message;

  if (status === 429 || code === "TooManyRequests") {
    return new ThrottledError(message, retryAfterMs(error) ?? 1000, "arm");
  }
  if (status === 0 || status === 408 || status >= 500) {
    return new TransientError(message, code, status, { cause: error });
  }
  if (status === 401) {
    return code === "InvalidAuthenticationTokenTenant"
      ? new CredentialTenantError(message, code, status)
      : new AuthenticationError(message, code, status);
  }
  if (code === "RequestDisallowedByPolicy") return new PolicyDeniedError(message, policyName(body));
  if (status === 403 || PERMISSION_CODES.has(code)) {
    const { action, scope } = parseAuthorizationMessage(message);
    return new PermissionError(message, code, action, scope);
  }
  if (status === 404 || NOT_FOUND_CODES.has(code)) return new NotFoundError(message, code, status);
  if (code === "PrincipalNotFound") return new PrincipalNotFoundError(message, code, status);
  if (code === "RoleAssignmentExists") return new RoleAssignmentExistsError(message, code, status);
  if (status === 409) return new ConflictError(message, code, status);
  return new InvalidRequestError(message, code, status);
}

/**
 * @azure/identity's failures to get a token (AuthenticationError, CredentialUnavailableError):
 * no retry fixes a wrong client id or secret, but a changed credentials file does.
 */
function fromIdentityError(error: unknown): AzureError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { name, message } = error as { name?: unknown; message?: unknown };
  if (name !== "AuthenticationError" && name !== "CredentialUnavailableError") return undefined;
  const code = (error as { errorResponse?: { error?: unknown } }).errorResponse?.error;
  return new AuthenticationError(
    `azid could not get a token: ${String(message)}`,
    typeof code === "string" ? code : name,
    401,
    { cause: error },
  );
}

function isRestErrorLike(error: unknown): error is RestError {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "RestError";
}

function errorBody(error: RestError): ErrorBody {
  const details = error.details as { error?: ErrorBody } | ErrorBody | undefined;
  if (details && typeof details === "object") {
    if ("error" in details && details.error) return details.error;
    if ("code" in details) return details as ErrorBody;
  }
  const text = error.response?.bodyAsText;
  if (text) {
    try {
      const parsed = JSON.parse(text) as { error?: ErrorBody };
      if (parsed.error) return parsed.error;
    } catch {
      // not JSON: fall back to the RestError's own fields
    }
  }
  return {};
}

function retryAfterMs(error: RestError): number | undefined {
  const header = error.response?.headers.get("retry-after");
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function policyName(body: ErrorBody): string | undefined {
  for (const entry of body.additionalInfo ?? []) {
    const info = entry.info ?? {};
    const name =
      info.policyDefinitionDisplayName ?? info.policyAssignmentDisplayName ?? info.policyAssignmentName;
    if (typeof name === "string") return name;
  }
  return /policy '([^']+)'/i.exec(body.message ?? "")?.[1];
}

/** ARM says: "... does not have authorization to perform action 'X' over scope 'Y' ...". */
export function parseAuthorizationMessage(message: string): { action?: string; scope?: string } {
  const action = /perform action '([^']+)'/i.exec(message)?.[1];
  const scope = /over scope '([^']+)'/i.exec(message)?.[1];
  return { action, scope };
}
