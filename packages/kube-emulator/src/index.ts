// The Kubernetes API emulator: an in-process API server over real HTTP on loopback that
// kubectl and @kubernetes/client-node use as they use a real cluster.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { type AuditRecord, PolicyAdmission } from "./admission/dispatcher.js";
import { APISERVER_USER } from "./admission/user-info.js";
import { builtinTypes } from "./api/builtin-types.js";
import { Registry } from "./api/registry.js";
import { DEFAULT_SERVICE_ACCOUNT_ISSUER, ServiceAccountIssuer } from "./auth/service-account-issuer.js";
import { CrdController } from "./controllers/crd-controller.js";
import { NamespaceController } from "./controllers/namespace-controller.js";
import { PolicyStatusController } from "./controllers/policy-status-controller.js";
import { systemScope, systemWriteOptions } from "./controllers/reconcile-queue.js";
import { ApiServer, type OutageMode } from "./http/server.js";
import type { ApiContext } from "./rest/scope.js";
import { GenericStore } from "./rest/store.js";
import { StatePersistence } from "./storage/persistence.js";
import { Storage } from "./storage/storage.js";

export type { AuditRecord };

export interface KubeEmulatorOptions {
  /** Loopback unless told otherwise: the emulator is not for production. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** When given, state is loaded from and saved to this folder, and the kubeconfig written there. */
  stateDir?: string;
  /** Events kept per resource for watches and continue tokens (default 10,000). */
  watchHistory?: number;
  /** How often watches that asked for bookmarks get one (default 60 s, as the API server). */
  bookmarkIntervalMs?: number;
  /** The service-account issuer (`--service-account-issuer`): the `iss` of serviceaccounts/token
   *  tokens and of `/.well-known/openid-configuration` (default https://kubernetes.default.svc.cluster.local). */
  serviceAccountIssuer?: string;
  /** The least time a deleted namespace stays Terminating (default 500 ms; a real one takes longer). */
  namespaceTerminatingMs?: number;
}

/** Hooks for tests: the faults a real control plane shows. */
export interface KubeEmulatorAdmin {
  /** Ends every open watch, abruptly (connection reset, the default) or cleanly; returns how many. */
  dropWatches(options?: { abrupt?: boolean }): number;
  /** Forgets the watch history and keeps at most `capacity` events per resource from now on:
   *  a watch or continue token from an older resourceVersion gets 410 Expired. */
  compactWatchHistory(capacity?: number): void;
  /** Makes the server unavailable: "refuse" closes the port, "503" answers every request with 503.
   *  Open watches are dropped. Ends after `forMs` when given, or on makeAvailable(). */
  makeUnavailable(options?: { mode?: OutageMode; forMs?: number }): Promise<void>;
  makeAvailable(): Promise<void>;
  /** Answers this share (0 to 1; 0 ends it) of status subresource writes with 409 Conflict, the
   *  answer a writer gets when the object changed since it read it. */
  conflictStatusWrites(rate: number): void;
  /** How many status writes conflictStatusWrites has refused so far. */
  readonly statusConflicts: number;
  /** The current global resourceVersion. */
  readonly resourceVersion: number;
  /** How many watches are open. */
  watchCount(): number;
  /** What a real API server's audit log would hold for the latest requests that got admission
   *  annotations (ValidatingAdmissionPolicy Audit actions and auditAnnotations), oldest first. */
  auditRecords(): AuditRecord[];
}

export interface KubeEmulator {
  /** Base URL of the API server, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** The service-account issuer its tokens carry and its discovery document names. */
  readonly serviceAccountIssuer: string;
  /** A kubeconfig file that kubectl and @kubernetes/client-node use as is. */
  readonly kubeconfigPath: string;
  readonly admin: KubeEmulatorAdmin;
  close(): Promise<void>;
}

