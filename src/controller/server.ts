import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { ControllerError } from "./errors.js";
import { formatReport, type HealthReport } from "./health.js";

export interface HealthServerOptions {
  /** `host:port`, or `:port` for every interface (what the chart asks, for probes and Prometheus). */
  address: string;
  metrics: Metrics;
  liveness: () => Promise<HealthReport>;
  readiness: () => Promise<HealthReport>;
  logger: Logger;
}

export interface HealthServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Splits `host:port` / `:port` / `[::1]:port`; an empty host means every interface. */
function parseAddress(address: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!match) throw new ControllerError("InvalidAddress", `--metrics-addr: not host:port: ${address}`);
  const host = match[1] ?? match[2] ?? "";
  return { host: host === "" ? undefined : host, port: Number(match[3]) };
}

/** `/metrics` (Prometheus text), `/healthz` (liveness) and `/readyz` (readiness), on one port. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { host, port } = parseAddress(options.address);
  const server: Server = createServer((request, response) => {
    handle(options, request, response).catch((err) => {
      options.logger.error({ err }, "health server request failed");
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  server.listen(port, host);
  await once(server, "listening");
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  options.logger.info({ address: `${shownHost}:${bound.port}` }, "serving /metrics, /healthz and /readyz");
  return {
    url: `http://${host === undefined ? "127.0.0.1" : shownHost}:${bound.port}`,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  options: HealthServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { Allow: "GET, HEAD" }).end();
    return;
  }
  switch (path) {
    case "/metrics": {
      const body = await options.metrics.registry.metrics();
      response.writeHead(200, { "Content-Type": options.metrics.registry.contentType }).end(body);
      return;
    }
    case "/healthz":
    case "/livez":
      return report(response, "healthz", await options.liveness());
    case "/readyz":
      return report(response, "readyz", await options.readiness());
    default:
      response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
  }
}

function report(response: ServerResponse, endpoint: string, result: HealthReport): void {
  response
    .writeHead(result.ok ? 200 : 503, {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
    })
    .end(formatReport(endpoint, result));
}
