import { SandboxConfigError } from "./errors.js";

/** Everything about the emulator's behaviour that a test, a demo or a user may switch. */
export interface EmulatorSettings {
  /** ARM throttling by token buckets; on by default. */
  throttling: boolean;
  /** How long (ARM seconds) a new service principal is invisible to role assignments without principalType. */
  replicationDelaySeconds: number;
  /** How long (ARM seconds) a federated credential write holds its identity: a second write meanwhile gets 409. */
  ficWriteSeconds: number;
  /** Role assignments allowed per subscription (RoleAssignmentLimitExceeded beyond). */
  roleAssignmentLimit: number;
  /** Items per page of list operations that page (identities, federated credentials, resources). */
  pageSize: number;
  /** Long-running identity PATCH on identity-bearing resources, as Compute does. */
  lro: { enabled: boolean; durationSeconds: number };
}

/** A partial update of the settings (the LRO switch may be given in part too). */
export type SettingsUpdate = Partial<Omit<EmulatorSettings, "lro">> & {
  lro?: Partial<EmulatorSettings["lro"]>;
};

export const DEFAULT_SETTINGS: EmulatorSettings = {
  throttling: true,
  replicationDelaySeconds: 10,
  ficWriteSeconds: 1,
  roleAssignmentLimit: 4000,
  pageSize: 100,
  lro: { enabled: false, durationSeconds: 20 },
};

export interface FaultRule {
  /** Share of requests (0..1) answered with a server error. */
  errorRate?: number;
  /** Statuses to draw the server error from; 500 and 503 by default. */
  errorStatuses?: number[];
  /** Share of requests answered with 429 TooManyRequests (beyond real throttling). */
  throttleRate?: number;
  /** Latency added to every request, in ARM milliseconds (divided by the time scale). */
  latencyMs?: number;
  /** Share of requests whose connection is destroyed without an answer. */
  dropRate?: number;
  /** Share of requests carried out whose answer is then lost (the connection is destroyed after
   *  the work is done), as when a gateway times out: the caller cannot tell it happened. */
  lostResponseRate?: number;
}

export type OperationClass = "read" | "write" | "delete";

export interface FaultSettings {
  /** A seed makes the random draws repeatable. */
  seed?: number;
  read?: FaultRule;
  write?: FaultRule;
  delete?: FaultRule;
  /** Applies to the classes that have no rule of their own. */
  all?: FaultRule;
}

const rate = (value: unknown, field: string): number | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !(value >= 0 && value <= 1))
    throw new SandboxConfigError(`${field} must be a number from 0 to 1`);
  return value;
};

const nonNegative = (value: unknown, field: string): number | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value))
    throw new SandboxConfigError(`${field} must be a non-negative number`);
  return value;
};

function object(value: unknown, field: string): Record<string, unknown> {
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new SandboxConfigError(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function faultRule(value: unknown, field: string): FaultRule | undefined {
  if (value === undefined) return undefined;
  const v = object(value, field);
  const unknown = Object.keys(v).filter(
    (k) =>
      !["errorRate", "errorStatuses", "throttleRate", "latencyMs", "dropRate", "lostResponseRate"].includes(
        k,
      ),
  );
  if (unknown.length) throw new SandboxConfigError(`${field}: unknown field(s) ${unknown.join(", ")}`);
  const statuses = v.errorStatuses;
  if (
    statuses !== undefined &&
    (!Array.isArray(statuses) || statuses.some((s) => !Number.isInteger(s) || s < 500 || s > 599))
  )
    throw new SandboxConfigError(`${field}.errorStatuses must be a list of 5xx statuses`);
  return {
    errorRate: rate(v.errorRate, `${field}.errorRate`),
    errorStatuses: statuses as number[] | undefined,
    throttleRate: rate(v.throttleRate, `${field}.throttleRate`),
    latencyMs: nonNegative(v.latencyMs, `${field}.latencyMs`),
    dropRate: rate(v.dropRate, `${field}.dropRate`),
    lostResponseRate: rate(v.lostResponseRate, `${field}.lostResponseRate`),
  };
}

export function parseFaults(value: unknown): FaultSettings {
  const v = object(value, "faults");
  const unknown = Object.keys(v).filter((k) => !["seed", "read", "write", "delete", "all"].includes(k));
  if (unknown.length) throw new SandboxConfigError(`faults: unknown field(s) ${unknown.join(", ")}`);
  if (v.seed !== undefined && !Number.isInteger(v.seed))
    throw new SandboxConfigError("faults.seed must be an integer");
  return {
    seed: v.seed as number | undefined,
    read: faultRule(v.read, "faults.read"),
    write: faultRule(v.write, "faults.write"),
    delete: faultRule(v.delete, "faults.delete"),
    all: faultRule(v.all, "faults.all"),
  };
}

/** Merges a partial settings update, checking every field. */
export function mergeSettings(current: EmulatorSettings, update: unknown): EmulatorSettings {
  const v = object(update, "settings");
  const known = [
    "throttling",
    "replicationDelaySeconds",
    "ficWriteSeconds",
    "roleAssignmentLimit",
    "pageSize",
    "lro",
  ];
  const unknown = Object.keys(v).filter((k) => !known.includes(k));
  if (unknown.length) throw new SandboxConfigError(`settings: unknown field(s) ${unknown.join(", ")}`);
  const next: EmulatorSettings = { ...current, lro: { ...current.lro } };
  if (v.throttling !== undefined) {
    if (typeof v.throttling !== "boolean")
      throw new SandboxConfigError("settings.throttling must be true or false");
    next.throttling = v.throttling;
  }
  next.replicationDelaySeconds =
    nonNegative(v.replicationDelaySeconds, "settings.replicationDelaySeconds") ??
    next.replicationDelaySeconds;
  next.ficWriteSeconds = nonNegative(v.ficWriteSeconds, "settings.ficWriteSeconds") ?? next.ficWriteSeconds;
  for (const field of ["roleAssignmentLimit", "pageSize"] as const) {
    const n = v[field];
    if (n !== undefined) {
      if (!Number.isInteger(n) || (n as number) < 1)
        throw new SandboxConfigError(`settings.${field} must be a positive integer`);
      next[field] = n as number;
    }
  }
  if (v.lro !== undefined) {
    const lro = object(v.lro, "settings.lro");
    if (lro.enabled !== undefined) {
      if (typeof lro.enabled !== "boolean")
        throw new SandboxConfigError("settings.lro.enabled must be true or false");
      next.lro.enabled = lro.enabled;
    }
    next.lro.durationSeconds =
      nonNegative(lro.durationSeconds, "settings.lro.durationSeconds") ?? next.lro.durationSeconds;
  }
  return next;
}
