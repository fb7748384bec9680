// The ARM emulator: Azure Resource Manager, a Microsoft Graph subset and the Entra token endpoint
// on one loopback HTTPS listener, for tests, demos and local play (never for production).
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Caller, DEFAULT_CALLER_OID, Emulator, type MoveResult, type TokenRequest } from "./emulator.js";
import { SandboxConfigError } from "./errors.js";
import { isGuid, newGuid } from "./ids.js";
import { JwtSigner } from "./jwt.js";
import { createRequestListener } from "./server.js";
import {
  type EmulatorSettings,
  type FaultSettings,
  mergeSettings,
  parseFaults,
  type SettingsUpdate,
} from "./settings.js";
import type { RequestListener, RequestRecord, StatsSnapshot } from "./stats.js";
import type { DirectoryObject, PolicyRule, PrincipalKind } from "./store.js";
import { loadOrCreateTlsMaterial } from "./tls.js";

export type {
  Caller,
  EmulatorSettings,
  FaultSettings,
  MoveResult,
  PolicyRule,
  RequestListener,
  RequestRecord,
  SettingsUpdate,
  StatsSnapshot,
  TokenRequest,
};
export { DEFAULT_CALLER_OID };

export interface ArmEmulatorOptions {
  /** Loopback unless told otherwise: the emulator is not for production. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Speeds up token-bucket refill, Retry-After, latencies and long-running operations together. */
  timeScale?: number;
  /** When given, state is loaded from and saved to this folder, and the TLS material kept there. */
  stateDir?: string;
  /** The tenant and subscription the sandbox starts with (random GUIDs when absent). */
  tenantId?: string;
  subscriptionId?: string;
  /** Initial behaviour switches (throttling, replication delay, LRO, ...), merged over the defaults. */
  settings?: SettingsUpdate;
}

export interface PrincipalSpec {
  kind?: PrincipalKind;
  displayName?: string;
  appId?: string;
  /** An application registered with a secret must present it at the token endpoint. */
  clientSecret?: string;
  /** Start invisible to role assignments without principalType, as a freshly created principal. */
  replicating?: boolean;
}

export interface ArmEmulator {
  /** Base URL of ARM, e.g. https://127.0.0.1:PORT */
  readonly url: string;
  /** Base URL of the Microsoft Graph subset (requests go to `${graphUrl}/v1.0/...`). */
  readonly graphUrl: string;
  /** Authority host for @azure/identity credentials (the sandbox's Entra token endpoint). */
  readonly authorityHost: string;
  /** PEM of the CA that signed the emulator's certificate, and the file holding it. */
  readonly caPem: string;
  readonly caFile: string;
  /** The first subscription's tenant when the emulator started (a move later does not change it). */
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly timeScale: number;

  /** Adds a subscription in a tenant (the tenant is created when new). */
  addSubscription(subscriptionId: string, tenantId: string, displayName?: string): void;
  /** Moves a subscription to another tenant, with the effects Microsoft documents; answers what it deleted. */
  moveSubscription(subscriptionId: string, tenantId: string): MoveResult;
  addTenant(tenantId: string): void;
  /** Adds a user, group or service principal to a tenant's directory; answers its object. */
  addPrincipal(tenantId: string, objectId: string, spec?: PrincipalSpec): DirectoryObject;
  setFaults(faults: FaultSettings): void;
  getFaults(): FaultSettings;
  setPolicies(rules: PolicyRule[]): void;
  getPolicies(): PolicyRule[];
  setCallerRestricted(oid: string, restricted: boolean): void;
  restrictedCallers(): string[];
  updateSettings(update: SettingsUpdate): EmulatorSettings;
  getSettings(): EmulatorSettings;
  stats(): StatsSnapshot;
  resetStats(): void;
  /** Calls `listener` for every answered ARM request (method, path, class, status, time); answers the unsubscribe. */
  onRequest(listener: RequestListener): () => void;
  /** Refills every throttling bucket. */
  resetThrottling(): void;
  /** Mints an access token as the sandbox's Entra would (tenant, object id, app id, audience). */
  issueToken(request: Partial<TokenRequest>): string;
  /** Writes state.json now (it is also written a moment after each change, and on close). */
  save(): void;
  close(): Promise<void>;
}

const SAVE_DELAY_MS = 500;

