// Validates response bodies against Microsoft's OpenAPI (swagger 2.0) documents in spec/azure-api,
// resolving $refs across files (common-types included) onto the copies kept in this repository.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

const SPEC = join(PACKAGE_ROOT, "spec", "azure-api");

/** The swagger documents whose operations the emulator serves. */
const DOCUMENTS = [
  "managedidentity/2024-11-30/ManagedIdentity.json",
  "managedidentity/2026-05-31/ManagedIdentity.json",
  "authorization/2022-04-01/authorization-RoleAssignmentsCalls.json",
  "authorization/2022-04-01/authorization-RoleDefinitionsCalls.json",
  "resources-subscriptions/2022-12-01/subscriptions.json",
  "keyvault/2026-02-01/openapi.json",
];

/** Files referenced from the documents, by the path they are referenced under. */
const SUPPORT = [
  "common-types/resource-management/v2/types.json",
  "common-types/resource-management/v4/types.json",
  "common-types/resource-management/v5/types.json",
  "authorization/2022-04-01/common-types.json",
  "compute/VirtualMachineIdentity.excerpt.json",
];

/**
 * References to files the specs repository has but this one does not, mapped onto copies that hold
 * the same definition: common-types v1 ErrorResponse is v2's ErrorDetail (the same fields, flattened),
 * and Compute's common UserAssignedIdentities is in the excerpt.
 */
function resolveFile(fromFile: string, refFile: string, pointer: string): { file: string; pointer: string } {
  const common = /common-types\/resource-management\/(v\d)\/types\.json$/.exec(refFile);
  if (common) {
    if (common[1] === "v1" && pointer === "/definitions/ErrorResponse")
      return { file: "common-types/resource-management/v2/types.json", pointer: "/definitions/ErrorDetail" };
    return { file: `common-types/resource-management/${common[1]}/types.json`, pointer };
  }
  if (refFile.endsWith("common-types/v1/common.json"))
    return { file: "compute/VirtualMachineIdentity.excerpt.json", pointer };
  return { file: relative(SPEC, normalize(join(SPEC, dirname(fromFile), refFile))), pointer };
}

const schemaId = (file: string) => `spec:/${file}`;

function rewriteRefs(value: unknown, file: string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, file));
  if (!value || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "$ref" && typeof v === "string") {
      const [refFile, pointer = ""] = v.split("#");
      const target = refFile ? resolveFile(file, refFile, pointer) : { file, pointer };
      out[k] = `${schemaId(target.file)}#${target.pointer}`;
    } else if (k === "x-ms-examples" || k === "example") {
      // not schema: skip
    } else out[k] = rewriteRefs(v, file);
  }
  return out;
}

export interface Operation {
  operationId: string;
  method: string;
  template: string;
  file: string;
  apiVersion: string;
  responses: Record<string, { schema?: unknown }>;
  regex: RegExp;
  literalLength: number;
  examples: Record<string, string>;
}

/** Path parameters that span several segments (x-ms-skip-url-encoding ids and scopes). */
const MULTI_SEGMENT = new Set(["scope", "roleAssignmentId", "roleId", "parentResourcePath"]);

