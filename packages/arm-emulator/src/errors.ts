/** An error answered in ARM's shape: `{ "error": { "code", "message", ... } }`. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { target?: string; additionalInfo?: unknown[]; details?: unknown[] } = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ArmError";
  }

  body(): unknown {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

/** An error answered in Microsoft Graph's shape (with `innerError`). */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "GraphError";
  }

  body(requestId: string): unknown {
    return {
      error: {
        code: this.code,
        message: this.message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          "request-id": requestId,
          "client-request-id": requestId,
        },
      },
    };
  }
}

/** An OAuth2 error of the Entra token endpoint (`error`, `error_description`, `error_codes`). */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    description: string,
  ) {
    super(`AADSTS${aadsts}: ${description}`);
    this.name = "OAuthError";
  }

  body(traceId: string): unknown {
    return {
      error: this.error,
      error_description: `${this.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${traceId}\r\nTimestamp: ${new Date().toISOString()}`,
      error_codes: [this.aadsts],
      timestamp: new Date().toISOString(),
      trace_id: traceId,
      correlation_id: traceId,
    };
  }
}

/** Bad input to the admin API or to startArmEmulator's handle. */
export class SandboxConfigError extends Error {
  readonly code = "SandboxConfigError";
  constructor(message: string) {
    super(message);
    this.name = "SandboxConfigError";
  }
}
