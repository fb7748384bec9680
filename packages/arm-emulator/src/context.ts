import type { IncomingHttpHeaders } from "node:http";
import type { Caller, Emulator } from "./emulator.js";
import { ArmError } from "./errors.js";
import type { OperationClass } from "./settings.js";
import type { Subscription } from "./store.js";

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Ctx {
  em: Emulator;
  method: string;
  /** Normalized, decoded path. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
  requestId: string;
  params: Record<string, string>;
  klass: OperationClass;
  /** "METHOD template", the operation's name in the stats; handlers may make it more precise. */
  operation: string;
  caller: Caller;
  /** The subscription named by the path, if any (it exists and the caller's token fits its tenant). */
  subscription?: Subscription;
}

/** A query parameter by name, case-insensitively (`$skipToken` and `$skiptoken` are the same). */
export function queryParam(ctx: Ctx, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of ctx.query) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

export function apiVersion(ctx: Ctx): string {
  return ctx.query.get("api-version") ?? "";
}

/** The request body as a JSON object, or a 400 as ARM answers malformed content. */
export function bodyObject(ctx: Ctx): Record<string, unknown> {
  const body = ctx.body;
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new ArmError(
      400,
      "InvalidRequestContent",
      "The request content was invalid and could not be deserialized.",
    );
  return body as Record<string, unknown>;
}

/** A page of `items` with an absolute nextLink carrying `$skiptoken` when more remain. */
export function page<T>(
  ctx: Ctx,
  items: T[],
  map: (item: T) => unknown,
  pageSize = ctx.em.settings.pageSize,
): unknown {
  const top = Number(queryParam(ctx, "$top"));
  const size = Number.isInteger(top) && top > 0 ? Math.min(top, pageSize) : pageSize;
  const skip = Math.max(0, Number.parseInt(queryParam(ctx, "$skiptoken") ?? "0", 10) || 0);
  const slice = items.slice(skip, skip + size);
  const result: { value: unknown[]; nextLink?: string } = { value: slice.map(map) };
  if (skip + size < items.length) {
    const next = new URLSearchParams();
    for (const [k, v] of ctx.query) if (k.toLowerCase() !== "$skiptoken") next.set(k, v);
    next.set("$skiptoken", String(skip + size));
    result.nextLink = `${ctx.em.baseUrl}${ctx.path}?${next.toString()}`;
  }
  return result;
}
