// One HTTPS listener, four surfaces: the admin API (/_sandbox), Microsoft Graph (/v1.0), the Entra
// token endpoint (/{tenant}/...) and ARM (everything else, behind faults, auth and throttling).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { armCaller, checkTenant, graphCaller } from "./auth.js";
import type { Ctx, Handler, Reply } from "./context.js";
import { DEFAULT_CALLER_OID, type Emulator } from "./emulator.js";
import { ArmError, GraphError, OAuthError, SandboxConfigError } from "./errors.js";
import { registerAdmin } from "./handlers/admin.js";
import { registerAuthorization } from "./handlers/authorization.js";
import { registerEntra } from "./handlers/entra.js";
import { registerGraph } from "./handlers/graph.js";
import { registerKeyVault } from "./handlers/keyvault.js";
import { registerMsi } from "./handlers/msi.js";
import { registerOperations, settleOperations } from "./handlers/operations.js";
import { registerResourceManager } from "./handlers/resource-manager.js";
import { registerResources } from "./handlers/resources.js";
import { isGuid, key, normalizePath } from "./ids.js";
import { Router } from "./router.js";
import type { OperationClass } from "./settings.js";

const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface ServerOptions {
  tenantId: string;
  subscriptionId: string;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const classOf = (method: string): OperationClass =>
  method === "GET" || method === "HEAD" ? "read" : method === "DELETE" ? "delete" : "write";

function decodePath(raw: string): string {
  return normalizePath(
    raw
      .split("/")
      .map((segment) => {
        try {
          return decodeURIComponent(segment);
        } catch {
          return segment;
        }
      })
      .join("/"),
  );
}

export function createRequestListener(em: Emulator, options: ServerOptions) {
  const arm = new Router<Handler>();
  registerAuthorization(arm);
  registerMsi(arm);
  registerKeyVault(arm);
  registerResourceManager(arm);
  registerOperations(arm);
  registerResources(arm);
  const graph = new Router<Handler>();
  registerGraph(graph);
  const entra = new Router<Handler>();
  registerEntra(entra);
  const admin = new Router<Handler>();
  registerAdmin(admin, options);

  function send(
    res: ServerResponse,
    requestId: string,
    reply: Reply,
    extra: Record<string, string> = {},
  ): void {
    const headers: Record<string, string> = {
      "x-ms-request-id": requestId,
      "x-ms-correlation-request-id": requestId,
      ...extra,
      ...reply.headers,
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status, { ...headers, "content-length": "0" });
      res.end();
      return;
    }
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...headers,
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(text)),
    });
    res.end(text);
  }

  function baseCtx(req: IncomingMessage, url: URL, path: string, requestId: string): Ctx {
    const method = req.method ?? "GET";
    return {
      em,
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      body: undefined,
      requestId,
      params: {},
      klass: classOf(method),
      operation: `${method} ${path}`,
      caller: { oid: DEFAULT_CALLER_OID, tid: options.tenantId, opaque: true },
    };
  }

  async function parseBody(req: IncomingMessage, ctx: Ctx, form: boolean): Promise<void> {
    const text = await readBody(req);
    if (text.length === 0) return;
    if (form) {
      ctx.body = new URLSearchParams(text);
      return;
    }
    try {
      ctx.body = JSON.parse(text);
    } catch {
      throw new ArmError(
        400,
        "InvalidRequestContent",
        "The request content was invalid and could not be deserialized.",
      );
    }
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, ctx: Ctx): Promise<void> {
    const match = admin.match(ctx.method, ctx.path);
    if (match.kind !== "found") {
      send(res, ctx.requestId, {
        status: 404,
        body: { error: { code: "NotFound", message: `No admin endpoint ${ctx.method} ${ctx.path}.` } },
      });
      return;
    }
    try {
      await parseBody(req, ctx, false);
      ctx.params = match.params;
      send(res, ctx.requestId, await match.route.handler(ctx));
    } catch (error) {
      if (error instanceof SandboxConfigError || error instanceof ArmError)
        send(res, ctx.requestId, {
          status: 400,
          body: { error: { code: "SandboxConfigError", message: error.message } },
        });
      else throw error;
    }
  }

  async function handleGraph(req: IncomingMessage, res: ServerResponse, ctx: Ctx): Promise<void> {
    try {
      ctx.caller = graphCaller(em, req.headers.authorization, options.tenantId);
      const match = graph.match(ctx.method, ctx.path);
      if (match.kind !== "found")
        throw new GraphError(
          400,
          "BadRequest",
          `Resource not found for the segment '${ctx.path.split("/").pop()}'.`,
        );
      await parseBody(req, ctx, false);
      ctx.params = match.params;
      send(res, ctx.requestId, await match.route.handler(ctx));
    } catch (error) {
      if (error instanceof GraphError)
        send(res, ctx.requestId, { status: error.status, body: error.body(ctx.requestId) });
      else if (error instanceof ArmError)
        send(res, ctx.requestId, {
          status: error.status,
          body: new GraphError(error.status, "BadRequest", error.message).body(ctx.requestId),
        });
      else throw error;
    }
  }

  async function handleEntra(req: IncomingMessage, res: ServerResponse, ctx: Ctx): Promise<boolean> {
    const match = entra.match(ctx.method, ctx.path);
    if (match.kind !== "found") return false;
    try {
      await parseBody(req, ctx, ctx.method === "POST");
      ctx.params = match.params;
      send(res, ctx.requestId, await match.route.handler(ctx), { "cache-control": "no-store" });
    } catch (error) {
      if (error instanceof OAuthError)
        send(res, ctx.requestId, { status: error.status, body: error.body(ctx.requestId) });
      else throw error;
    }
    return true;
  }

  /** Injected faults come first, as a front door's would. Answers false when the connection was dropped. */
  async function admit(req: IncomingMessage, ctx: Ctx): Promise<boolean> {
    const fault = em.faults.decide(ctx.klass);
    if (fault.delayMs > 0) {
      em.stats.fault("delayed");
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    }
    switch (fault.kind) {
      case "drop":
        em.stats.fault("drops");
        req.socket.destroy();
        return false;
      case "error":
        em.stats.fault("errors");
        throw fault.status === 503
          ? new ArmError(
              503,
              "ServiceUnavailable",
              "The service is temporarily unavailable. Please retry the request later (injected by the sandbox).",
            )
          : new ArmError(
              fault.status,
              "InternalServerError",
              "Encountered internal server error (injected by the sandbox).",
            );
      case "throttle":
        em.stats.fault("throttles");
        throw em.tooManyRequests(1, "");
      default:
        return true;
    }
  }

  /** The caller, and the subscription the path names (which must exist and fit the token's tenant). */
  function identify(req: IncomingMessage, ctx: Ctx): void {
    const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(ctx.path)?.[1];
    const subscription = subscriptionId ? em.store.subscription(subscriptionId) : undefined;
    ctx.caller = armCaller(em, req.headers.authorization, subscription?.tenantId ?? options.tenantId);
    if (!subscriptionId) return;
    if (!subscription)
      throw isGuid(subscriptionId)
        ? new ArmError(
            404,
            "SubscriptionNotFound",
            `The subscription '${subscriptionId}' could not be found.`,
          )
        : new ArmError(
            400,
            "InvalidSubscriptionId",
            `The provided subscription identifier '${subscriptionId}' is malformed or invalid.`,
          );
    checkTenant(em, ctx.caller, subscription.tenantId);
    ctx.subscription = subscription;
  }

  async function handleArm(req: IncomingMessage, res: ServerResponse, ctx: Ctx): Promise<void> {
    const match = arm.match(ctx.method, ctx.path);
    if (match.kind === "found") ctx.operation = `${ctx.method} ${match.route.template}`;
    else if (match.kind === "methodNotAllowed") ctx.operation = `${ctx.method} ${match.template}`;
    else ctx.operation = `${ctx.method} (unknown)`;
    let status: number | undefined;
    let rateHeaders: Record<string, string> = {};
    try {
      if (!(await admit(req, ctx))) return;
      identify(req, ctx);
      if (!ctx.query.get("api-version"))
        throw new ArmError(
          400,
          "MissingApiVersionParameter",
          "The api-version query parameter (?api-version=) is required for all requests.",
        );
      rateHeaders = em.throttle(
        ctx.klass,
        {
          subscriptionId: ctx.subscription?.subscriptionId,
          tenantId: ctx.subscription?.tenantId ?? ctx.caller.tid,
        },
        ctx.caller.oid,
      );
      if (match.kind === "notFound")
        throw new ArmError(404, "NotFound", `The requested path '${ctx.path}' is not served by the sandbox.`);
      if (match.kind === "methodNotAllowed")
        throw new ArmError(
          405,
          "HttpMethodNotAllowed",
          `The requested resource does not support http method '${ctx.method}'.`,
        );
      await parseBody(req, ctx, false);
      ctx.params = match.params;
      settleOperations(em);
      const reply = await match.route.handler(ctx);
      status = reply.status;
      if (em.faults.loseAnswer(ctx.klass)) {
        em.stats.fault("lost");
        req.socket.destroy();
        return;
      }
      send(res, ctx.requestId, reply, rateHeaders);
    } catch (error) {
      if (!(error instanceof ArmError)) throw error;
      status = error.status;
      const body = ctx.method === "HEAD" ? undefined : error.body();
      send(res, ctx.requestId, { status: error.status, body, headers: error.headers }, rateHeaders);
    } finally {
      // A dropped connection has no status; a sandbox bug (rethrown above) is counted as the 500 it becomes.
      if (status !== undefined || !req.socket.destroyed)
        em.stats.request(ctx.klass, ctx.operation, status ?? 500, Date.now(), ctx);
    }
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    // Not `new URL(req.url, base)`: a path that starts with `//` (the SDK sends one for a scope that
    // starts with `/`) would be read as a host.
    const raw = req.url ?? "/";
    const queryAt = raw.indexOf("?");
    const url = new URL(queryAt < 0 ? "" : raw.slice(queryAt), em.baseUrl);
    const path = decodePath(queryAt < 0 ? raw : raw.slice(0, queryAt));
    const ctx = baseCtx(req, url, path, requestId);
    try {
      if (key(path).startsWith("/_sandbox/")) return await handleAdmin(req, res, ctx);
      if (key(path).startsWith("/v1.0/")) return await handleGraph(req, res, ctx);
      if (!/^\/(subscriptions|providers|tenants)(\/|$)/i.test(path) && (await handleEntra(req, res, ctx)))
        return;
      await handleArm(req, res, ctx);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof BodyTooLarge) {
        send(res, requestId, {
          status: 413,
          body: { error: { code: "RequestEntityTooLarge", message: "The request body is too large." } },
        });
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      send(res, requestId, {
        status: 500,
        body: { error: { code: "InternalServerError", message: `Sandbox error: ${message}` } },
      });
    }
  };
}
