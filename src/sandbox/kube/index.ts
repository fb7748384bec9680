export interface KubeEmulatorOptions {
  /** Loopback unless told otherwise: the emulator is not for production. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** When given, state is loaded from and saved to this folder, and the kubeconfig written there. */
  stateDir?: string;
}

export interface KubeEmulator {
  /** Base URL of the API server, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** A kubeconfig file that kubectl and @kubernetes/client-node use as is. */
  readonly kubeconfigPath: string;
  close(): Promise<void>;
}

export async function startKubeEmulator(_options: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  throw new Error("the Kubernetes emulator is not built yet");
}
