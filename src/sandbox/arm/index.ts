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
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly timeScale: number;
  close(): Promise<void>;
}

export async function startArmEmulator(_options: ArmEmulatorOptions = {}): Promise<ArmEmulator> {
  throw new Error("the ARM emulator is not built yet");
}
