// The resource endpoints: routes get, list, watch, create, update, patch, delete and
// deletecollection to the REST operations, with content negotiation (JSON or Table) and
// the write options every mutating request carries.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { UserInfo } from "../admission/user-info.js";
import { groupVersion } from "../api/resource-type.js";
import type { ServiceAccountIssuer } from "../auth/service-account-issuer.js";
import {
  ApiError,
  badRequest,
  fieldErrors,
  invalid,
  methodNotAllowed,
  notAcceptable,
  pathNotFound,
  unsupportedMediaType,
} from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { isObject } from "../json.js";
import { decodeObject, duplicateFields, parseBody } from "../rest/decode-request.js";
import { patch } from "../rest/patch.js";
import { queryBool, queryOptionalBool } from "../rest/query-bool.js";
import { listObjects } from "../rest/read.js";
import { SCALE_PATCH_TYPES, scaleOf, updateScale } from "../rest/scale.js";
import {
  type ApiContext,
  apiVersionOf,
  encodeStored,
  type FieldValidation,
  fromStorage,
  type RequestScope,
  type WriteOptions,
} from "../rest/scope.js";
import type { DeleteOptions, GenericStore, WriteResult } from "../rest/store.js";
import { parseIncludeObject, type TableOptions, tableJson } from "../rest/table.js";
import { createToken } from "../rest/token-request.js";
import { startWatch, type WatchSettings } from "../rest/watch.js";
import { decodeProtobufObject, PROTOBUF } from "./protobuf.js";
import type { ResourceRequest } from "./request-info.js";
import { readBody, sendError, sendJson } from "./respond.js";

export interface ResourceHandlerDeps {
  ctx: ApiContext;
  store: GenericStore;
  watch: Omit<WatchSettings, "table">;
  /** Signs serviceaccounts/token answers. */
  issuer: ServiceAccountIssuer;
}

type Query = Record<string, string>;

const FIELD_VALIDATIONS: FieldValidation[] = ["Ignore", "Warn", "Strict"];
const PROPAGATION_POLICIES = ["Orphan", "Background", "Foreground"];

