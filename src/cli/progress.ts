// Progress of apply and remediate on stderr: a one-line bar on a terminal, JSON lines otherwise
// (one per write sent and one per resource finished), so a pipeline log shows what happened.
import type { Execution } from "../azure/executor.js";
import { type Action, formatRef, isRead } from "../plan/actions.js";
import type { ResourceOutcome } from "./reconcile.js";

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** What the bar counts: planned writes (remediate) or resources (apply). */
  unit: "writes" | "resources";
  total: number;
  /** ARM 429s so far (from the request log). */
  throttled: () => number;
  enabled?: boolean;
}

export class Progress {
  private writes = 0;
  private failedWrites = 0;
  private resources = 0;
  private failedResources = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(private readonly options: ProgressOptions) {
    this.tty = options.stream.isTTY === true;
  }

  readonly onAction = (action: Action, outcome: Execution): void => {
    if (isRead(action)) return;
    this.writes++;
    if (outcome.result.failure && outcome.error) this.failedWrites++;
    if (this.options.enabled === false) return;
    if (this.tty) this.draw();
    else
      this.line({
        event: "write",
        resource: formatRef(action.owner),
        kind: action.kind,
        description: action.description,
        ok: !outcome.error,
        ...(outcome.error ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
        done: this.writes,
        ...(this.options.unit === "writes" ? { total: this.options.total } : {}),
      });
  };

  readonly onResource = (outcome: ResourceOutcome): void => {
    this.resources++;
    if (outcome.state !== "ready") this.failedResources++;
    if (this.options.enabled === false) return;
    if (this.tty) this.draw(true);
    else
      this.line({
        event: "resource",
        resource: outcome.key,
        state: outcome.state,
        reason: outcome.ready?.reason,
        message: outcome.ready?.message,
        writes: outcome.writes.length,
        done: this.resources,
        ...(this.options.unit === "resources" ? { total: this.options.total } : {}),
      });
  };

  /** Clears the bar, so that what follows starts on a clean line. */
  finish(): void {
    if (this.tty && this.options.enabled !== false && this.lastDraw > 0) {
      this.draw(true);
      this.options.stream.write("\n");
    }
  }

  private draw(force = false) {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const { total, unit } = this.options;
    const done = unit === "writes" ? Math.min(this.writes, total) : this.resources;
    const width = 28;
    const filled = total > 0 ? Math.round((done / total) * width) : width;
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    const seconds = ((now - this.started) / 1000).toFixed(1);
    const failed = this.failedResources + this.failedWrites;
    const text =
      `[${bar}] ${done}/${total} ${unit} · ${this.writes} writes · ${this.resources} resources done` +
      `${failed > 0 ? ` · ${failed} failed` : ""} · 429s ${this.options.throttled()} · ${seconds}s`;
    this.options.stream.write(`\r\x1b[2K${text}`);
  }

  private line(value: Record<string, unknown>) {
    this.options.stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...value })}\n`);
  }
}
