// azid's own Azure layer pointed at an ARM emulator, as `--sandbox` points the controller at it.

import type { ArmEmulator } from "@azid/arm-emulator";
import { AzureClients } from "../../src/azure/clients.js";
import { CredentialProvider } from "../../src/azure/credentials.js";
import { ActionExecutor } from "../../src/azure/executor.js";
import type { IdentityPatches } from "../../src/azure/identity-patches.js";
import { OPEN_GATE, type RateGate } from "../../src/azure/rate-gate.js";

/** The client id azid uses in the sandbox (any id works there; Entra ids are GUIDs). */
export const SANDBOX_CLIENT_ID = "a2d1d000-0000-4000-8000-00000000a21d";

export interface SandboxAzureOptions {
  gate?: RateGate;
  credentialsFile?: string;
  /** The tenant azid's credential is from (the sandbox's first tenant by default). */
  tenantId?: string;
  identityPatches?: IdentityPatches;
  vaultReadTtlMs?: number;
}

export function sandboxCredentials(arm: ArmEmulator, options: SandboxAzureOptions = {}): CredentialProvider {
  return new CredentialProvider({
    file: options.credentialsFile,
    fallback: {
      tenantId: options.tenantId ?? arm.tenantId,
      clientId: SANDBOX_CLIENT_ID,
      clientSecret: "sandbox",
    },
    authorityHost: arm.authorityHost,
    tlsOptions: { ca: arm.caPem },
  });
}

export function sandboxClients(arm: ArmEmulator, options: SandboxAzureOptions = {}) {
  return new AzureClients({
    endpoints: {
      arm: arm.url,
      armAudience: "https://management.azure.com",
      graph: arm.graphUrl,
      ca: arm.caPem,
    },
    credentials: sandboxCredentials(arm, options),
    gate: options.gate ?? OPEN_GATE,
  });
}

export function sandboxExecutor(arm: ArmEmulator, options: SandboxAzureOptions = {}) {
  return new ActionExecutor({
    clients: sandboxClients(arm, options),
    gate: options.gate ?? OPEN_GATE,
    identityPatches: options.identityPatches,
    ...(options.vaultReadTtlMs !== undefined ? { vaultReadTtlMs: options.vaultReadTtlMs } : {}),
  });
}