export async function startArmEmulator(options: ArmEmulatorOptions = {}): Promise<ArmEmulator> {
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0) || !Number.isFinite(timeScale))
    throw new SandboxConfigError("timeScale must be a positive number");
  for (const [name, value] of [
    ["tenantId", options.tenantId],
    ["subscriptionId", options.subscriptionId],
  ] as const)
    if (value !== undefined && !isGuid(value))
      throw new SandboxConfigError(`${name} '${value}' is not a GUID`);

  const ownDir = options.stateDir ? undefined : mkdtempSync(join(tmpdir(), "azid-arm-"));
  const dir = options.stateDir ?? ownDir!;
  mkdirSync(dir, { recursive: true });
  const tls = loadOrCreateTlsMaterial(dir);
  const caFile = join(dir, "ca.pem");
  const signer = JwtSigner.loadOrCreate(options.stateDir);
  const statePath = join(dir, "state.json");

  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem });
  // Azure's front ends keep an idle connection about 4 minutes. Node's default of 5 s closed
  // clients' kept-alive sockets just as they were reused ("socket hang up" in a test).
  server.keepAliveTimeout = 4 * 60_000;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the ARM emulator has no TCP address");
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `https://${urlHost}:${address.port}`;

  const em = new Emulator(timeScale, signer, url);
  let saved: { tenantId: string; subscriptionId: string } | undefined;
  if (options.stateDir) {
    try {
      const data = JSON.parse(readFileSync(statePath, "utf8")) as { sandbox?: typeof saved };
      em.load(data);
      saved = data.sandbox;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  if (options.settings) em.settings = mergeSettings(em.settings, options.settings);
  const subscriptionId = options.subscriptionId ?? saved?.subscriptionId ?? newGuid();
  // After a tenant move and a restart, the sandbox's tenant is the subscription's current one.
  const tenantId =
    options.tenantId ?? em.store.subscription(subscriptionId)?.tenantId ?? saved?.tenantId ?? newGuid();
  em.store.ensureTenant(tenantId);
  if (!em.store.subscription(subscriptionId))
    em.addSubscription(subscriptionId, tenantId, "Sandbox subscription");

  let timer: NodeJS.Timeout | undefined;
  const save = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!options.stateDir) return;
    const tmp = `${statePath}.tmp`;
    // The state holds the client secrets of registered applications: readable by the owner only.
    writeFileSync(
      tmp,
      JSON.stringify({ sandbox: { tenantId, subscriptionId }, ...(em.toJSON() as object) }),
      {
        mode: 0o600,
      },
    );
    renameSync(tmp, statePath);
  };
  em.setChangeListener(() => {
    if (!options.stateDir || timer) return;
    timer = setTimeout(save, SAVE_DELAY_MS);
    timer.unref();
  });

  const listener = createRequestListener(em, { tenantId, subscriptionId });
  server.on("request", (req, res) => {
    listener(req, res).catch(() => res.destroy());
  });

  let closed = false;
  return {
    url,
    graphUrl: url,
    authorityHost: url,
    caPem: tls.caPem,
    caFile,
    tenantId,
    subscriptionId,
    timeScale,
    addSubscription: (id, tenant, displayName) => em.addSubscription(id, tenant, displayName),
    moveSubscription: (id, tenant) => em.moveSubscription(id, tenant),
    addTenant: (tenant) => em.addTenant(tenant),
    addPrincipal: (tenant, objectId, spec = {}) => em.addPrincipal(tenant, objectId, spec),
    setFaults: (faults) => em.faults.set(parseFaults(faults)),
    getFaults: () => em.faults.get(),
    setPolicies: (rules) => em.setPolicies(rules),
    getPolicies: () => em.policies,
    setCallerRestricted: (oid, restricted) => em.setRestricted(oid, restricted),
    restrictedCallers: () => [...em.restricted],
    updateSettings(update) {
      em.settings = mergeSettings(em.settings, update);
      em.changed();
      return em.settings;
    },
    getSettings: () => em.settings,
    stats: () => em.stats.snapshot(),
    resetStats: () => em.stats.reset(),
    onRequest: (listener) => em.stats.onRequest(listener),
    resetThrottling: () => em.resetThrottling(),
    issueToken: (request) => em.issueToken({ tenantId, ...request }).token,
    save,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      save();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
