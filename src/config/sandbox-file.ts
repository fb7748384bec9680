import { readFileSync } from "node:fs";
import { AzidError } from "../util/errors.js";

/**
 * What `--sandbox FILE` gives a command: the JSON line `azid sandbox` printed. Production
 * code reads it here and never imports src/sandbox.
 */
export interface SandboxConnection {
  arm?: string;
  graph?: string;
  authorityHost?: string;
  /** PEM of the sandbox's CA, read from its caFile. */
  caPem?: string;
  tenantId?: string;
  subscriptionId?: string;
  timeScale: number;
  kube?: string;
  kubeconfig?: string;
}

export class SandboxFileError extends AzidError {
  override readonly name = "SandboxFileError";
  readonly errorCode = "config.InvalidSandboxFile";
}

export function readSandboxFile(path: string): SandboxConnection {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8").trim().split("\n")[0] ?? "");
  } catch (error) {
    throw new SandboxFileError(
      `${path}: not the JSON line azid sandbox prints (${(error as Error).message})`,
    );
  }
  if (typeof raw !== "object" || raw === null) throw new SandboxFileError(`${path}: expected a JSON object`);
  const info = raw as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const value = info[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") throw new SandboxFileError(`${path}: '${key}' must be a string`);
    return value;
  };
  const caFile = text("caFile");
  const timeScale = info.timeScale ?? 1;
  if (typeof timeScale !== "number" || !(timeScale > 0)) {
    throw new SandboxFileError(`${path}: 'timeScale' must be a positive number`);
  }
  const connection: SandboxConnection = {
    arm: text("arm"),
    graph: text("graph"),
    authorityHost: text("authorityHost"),
    caPem: caFile ? readFileSync(caFile, "utf8") : undefined,
    tenantId: text("tenantId"),
    subscriptionId: text("subscriptionId"),
    timeScale,
    kube: text("kube"),
    kubeconfig: text("kubeconfig"),
  };
  if (!connection.arm && !connection.kube)
    throw new SandboxFileError(`${path}: names neither 'arm' nor 'kube'`);
  return connection;
}