function templateRegex(template: string): { regex: RegExp; literalLength: number } {
  let literalLength = 0;
  const parts = template.split(/(\{\w+\})/);
  const source = parts
    .map((part, i) => {
      const param = /^\{(\w+)\}$/.exec(part);
      if (param && MULTI_SEGMENT.has(param[1]!)) return "(?:/.*?)?";
      if (param) return "/[^/]+";
      literalLength += part.length;
      // The slash before a parameter belongs to it (a multi-segment one may be empty).
      const literal = /^\{\w+\}$/.test(parts[i + 1] ?? "") ? part.replace(/\/$/, "") : part;
      return literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return { regex: new RegExp(`^${source.replace(/\/+$/, "")}$`, "i"), literalLength };
}

export class OpenApiValidator {
  readonly operations: Operation[] = [];
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    this.ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true, discriminator: false });
    addFormats.default(this.ajv);
    for (const format of [
      "arm-id",
      "int32",
      "int64",
      "duration",
      "unixtime",
      "byte",
      "password",
      "float",
      "double",
    ])
      this.ajv.addFormat(format, true);
    for (const file of [...DOCUMENTS, ...SUPPORT]) {
      const doc = JSON.parse(readFileSync(join(SPEC, file), "utf8")) as Record<string, unknown>;
      const rewritten = rewriteRefs(doc, file) as Record<string, unknown>;
      this.ajv.addSchema(
        { definitions: rewritten.definitions ?? {}, parameters: rewritten.parameters ?? {} },
        schemaId(file),
      );
      if (!DOCUMENTS.includes(file)) continue;
      const info = doc.info as { version: string };
      const paths = { ...(doc.paths as object), ...((doc["x-ms-paths"] as object) ?? {}) } as Record<
        string,
        Record<string, unknown>
      >;
      const rewrittenPaths = {
        ...(rewritten.paths as object),
        ...((rewritten["x-ms-paths"] as object) ?? {}),
      } as Record<
        string,
        Record<string, { operationId: string; responses: Record<string, { schema?: unknown }> }>
      >;
      for (const [rawTemplate, methods] of Object.entries(rewrittenPaths)) {
        const template = rawTemplate.split("?")[0]!;
        for (const [method, op] of Object.entries(methods)) {
          if (method === "parameters") continue;
          const original = paths[rawTemplate]?.[method] as {
            "x-ms-examples"?: Record<string, { $ref: string }>;
          };
          const examples = Object.fromEntries(
            Object.entries(original?.["x-ms-examples"] ?? {}).map(([name, ex]) => [
              name,
              relative(SPEC, normalize(join(SPEC, dirname(file), ex.$ref))),
            ]),
          );
          this.operations.push({
            operationId: op.operationId,
            method: method.toUpperCase(),
            template,
            file,
            apiVersion: info.version,
            responses: op.responses,
            ...templateRegex(template),
            examples,
          });
        }
      }
    }
  }

  /** The most specific operation of the given api-version serving `method path`. */
  find(method: string, path: string, apiVersion?: string): Operation | undefined {
    const candidates = this.operations.filter(
      (op) =>
        op.method === method &&
        op.literalLength > 1 &&
        (apiVersion === undefined || op.apiVersion === apiVersion) &&
        op.regex.test(path.replace(/\/+$/, "")),
    );
    return candidates.sort((a, b) => b.literalLength - a.literalLength)[0];
  }

  byId(operationId: string, apiVersion?: string): Operation | undefined {
    return this.operations.find(
      (op) => op.operationId === operationId && (apiVersion === undefined || op.apiVersion === apiVersion),
    );
  }

  private validator(key: string, schema: unknown): ValidateFunction {
    let fn = this.compiled.get(key);
    if (!fn) {
      fn = this.ajv.compile(schema as object);
      this.compiled.set(key, fn);
    }
    return fn;
  }

  /** Errors of `body` against the operation's schema for `status` (or its default response); [] when valid. */
  validate(op: Operation, status: number, body: unknown): string[] {
    const response = op.responses[String(status)] ?? (status >= 400 ? op.responses.default : undefined);
    if (!response) return [`${op.operationId}: status ${status} is not a documented response`];
    if (!response.schema) return body === undefined || body === "" ? [] : [];
    const fn = this.validator(`${op.file}|${op.operationId}|${status}`, response.schema);
    if (fn(body)) return [];
    return (fn.errors ?? []).map((e) => `${op.operationId} ${status}: ${e.instancePath || "/"} ${e.message}`);
  }

  /**
   * Resources with an identity block have no full swagger here: they are checked against the common
   * TrackedResource and Compute's VirtualMachineIdentity (the identity shape ARM uses for them all).
   */
  validateIdentityResource(body: unknown): string[] {
    const fn = this.validator("identity-resource", {
      allOf: [{ $ref: "spec:/common-types/resource-management/v4/types.json#/definitions/TrackedResource" }],
      properties: {
        identity: {
          $ref: "spec:/compute/VirtualMachineIdentity.excerpt.json#/definitions/VirtualMachineIdentity",
        },
      },
    });
    if (fn(body)) return [];
    return (fn.errors ?? []).map((e) => `identity resource: ${e.instancePath || "/"} ${e.message}`);
  }

  validateOperationStatus(body: unknown): string[] {
    const fn = this.validator("operation-status", {
      $ref: "spec:/common-types/resource-management/v4/types.json#/definitions/OperationStatusResult",
    });
    if (fn(body)) return [];
    return (fn.errors ?? []).map((e) => `operation status: ${e.instancePath || "/"} ${e.message}`);
  }

  validateError(body: unknown): string[] {
    const fn = this.validator("error", {
      $ref: "spec:/common-types/resource-management/v4/types.json#/definitions/ErrorResponse",
    });
    if (fn(body)) return [];
    return (fn.errors ?? []).map((e) => `error: ${e.instancePath || "/"} ${e.message}`);
  }
}

