// Everything a command needs to talk to Azure, built from the shared flags: endpoints (Azure's,
// or the sandbox's from --sandbox FILE), the CA to trust, per-subscription credentials, the
// in-process rate gate scaled to the sandbox's time scale, and the request log.
import { readFileSync } from "node:fs";
import { AzureClients, type AzureEndpoints, PUBLIC_CLOUD } from "../azure/clients.js";
import {
  CredentialProvider,
  CredentialsFileError,
  type SubscriptionCredential,
} from "../azure/credentials.js";
import type { Execution } from "../azure/executor.js";
import { Inventory } from "../azure/inventory.js";
import { LocalRateGate } from "../azure/local-gate.js";
import { routeSdkLogs } from "../azure/sdk-logging.js";
import { readSandboxFile, type SandboxConnection, SandboxFileError } from "../config/sandbox-file.js";
import type { Logger } from "../observability/logger.js";
import type { Action } from "../plan/actions.js";
import { CliError } from "./exit-codes.js";
import { RequestLog } from "./request-log.js";
import { RunExecutor } from "./run-executor.js";

export interface AzureFlags {
  sandbox?: string;
  armEndpoint?: string;
  graphEndpoint?: string;
  authorityHost?: string;
  caFile?: string;
  credentialsFile?: string;
}

/**
 * The client id the CLI presents to the sandbox's Entra endpoint (it accepts any id and secret);
 * a fixed one so that runs share one principal, as a pipeline's service principal would.
 */
export const SANDBOX_CLI_CLIENT_ID = "a2d1dc11-0000-4000-8000-00000000c11a";
const SANDBOX_SECRET = "sandbox";

export interface AzureSession {
  readonly clients: AzureClients;
  readonly credentials: CredentialProvider;
  readonly executor: RunExecutor;
  readonly inventory: Inventory;
  readonly gate: LocalRateGate;
  readonly requests: RequestLog;
  readonly endpoints: AzureEndpoints;
  readonly timeScale: number;
  readonly sandbox?: SandboxConnection;
  /** Listeners of every executed action (progress, reports). */
  onOutcome(listener: (action: Action, outcome: Execution) => void): void;
}

export function openAzureSession(flags: AzureFlags, logger: Logger): AzureSession {
  routeSdkLogs(logger);
  const sandbox = flags.sandbox ? readSandbox(flags.sandbox) : undefined;
  const ca = flags.caFile ? readCa(flags.caFile) : sandbox?.caPem;
  const endpoints: AzureEndpoints = {
    arm: trimSlash(flags.armEndpoint ?? sandbox?.arm ?? PUBLIC_CLOUD.arm),
    graph: trimSlash(flags.graphEndpoint ?? sandbox?.graph ?? PUBLIC_CLOUD.graph),
    // A cloud named by its endpoint (sovereign clouds) takes tokens for that endpoint.
    ...(flags.armEndpoint ? { armAudience: trimSlash(flags.armEndpoint) } : {}),
    ...(flags.graphEndpoint ? { graphAudience: trimSlash(flags.graphEndpoint) } : {}),
    ...(ca ? { ca } : {}),
  };
  const authorityHost = flags.authorityHost ?? sandbox?.authorityHost;
  const fallback: SubscriptionCredential | undefined = sandbox?.tenantId
    ? { tenantId: sandbox.tenantId, clientId: SANDBOX_CLI_CLIENT_ID, clientSecret: SANDBOX_SECRET }
    : undefined;
  let credentials: CredentialProvider;
  try {
    credentials = new CredentialProvider({
      ...(flags.credentialsFile ? { file: flags.credentialsFile } : {}),
      ...(fallback ? { fallback } : {}),
      ...(authorityHost ? { authorityHost } : {}),
      ...(ca ? { tlsOptions: { ca } } : {}),
    });
  } catch (error) {
    if (error instanceof CredentialsFileError) throw new CliError(error.message, "InvalidInput");
    throw error;
  }
  const timeScale = sandbox?.timeScale ?? 1;
  const gate = new LocalRateGate({ timeScale });
  const requests = new RequestLog({ timeScale });
  const clients = new AzureClients({
    endpoints,
    credentials,
    gate,
    logger,
    onArmCall: (call) => {
      requests.record(call);
      logger.debug({ method: call.method, url: withoutQuery(call.url), status: call.status }, "ARM call");
    },
  });
  const listeners: Array<(action: Action, outcome: Execution) => void> = [];
  const executor = new RunExecutor({
    clients,
    gate,
    onOutcome: (action, outcome) => {
      for (const listener of listeners) listener(action, outcome);
    },
  });
  return {
    clients,
    credentials,
    executor,
    inventory: new Inventory(clients),
    gate,
    requests,
    endpoints,
    timeScale,
    ...(sandbox ? { sandbox } : {}),
    onOutcome: (listener) => listeners.push(listener),
  };
}

function readSandbox(path: string): SandboxConnection {
  try {
    const sandbox = readSandboxFile(path);
    if (!sandbox.arm) throw new SandboxFileError(`${path}: the sandbox has no ARM emulator ('arm')`);
    return sandbox;
  } catch (error) {
    if (error instanceof SandboxFileError) throw new CliError(error.message, "InvalidInput");
    throw new CliError(`--sandbox ${path}: ${(error as Error).message}`, "InvalidInput");
  }
}

function readCa(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new CliError(`--ca-file ${path}: ${(error as Error).message}`, "InvalidInput");
  }
}

const trimSlash = (url: string) => url.replace(/\/+$/, "");
const withoutQuery = (url: string) => url.split("?")[0];