const INITIAL_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export async function startKubeEmulator(options: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  const persistence = options.stateDir ? new StatePersistence(ensureDir(options.stateDir)) : undefined;
  const restored = persistence?.load();
  const storage = new Storage({
    historyCapacity: options.watchHistory ?? 10_000,
    resourceVersion: restored?.resourceVersion,
  });
  const registry = new Registry(builtinTypes());
  const admission = new PolicyAdmission(storage, registry);
  const ctx: ApiContext = { storage, registry, admission, now: () => new Date() };
  const store = new GenericStore();
  if (restored) {
    for (const [id, saved] of restored.stores) {
      const resourceStore = storage.store(id, saved.namespaced);
      for (const object of saved.objects.values()) storage.load(resourceStore, object);
    }
  }
  const crds = new CrdController(ctx, store);
  const namespaces = new NamespaceController(ctx, store, options.namespaceTerminatingMs ?? 500);
  const policyStatus = new PolicyStatusController(ctx, store);
  crds.serveAll();
  namespaces.resumeAll();
  policyStatus.resumeAll();
  persistence?.attach(storage);
  if (!restored) bootstrap(ctx, store);

  const issuer = ServiceAccountIssuer.loadOrCreate(
    options.serviceAccountIssuer ?? DEFAULT_SERVICE_ACCOUNT_ISSUER,
    options.stateDir,
  );
  const server = new ApiServer(ctx, store, {
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    watch: { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000, maxBufferedBytes: 64 * 1024 * 1024 },
    issuer,
  });
  await server.listen();

  const ownDir = options.stateDir ? undefined : mkdtempSync(join(tmpdir(), "azid-kube-"));
  const kubeconfigPath = join(options.stateDir ?? ownDir!, "kubeconfig");
  writeFileSync(kubeconfigPath, kubeconfig(server.url), { mode: 0o600 });

  let outageTimer: NodeJS.Timeout | undefined;
  let outageActive = false;
  const endOutage = async (): Promise<void> => {
    clearTimeout(outageTimer);
    if (!outageActive) return;
    outageActive = false;
    await server.endOutage();
  };
  const admin: KubeEmulatorAdmin = {
    dropWatches({ abrupt = true } = {}) {
      const count = admin.watchCount();
      storage.terminateWatchers(abrupt);
      return count;
    },
    compactWatchHistory(capacity) {
      storage.compactHistory(capacity);
    },
    async makeUnavailable({ mode = "refuse", forMs } = {}) {
      clearTimeout(outageTimer);
      if (!outageActive) {
        outageActive = true;
        await server.beginOutage(mode);
      }
      if (forMs !== undefined) outageTimer = setTimeout(() => void endOutage(), forMs);
    },
    makeAvailable: endOutage,
    conflictStatusWrites: (rate) => server.conflictStatusWrites(rate),
    get statusConflicts() {
      return server.statusConflictsAnswered;
    },
    get resourceVersion() {
      return storage.resourceVersion;
    },
    watchCount() {
      return storage.allStores().reduce((sum, s) => sum + s.watchers.size, 0);
    },
    auditRecords: () => admission.auditRecords(),
  };

  return {
    url: server.url,
    serviceAccountIssuer: issuer.issuer,
    kubeconfigPath,
    admin,
    async close() {
      clearTimeout(outageTimer);
      crds.stop();
      namespaces.stop();
      policyStatus.stop();
      await server.close();
      persistence?.close(storage);
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** The namespaces every cluster starts with. */
function bootstrap(ctx: ApiContext, store: GenericStore): void {
  const type = ctx.registry.get("", "namespaces")!;
  for (const name of INITIAL_NAMESPACES) {
    store.create(
      systemScope(ctx, type, ""),
      systemWriteOptions("kube-apiserver", APISERVER_USER),
      { apiVersion: "v1", kind: "Namespace", metadata: { name } },
      "update",
    );
  }
}

/** client-node refuses an http:// server unless TLS verification is marked as skipped; there is no TLS to verify. */
function kubeconfig(url: string): string {
  return toYaml({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "azid-sandbox", cluster: { server: url, "insecure-skip-tls-verify": true } }],
    users: [{ name: "azid-sandbox", user: {} }],
    contexts: [
      {
        name: "azid-sandbox",
        context: { cluster: "azid-sandbox", user: "azid-sandbox", namespace: "default" },
      },
    ],
    "current-context": "azid-sandbox",
    preferences: {},
  });
}

function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