/** Every example file under spec/azure-api, relative to it. */
export function exampleFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (dir.endsWith("examples") && entry.name.endsWith(".json")) out.push(relative(SPEC, path));
    }
  };
  walk(SPEC);
  return out.sort();
}

export function readSpecFile(file: string): unknown {
  return JSON.parse(readFileSync(join(SPEC, file), "utf8"));
}

export interface ValidationLog {
  /** `operationId status` (or `identity resource`) of every response checked. */
  checked: string[];
  /** Responses no document describes (resource groups, providers, ...). */
  unchecked: string[];
  failures: string[];
}

export function newValidationLog(): ValidationLog {
  return { checked: [], unchecked: [], failures: [] };
}

/** Checks one ARM response by request method and URL. */
export function checkResponse(
  validator: OpenApiValidator,
  log: ValidationLog,
  method: string,
  url: URL,
  status: number,
  text: string,
): void {
  const path = `/${decodeURIComponent(url.pathname).split("/").filter(Boolean).join("/")}`;
  const body = text ? JSON.parse(text) : undefined;
  const version = url.searchParams.get("api-version") ?? undefined;
  if (method === "HEAD") {
    log.checked.push(`HEAD ${status}`);
    return;
  }
  if (status >= 400) {
    const errors = validator.validateError(body);
    log.checked.push(`error ${status}`);
    log.failures.push(...errors.map((e) => `${method} ${path}: ${e}`));
    return;
  }
  const op = validator.find(method, path, version);
  if (op) {
    log.checked.push(`${op.operationId} ${status}`);
    log.failures.push(...validator.validate(op, status, body).map((e) => `${method} ${path}: ${e}`));
    return;
  }
  if (/\/locations\/[^/]+\/operations\/[^/]+$/i.test(path)) {
    log.checked.push("OperationStatus");
    log.failures.push(...validator.validateOperationStatus(body).map((e) => `${method} ${path}: ${e}`));
    return;
  }
  const generic =
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/(?!Microsoft\.ManagedIdentity\/)[^/]+\/[^/]+\/[^/]+/i;
  if (generic.test(path) && body && typeof body === "object" && "id" in body) {
    log.checked.push("IdentityResource");
    log.failures.push(...validator.validateIdentityResource(body).map((e) => `${method} ${path}: ${e}`));
    return;
  }
  log.unchecked.push(`${method} ${path.replace(/[0-9a-f-]{36}/gi, "{id}")} ${status}`);
}

/** An SDK pipeline policy that checks every response it sees and records the outcome in `log`. */
export function validationPolicy(validator: OpenApiValidator, log: ValidationLog): PipelinePolicy {
  return {
    name: "openApiValidation",
    async sendRequest(request, next) {
      const response = await next(request);
      checkResponse(
        validator,
        log,
        request.method,
        new URL(request.url),
        response.status,
        response.bodyAsText ?? "",
      );
      return response;
    },
  };
}
