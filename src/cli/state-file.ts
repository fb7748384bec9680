// `--state FILE`: what the controller keeps in each resource's status, kept between pipeline
// runs. Status records what azid owns (the credentials, attachments, grants and Graph app roles
// it made, the tenant and principal it saw), which later removals and tenant-move detection rely
// on; without it only what deterministic names prove is known to be azid's. A status is written
// before the writes it announces are sent, so a run killed at any point leaves a file the next
// run can trust. A lock file keeps two runs from sharing one state file.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { CliError } from "./exit-codes.js";

const FORMAT = "azid.dev/cli-state/v1";

interface StateFileContent {
  format: typeof FORMAT;
  /** Status by `Kind/namespace/name`. */
  resources: Record<string, { status: unknown; updatedAt: string }>;
}

export class StateStore {
  private readonly content: StateFileContent;
  private chain: Promise<void> = Promise.resolve();
  private dirty = false;
  private locked = false;

  /** In memory only when `path` is undefined. */
  constructor(private readonly path?: string) {
    this.content = path ? read(path) : { format: FORMAT, resources: {} };
    if (path) this.lock(path);
  }

  get persistent(): boolean {
    return this.path !== undefined;
  }

  status(key: string): unknown {
    return this.content.resources[key]?.status;
  }

  /** Records a status; resolves once it is on disk (with any other status set meanwhile). */
  async save(key: string, status: unknown): Promise<void> {
    this.content.resources[key] = { status, updatedAt: new Date().toISOString() };
    if (!this.path) return;
    this.dirty = true;
    const path = this.path;
    this.chain = this.chain.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      await writeFile(`${path}.tmp`, `${JSON.stringify(this.content, null, 1)}\n`);
      renameSync(`${path}.tmp`, path);
    });
    await this.chain;
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.path && this.locked) {
      rmSync(`${this.path}.lock`, { force: true });
      this.locked = false;
    }
  }

  private lock(path: string) {
    const lockFile = `${path}.lock`;
    try {
      writeFileSync(lockFile, String(process.pid), { flag: "wx" });
    } catch {
      const holder = Number(readText(lockFile));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new CliError(
          `${path} is in use by another azid run (pid ${holder}); wait for it, or remove ${lockFile} if that process is not azid`,
        );
      }
      // Left behind by a run that was killed: take it over.
      writeFileSync(lockFile, String(process.pid));
    }
    this.locked = true;
    process.once("exit", () => {
      if (this.locked) rmSync(lockFile, { force: true });
    });
  }
}

function read(path: string): StateFileContent {
  const text = readText(path);
  if (text === undefined) return { format: FORMAT, resources: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path}: not a state file (${(error as Error).message})`, "InvalidInput");
  }
  const content = parsed as Partial<StateFileContent> | null;
  if (content?.format !== FORMAT || typeof content.resources !== "object" || content.resources === null) {
    throw new CliError(`${path}: not an azid state file (expected format ${FORMAT})`, "InvalidInput");
  }
  return content as StateFileContent;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
