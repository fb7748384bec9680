// Raw HTTP as a Kubernetes client sends it: JSON requests with any verb and content type,
// and a watch reader that yields the newline-delimited events of a chunked stream.
import { type IncomingHttpHeaders, request } from "node:http";

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Kubernetes JSON
  body: any;
}

export interface RawRequest {
  body?: unknown;
  contentType?: string;
  accept?: string;
  headers?: Record<string, string>;
}

export class RawClient {
  constructor(readonly baseUrl: string) {}

  async call(method: string, path: string, options: RawRequest = {}): Promise<RawResponse> {
    const headers: Record<string, string> = {
      Accept: options.accept ?? "application/json",
      ...options.headers,
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["Content-Type"] = options.contentType ?? "application/json";
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: Object.fromEntries(response.headers), text, body: parsed };
  }

  get(path: string, options?: RawRequest): Promise<RawResponse> {
    return this.call("GET", path, options);
  }

  post(path: string, body: unknown, options?: RawRequest): Promise<RawResponse> {
    return this.call("POST", path, { ...options, body });
  }

  put(path: string, body: unknown, options?: RawRequest): Promise<RawResponse> {
    return this.call("PUT", path, { ...options, body });
  }

  patch(path: string, body: unknown, contentType: string): Promise<RawResponse> {
    return this.call("PATCH", path, { body, contentType });
  }

  delete(path: string, body?: unknown): Promise<RawResponse> {
    return this.call("DELETE", path, { body });
  }

  watch(path: string, accept?: string): Promise<WatchReader> {
    return WatchReader.open(`${this.baseUrl}${path}`, accept);
  }
}

export interface WatchEvent {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Kubernetes JSON
  object: any;
}

/** Reads a watch stream event by event; `next` resolves with "end" once the server closed it. */
export class WatchReader {
  private readonly queue: (WatchEvent | "end")[] = [];
  private waiter: ((item: WatchEvent | "end") => void) | undefined;
  private buffer = "";
  private closeRequest: (() => void) | undefined;
  status = 0;
  headers: IncomingHttpHeaders = {};

  static open(url: string, accept = "application/json"): Promise<WatchReader> {
    const reader = new WatchReader();
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { Accept: accept } }, (res) => {
        reader.status = res.statusCode ?? 0;
        reader.headers = res.headers;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => reader.receive(chunk));
        res.on("end", () => reader.push("end"));
        res.on("error", () => reader.push("end"));
        res.on("close", () => reader.push("end"));
        resolve(reader);
      });
      req.on("error", (error) => {
        reader.push("end");
        reject(error);
      });
      reader.closeRequest = () => req.destroy();
      req.end();
    });
  }

  /** The next event; rejects when none comes within the timeout. */
  next(timeoutMs = 5000): Promise<WatchEvent | "end"> {
    const item = this.queue.shift();
    if (item !== undefined) {
      if (item === "end") this.queue.unshift("end");
      return Promise.resolve(item);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no watch event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
    });
  }

  /** Events received so far without waiting. */
  drain(): WatchEvent[] {
    const events = this.queue.filter((item): item is WatchEvent => item !== "end");
    this.queue.splice(0, this.queue.length, ...this.queue.filter((item) => item === "end"));
    return events;
  }

  close(): void {
    this.closeRequest?.();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      if (line.trim() !== "") this.push(JSON.parse(line) as WatchEvent);
      newline = this.buffer.indexOf("\n");
    }
  }

  private push(item: WatchEvent | "end"): void {
    if (item === "end" && this.queue.includes("end")) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      if (item === "end") this.queue.push("end");
      waiter(item);
    } else {
      this.queue.push(item);
    }
  }
}
