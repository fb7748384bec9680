// Writing answers: JSON bodies with their Warning headers, and every error as a Status.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, internalError } from "../errors.js";

/** A Warning header value as the API server writes it (RFC 7234, code 299, agent "-"). */
function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}

export function sendJson(res: ServerResponse, code: number, body: string, warnings: string[] = []): void {
  const headers: Record<string, string | string[]> = {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    "Content-Length": String(Buffer.byteLength(body)),
  };
  if (warnings.length > 0) headers.Warning = warnings.map(warningHeader);
  res.writeHead(code, headers);
  res.end(body);
}

/** Answers an error; anything that is not an ApiError is a 500 without its internals. */
export function sendError(res: ServerResponse, error: unknown, warnings: string[] = []): void {
  const apiError = error instanceof ApiError ? error : internalError("unexpected error in the emulator");
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const retryAfter = apiError.details?.retryAfterSeconds;
  if (retryAfter !== undefined) res.setHeader("Retry-After", String(retryAfter));
  sendJson(res, apiError.code, JSON.stringify(apiError.toStatus()), warnings);
}

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads a request body up to the API server's limit (3 MiB); beyond it the answer is 413. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw new ApiError(
        413,
        "RequestEntityTooLarge",
        `Request entity too large: limit is ${MAX_BODY_BYTES}`,
      );
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
