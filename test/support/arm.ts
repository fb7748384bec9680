// Helpers for suites that need the ARM emulator: start one, build SDK clients that trust its CA,
// get tokens from its Entra endpoint, and talk to it (and its admin API) over plain HTTPS.
import { Agent, request as httpsRequest } from "node:https";
import { type ArmEmulator, type ArmEmulatorOptions, startArmEmulator } from "@azid/arm-emulator";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { ClientSecretCredential } from "@azure/identity";
import {
  checkResponse,
  newValidationLog,
  OpenApiValidator,
  type ValidationLog,
  validationPolicy,
} from "./openapi.js";

let sharedValidator: OpenApiValidator | undefined;
/** The OpenAPI validator, built once per process (compiling the documents takes a moment). */
export function openApiValidator(): OpenApiValidator {
  sharedValidator ??= new OpenApiValidator();
  return sharedValidator;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body, when there is one. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely and assert on them
  body: any;
}

export interface RequestOptions {
  body?: unknown;
  /** A bearer token; `null` sends no Authorization header. Default: an opaque token. */
  token?: string | null;
  headers?: Record<string, string>;
  /** A form body (application/x-www-form-urlencoded) instead of JSON. */
  form?: Record<string, string>;
}

export interface ArmFixture {
  readonly arm: ArmEmulator;
  /** A ClientSecretCredential that gets real tokens from the sandbox's Entra endpoint. */
  readonly credential: TokenCredential;
  /**
   * Every ARM response, to SDK clients built with `clientOptions()` and to `request()`, is checked
   * against the OpenAPI documents here; `close()` fails when one did not validate.
   */
  readonly validation: ValidationLog;
  /** Options for Azure SDK clients: the emulator's endpoint, its CA, and the validating policy. */
  clientOptions(extra?: { noRetries?: boolean; policies?: PipelinePolicy[] }): {
    endpoint: string;
    tlsOptions: { ca: string };
    additionalPolicies: { policy: PipelinePolicy; position: "perCall" }[];
    retryOptions?: { maxRetries: number };
  };
  request(method: string, path: string, options?: RequestOptions): Promise<HttpResult>;
  admin(method: string, path: string, body?: unknown): Promise<HttpResult>;
  close(): Promise<void>;
}

/** Credential options that make @azure/identity use the sandbox as its authority. */
export function sandboxCredentialOptions(arm: ArmEmulator) {
  return {
    authorityHost: arm.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: arm.caPem },
  };
}

export function sandboxCredential(
  arm: ArmEmulator,
  app: { tenantId?: string; clientId?: string; clientSecret?: string } = {},
): ClientSecretCredential {
  return new ClientSecretCredential(
    app.tenantId ?? arm.tenantId,
    app.clientId ?? "0ab4b0e6-6b1b-4a54-9d77-3d0e1f3a5c11",
    app.clientSecret ?? "sandbox-secret",
    sandboxCredentialOptions(arm),
  );
}

export async function startArmFixture(options: ArmEmulatorOptions = {}): Promise<ArmFixture> {
  const arm = await startArmEmulator(options);
  const agent = new Agent({ ca: arm.caPem, keepAlive: true });
  const validation = newValidationLog();
  const validator = openApiValidator();

  function request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult> {
    const url = new URL(path, arm.url);
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? "sandbox-opaque-token" : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (opts.form) {
      payload = new URLSearchParams(opts.form).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    } else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          const status = res.statusCode ?? 0;
          if (/^\/(subscriptions|providers|tenants)(\/|\?|$)/i.test(url.pathname))
            checkResponse(validator, validation, method, url, status, text);
          resolve({ status, headers: res.headers, text, body });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  return {
    arm,
    credential: sandboxCredential(arm),
    validation,
    clientOptions(extra = {}) {
      return {
        endpoint: arm.url,
        tlsOptions: { ca: arm.caPem },
        additionalPolicies: [
          { policy: validationPolicy(validator, validation), position: "perCall" as const },
          ...(extra.policies ?? []).map((policy) => ({ policy, position: "perCall" as const })),
        ],
        ...(extra.noRetries ? { retryOptions: { maxRetries: 0 } } : {}),
      };
    },
    request,
    admin: (method, path, body) =>
      request(method, `/_sandbox/${path.replace(/^\//, "")}`, { body, token: null }),
    async close() {
      agent.destroy();
      await arm.close();
      if (validation.failures.length > 0)
        throw new Error(
          `responses that do not validate against the OpenAPI documents:\n${validation.failures.join("\n")}`,
        );
    },
  };
}