/** Decides between JSON and Table from the Accept header; 406 when neither is acceptable. */
function negotiate(accept: string | undefined, query: Query): TableOptions | undefined {
  if (!accept) return undefined;
  let json = false;
  for (const range of accept.split(",")) {
    const [mediaType = "", ...params] = range.split(";").map((p) => p.trim());
    const values = new Map(
      params.map((p) => {
        const at = p.indexOf("=");
        return [p.slice(0, at).trim(), p.slice(at + 1).trim()] as const;
      }),
    );
    const isJson = mediaType === "application/json" || mediaType === "*/*" || mediaType === "application/*";
    if (!isJson) continue;
    const as = values.get("as");
    if (as === undefined) {
      json = true;
    } else if (
      as === "Table" &&
      values.get("g") === "meta.k8s.io" &&
      ["v1", "v1beta1"].includes(values.get("v") ?? "")
    ) {
      return { includeObject: parseIncludeObject(query.includeObject) };
    }
  }
  if (json) return undefined;
  throw notAcceptable(["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]);
}

/** The field manager's default is the user agent up to its first slash (managerOrUserAgent). */
function fieldManagerOf(query: Query, userAgent: string | undefined): { name: string; given: boolean } {
  const given = query.fieldManager !== undefined && query.fieldManager !== "";
  const name = given ? query.fieldManager! : (userAgent ?? "").split("/")[0]!.slice(0, 128);
  if (name.length > 128) {
    throw invalid({ group: "meta.k8s.io", kind: "PatchOptions" }, "", [
      {
        type: "FieldValueTooLong",
        field: "fieldManager",
        message: "Too long: may not be more than 128 bytes",
      },
    ]);
  }
  return { name, given };
}

function parseDryRun(values: string[]): boolean {
  for (const value of values) {
    if (value !== "All")
      throw badRequest(`Invalid dry run argument: ${JSON.stringify(value)}; supported values: "All"`);
  }
  return values.length > 0;
}

type OptionsKind = "CreateOptions" | "UpdateOptions" | "PatchOptions" | "DeleteOptions";

function writeOptions(
  query: Query,
  dryRunValues: string[],
  req: IncomingMessage,
  user: UserInfo,
  kind: OptionsKind,
  warnings: string[],
): WriteOptions {
  const validation = (query.fieldValidation ?? "Warn") as FieldValidation;
  if (!FIELD_VALIDATIONS.includes(validation)) {
    throw badRequest(
      `fieldValidation: Unsupported value: ${JSON.stringify(query.fieldValidation)}: supported values: "Ignore", "Strict", "Warn"`,
    );
  }
  const dryRun = parseDryRun(dryRunValues);
  return {
    dryRun,
    fieldManager: fieldManagerOf(query, req.headers["user-agent"]).name,
    fieldValidation: validation,
    warnings,
    user,
    requestOptions: requestOptions(kind, query, dryRunValues),
  };
}

/** The *Options object the request's query parameters decode to (admission's request.options). */
function requestOptions(kind: OptionsKind, query: Query, dryRunValues: string[]): JsonObject {
  const options: JsonObject = { kind, apiVersion: "meta.k8s.io/v1" };
  if (dryRunValues.length > 0) options.dryRun = dryRunValues;
  if (kind === "DeleteOptions") {
    if (query.propagationPolicy !== undefined) options.propagationPolicy = query.propagationPolicy;
    return options;
  }
  if (query.fieldManager) options.fieldManager = query.fieldManager;
  if (query.fieldValidation !== undefined) options.fieldValidation = query.fieldValidation;
  if (kind === "PatchOptions" && query.force !== undefined) options.force = queryBool(query.force);
  return options;
}

function parseDeleteOptions(
  body: string,
  query: Query,
  dryRunValues: string[],
): { options: DeleteOptions; dryRun: string[]; requestOptions: JsonObject } {
  const parsed = body.trim() === "" ? {} : parseBody(body);
  if (!isObject(parsed)) throw badRequest("DeleteOptions must be an object");
  const options: DeleteOptions = {};
  const preconditions = parsed.preconditions;
  if (isObject(preconditions)) {
    if (typeof preconditions.uid === "string") options.uid = preconditions.uid;
    if (typeof preconditions.resourceVersion === "string")
      options.resourceVersion = preconditions.resourceVersion;
  }
  const policy =
    (typeof parsed.propagationPolicy === "string" ? parsed.propagationPolicy : undefined) ??
    query.propagationPolicy;
  if (policy !== undefined) {
    if (!PROPAGATION_POLICIES.includes(policy)) {
      throw invalid({ group: "meta.k8s.io", kind: "DeleteOptions" }, "", [
        fieldErrors.notSupported("propagationPolicy", policy, PROPAGATION_POLICIES),
      ]);
    }
    options.propagationPolicy = policy;
  }
  const dryRun = Array.isArray(parsed.dryRun) ? parsed.dryRun.map(String) : dryRunValues;
  const requestOptions: JsonObject = {};
  if (policy !== undefined) requestOptions.propagationPolicy = policy;
  if (isObject(preconditions)) requestOptions.preconditions = preconditions;
  if (typeof parsed.gracePeriodSeconds === "number")
    requestOptions.gracePeriodSeconds = parsed.gracePeriodSeconds;
  return { options, dryRun, requestOptions };
}

export async function handleResource(
  deps: ResourceHandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  info: ResourceRequest,
  url: URL,
  user: UserInfo,
): Promise<void> {
  const served = deps.ctx.registry.resolve(info.group, info.version, info.resource);
  if (!served) throw pathNotFound();
  const { type, version } = served;
  if (!type.namespaced && info.namespace !== "") throw pathNotFound();
  const subresource = info.subresource;
  const subresourceServed =
    subresource === "" ||
    (subresource === "status" && type.statusSubresource) ||
    (subresource === "finalize" && type.kind === "Namespace" && type.group === "") ||
    (subresource === "scale" && type.scale !== undefined) ||
    (subresource === "token" && type.kind === "ServiceAccount" && type.group === "");
  if (!subresourceServed || (subresource !== "" && info.name === "")) throw pathNotFound();
  const query: Query = Object.fromEntries(url.searchParams);
  const dryRunValues = url.searchParams.getAll("dryRun");
  if (subresource === "scale" || subresource === "token") {
    await handleSubresourceOfOwnKind(deps, req, res, { ...info, subresource }, query, dryRunValues, user);
    return;
  }
  const scope: RequestScope = {
    ctx: deps.ctx,
    type,
    version,
    namespace: info.namespace,
    subresource: subresource as RequestScope["subresource"],
  };
  const warnings: string[] = version.deprecationWarning ? [version.deprecationWarning] : [];
  const method = req.method ?? "GET";
  const watch = queryBool(query.watch);

  if (method === "GET") {
    const table = negotiate(req.headers.accept, query);
    if (watch) {
      const watchQuery = info.name
        ? { ...query, fieldSelector: joinSelectors(query.fieldSelector, `metadata.name=${info.name}`) }
        : query;
      startWatch(scope, res, watchQuery, table ? { ...deps.watch, table } : deps.watch);
      return;
    }
    if (info.name) {
      const stored = deps.store.live(scope, info.name);
      const body = table
        ? tableJson(scope, [stored], { resourceVersion: String(stored.rv) }, table)
        : encodeStored(scope, stored);
      sendJson(res, 200, body, warnings);
      return;
    }
    const list = listObjects(scope, query);
    const listMeta: JsonObject = { resourceVersion: String(list.resourceVersion) };
    if (list.continueToken) listMeta.continue = list.continueToken;
    if (list.remainingItemCount !== undefined) listMeta.remainingItemCount = list.remainingItemCount;
    const body = table
      ? tableJson(scope, list.items, listMeta, table)
      : `{"kind":${JSON.stringify(type.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(scope))},"metadata":${JSON.stringify(listMeta)},"items":[${list.items.map((item) => encodeStored(scope, item)).join(",")}]}`;
    sendJson(res, 200, body, warnings);
    return;
  }

  const raw = await readBody(req);
  const body = raw.toString("utf8");
  // Warnings of the write (admission's Warn among them) go with its answer, an error too.
  const writeWarnings: string[] = [];
  try {
    write();
  } catch (error) {
    sendError(res, error, [...warnings, ...writeWarnings]);
  }

  function write(): void {
    let result: WriteResult;
    let options: WriteOptions;
    switch (method) {
      case "POST": {
        if (info.name || subresource !== "" || (type.namespaced && info.namespace === ""))
          throw methodNotAllowed();
        if (crdTerminating(deps.ctx, type.crdName)) {
          throw new ApiError(
            405,
            "MethodNotAllowed",
            "create not allowed while custom resource definition is terminating",
            {
              group: type.group,
              kind: type.resource,
            },
          );
        }
        options = writeOptions(query, dryRunValues, req, user, "CreateOptions", writeWarnings);
        const object = decodeObject(
          scope,
          parseWriteBody(raw, scope, req),
          options,
          duplicateFields(body, options),
        );
        result = deps.store.create(scope, options, object, "update");
        break;
      }
      case "PUT": {
        if (!info.name) throw methodNotAllowed();
        options = writeOptions(query, dryRunValues, req, user, "UpdateOptions", writeWarnings);
        const object = decodeObject(
          scope,
          parseWriteBody(raw, scope, req),
          options,
          duplicateFields(body, options),
        );
        result = deps.store.update(scope, options, info.name, object);
        break;
      }
      case "PATCH": {
        if (!info.name) throw methodNotAllowed();
        options = writeOptions(query, dryRunValues, req, user, "PatchOptions", writeWarnings);
        const force = queryOptionalBool(query.force);
        result = patch(deps.store, scope, options, info.name, {
          contentType: req.headers["content-type"] ?? "",
          body,
          force,
          fieldManagerGiven: fieldManagerOf(query, undefined).given,
        });
        break;
      }
      case "DELETE": {
        if (subresource !== "") throw methodNotAllowed();
        const parsed = parseDeleteOptions(body, query, dryRunValues);
        options = writeOptions(query, parsed.dryRun, req, user, "DeleteOptions", writeWarnings);
        options.requestOptions = { ...options.requestOptions, ...parsed.requestOptions };
        if (!info.name) {
          if (!type.verbs.includes("deletecollection")) throw methodNotAllowed();
          sendJson(res, 200, deleteCollection(deps, scope, options, query), [
            ...warnings,
            ...options.warnings,
          ]);
          return;
        }
        result = deps.store.delete(scope, options, info.name, parsed.options);
        break;
      }
      default:
        throw methodNotAllowed();
    }
    const answer = result.status ?? fromStorage(scope, result.object);
    sendJson(res, result.code, JSON.stringify(answer), [...warnings, ...options.warnings]);
  }
}

/** scale (an autoscaling/v1 Scale) and token (a TokenRequest): subresources whose kind is not their parent's. */
async function handleSubresourceOfOwnKind(
  deps: ResourceHandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  info: ResourceRequest & { subresource: "scale" | "token" },
  query: Query,
  dryRunValues: string[],
  user: UserInfo,
): Promise<void> {
  const served = deps.ctx.registry.resolve(info.group, info.version, info.resource)!;
  const scope: RequestScope = {
    ctx: deps.ctx,
    type: served.type,
    version: served.version,
    namespace: info.namespace,
    subresource: "",
  };
  const method = req.method ?? "GET";
  const raw = method === "GET" ? Buffer.alloc(0) : await readBody(req);
  const body = raw.toString("utf8");
  if (info.subresource === "token") {
    if (method !== "POST") throw methodNotAllowed();
    parseDryRun(dryRunValues);
    // kubectl create token sends the TokenRequest as protobuf.
    const isProtobuf = (req.headers["content-type"] ?? "").split(";")[0]!.trim() === PROTOBUF;
    const request = isProtobuf
      ? decodeProtobufObject(raw, "TokenRequest")!
      : body.trim() === ""
        ? {}
        : parseBody(body);
    sendJson(res, 201, JSON.stringify(createToken(deps.store, scope, deps.issuer, info.name, request)));
    return;
  }
  if (method === "GET") {
    const live = deps.store.live(scope, info.name);
    sendJson(res, 200, JSON.stringify(scaleOf(scope, live.object, live.rv)));
    return;
  }
  if (method !== "PUT" && method !== "PATCH") throw methodNotAllowed();
  const kind = method === "PUT" ? "UpdateOptions" : "PatchOptions";
  const warnings: string[] = [];
  const options = writeOptions(query, dryRunValues, req, user, kind, warnings);
  const contentType = req.headers["content-type"] ?? "application/json";
  if (method === "PATCH" && !SCALE_PATCH_TYPES.includes(contentType.split(";")[0]!.trim().toLowerCase()))
    throw unsupportedMediaType(contentType, SCALE_PATCH_TYPES);
  const result = updateScale(deps.store, scope, options, info.name, { method, contentType, body });
  sendJson(res, result.code, JSON.stringify(result.scale), options.warnings);
}

const WRITE_MEDIA_TYPES = ["application/json", "application/yaml"];

/** POST and PUT bodies are JSON, YAML, or protobuf for the core kinds kubectl creates that way. */
function parseWriteBody(raw: Buffer, scope: RequestScope, req: IncomingMessage): JsonValue {
  const contentType = req.headers["content-type"] ?? "application/json";
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  if (mediaType === PROTOBUF) {
    const decoded = scope.type.group === "" ? decodeProtobufObject(raw, scope.type.kind) : undefined;
    if (decoded) return decoded;
    throw unsupportedMediaType(contentType, WRITE_MEDIA_TYPES);
  }
  if (WRITE_MEDIA_TYPES.includes(mediaType))
    return parseBody(raw.toString("utf8"), mediaType === "application/yaml");
  throw unsupportedMediaType(contentType, [...WRITE_MEDIA_TYPES, PROTOBUF]);
}

/** While its CRD is being deleted, a custom resource cannot be created (its instances are being removed). */
function crdTerminating(ctx: ApiContext, crdName: string | undefined): boolean {
  if (crdName === undefined) return false;
  const crd = ctx.storage.existingStore("apiextensions.k8s.io/customresourcedefinitions")?.get(crdName);
  return (
    crd !== undefined &&
    (crd.object.metadata as { deletionTimestamp?: string }).deletionTimestamp !== undefined
  );
}

function joinSelectors(existing: string | undefined, extra: string): string {
  return existing ? `${existing},${extra}` : extra;
}

/** DELETE on a collection: deletes every selected object; answers with the list of them. */
function deleteCollection(
  deps: ResourceHandlerDeps,
  scope: RequestScope,
  options: WriteOptions,
  query: Query,
): string {
  const list = listObjects(scope, { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector });
  const deleted: string[] = [];
  for (const stored of list.items) {
    const itemScope = { ...scope, namespace: stored.namespace };
    const result = deps.store.delete(itemScope, options, stored.name, {});
    deleted.push(JSON.stringify(fromStorage(scope, result.object)));
  }
  const gv = groupVersion(scope.type.group, scope.version.name);
  return `{"kind":${JSON.stringify(scope.type.listKind)},"apiVersion":${JSON.stringify(gv)},"metadata":{"resourceVersion":"${deps.ctx.storage.resourceVersion}"},"items":[${deleted.join(",")}]}`;
}
