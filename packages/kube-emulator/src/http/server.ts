// The HTTP server: discovery, OpenAPI, health and resource endpoints, every error as a
// Status, and the outages the admin hooks simulate (refused connections or 503s).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { requestUser } from "../admission/user-info.js";
import type { ServiceAccountIssuer } from "../auth/service-account-issuer.js";
import { conflict, OBJECT_MODIFIED, pathNotFound, serviceUnavailable } from "../errors.js";
import type { ApiContext } from "../rest/scope.js";
import type { GenericStore } from "../rest/store.js";
import type { WatchSettings } from "../rest/watch.js";
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, versionInfo } from "./discovery.js";
import { hashOf, openApiDocument, openApiIndex } from "./openapi.js";
import { OPENAPI_V2_PROTOBUF, openApiV2Json, openApiV2Protobuf } from "./openapi-v2.js";
import { parseResourcePath } from "./request-info.js";
import { handleResource } from "./resources.js";
import { sendError, sendJson } from "./respond.js";

export type OutageMode = "refuse" | "503";

export interface ApiServerOptions {
  host: string;
  port: number;
  watch: Omit<WatchSettings, "table">;
  issuer: ServiceAccountIssuer;
}

export class ApiServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private outage: OutageMode | undefined;
  /** Share of status writes answered 409 Conflict, as when another writer got there first. */
  private statusConflictRate = 0;
  /** How many status writes got that 409. */
  statusConflictsAnswered = 0;
  private listening = false;
  private boundPort = 0;
  private openApiCache: { generation: number; documents: Map<string, { json: string; hash: string }> } = {
    generation: -1,
    documents: new Map(),
  };

  constructor(
    private readonly ctx: ApiContext,
    private readonly store: GenericStore,
    private readonly options: ApiServerOptions,
  ) {
    this.server = createServer({ keepAlive: true }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  /** Where clients reach the server: a wildcard bind (0.0.0.0, ::) is reached on loopback, as the ARM emulator's URL. */
  get url(): string {
    const bound = this.options.host;
    const host =
      bound === "0.0.0.0" || bound === "::" ? "127.0.0.1" : bound.includes(":") ? `[${bound}]` : bound;
    return `http://${host}:${this.boundPort}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.boundPort || this.options.port, this.options.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.listening = true;
  }

  /** Starts an outage: connections are refused (the port closes) or every request gets 503. */
  async beginOutage(mode: OutageMode): Promise<void> {
    this.outage = mode;
    this.ctx.storage.terminateWatchers(true);
    if (mode === "refuse") await this.stopListening();
  }

  async endOutage(): Promise<void> {
    const mode = this.outage;
    this.outage = undefined;
    if (mode === "refuse") await this.listen();
  }

  /** From now on, this share (0 to 1) of PUTs and PATCHes of a status subresource get 409 Conflict. */
  conflictStatusWrites(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`a rate is between 0 and 1, not ${rate}`);
    this.statusConflictRate = rate;
  }

  async close(): Promise<void> {
    this.ctx.storage.terminateWatchers(false);
    await this.stopListening();
  }

  private async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.outage) throw serviceUnavailable("the server is currently unable to handle the request");
      const url = new URL(req.url ?? "/", "http://emulator");
      const user = requestUser(req.headersDistinct);
      if (this.serveNonResource(url.pathname, req, res)) return;
      const info = parseResourcePath(url.pathname);
      if (!info) throw pathNotFound();
      if (
        info.subresource === "status" &&
        (req.method === "PUT" || req.method === "PATCH") &&
        Math.random() < this.statusConflictRate
      ) {
        this.statusConflictsAnswered++;
        throw conflict(info, info.name, OBJECT_MODIFIED);
      }
      await handleResource(
        { ctx: this.ctx, store: this.store, watch: this.options.watch, issuer: this.options.issuer },
        req,
        res,
        info,
        url,
        user,
      );
    } catch (error) {
      sendError(res, error);
    }
  }

  /** Answers discovery, OpenAPI and health paths; false for anything else. */
  private serveNonResource(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    const registry = this.ctx.registry;
    const parts = path.split("/").filter((p) => p !== "");
    const json = (body: unknown): true => {
      if (body === undefined) throw pathNotFound();
      sendJson(res, 200, JSON.stringify(body));
      return true;
    };
    if (["healthz", "livez", "readyz"].includes(parts[0] ?? "")) {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("ok");
      return true;
    }
    if (path === "/version" || path === "/version/") return json(versionInfo());
    // Service-account issuer discovery, as kube-apiserver serves it to relying parties.
    if (path === "/.well-known/openid-configuration" && req.method === "GET") {
      sendJson(res, 200, JSON.stringify(this.options.issuer.discovery(`${this.url}/openid/v1/jwks`)));
      return true;
    }
    if (path === "/openid/v1/jwks" && req.method === "GET") {
      const body = JSON.stringify(this.options.issuer.jwks());
      res.writeHead(200, {
        "Content-Type": "application/jwk-set+json",
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(body);
      return true;
    }
    if (parts[0] === "api" && parts.length === 1) return json(apiVersions(req.headers.host ?? ""));
    if (parts[0] === "api" && parts.length === 2) return json(apiResourceList(registry, "", parts[1]!));
    if (parts[0] === "apis" && parts.length === 1) return json(apiGroupList(registry));
    if (parts[0] === "apis" && parts.length === 2) return json(apiGroupDocument(registry, parts[1]!));
    if (parts[0] === "apis" && parts.length === 3)
      return json(apiResourceList(registry, parts[1]!, parts[2]!));
    if (parts[0] === "openapi" && parts[1] === "v2" && parts.length === 2) {
      if ((req.headers.accept ?? "").includes("protobuf")) {
        const body = openApiV2Protobuf();
        res.writeHead(200, { "Content-Type": OPENAPI_V2_PROTOBUF, "Content-Length": String(body.length) });
        res.end(body);
      } else {
        sendJson(res, 200, openApiV2Json());
      }
      return true;
    }
    if (parts[0] === "openapi") {
      if (parts[1] !== "v3") throw pathNotFound();
      if (parts.length === 2) return json(openApiIndex(registry, (g, v) => this.openApi(g, v)?.hash ?? ""));
      const group = parts[2] === "api" ? "" : parts[3];
      const version = parts[2] === "api" ? parts[3] : parts[4];
      const document =
        group !== undefined && version !== undefined ? this.openApi(group, version) : undefined;
      if (!document) throw pathNotFound();
      sendJson(res, 200, document.json);
      return true;
    }
    return false;
  }

  /** OpenAPI documents are made once per change of the served resources. */
  private openApi(group: string, version: string): { json: string; hash: string } | undefined {
    const generation = this.ctx.registry.generation;
    if (this.openApiCache.generation !== generation) this.openApiCache = { generation, documents: new Map() };
    const key = `${group}/${version}`;
    let cached = this.openApiCache.documents.get(key);
    if (!cached) {
      const document = openApiDocument(this.ctx.registry, group, version);
      if (!document) return undefined;
      const text = JSON.stringify(document);
      cached = { json: text, hash: hashOf(text) };
      this.openApiCache.documents.set(key, cached);
    }
    return cached;
  }
}
