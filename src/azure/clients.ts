import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { ResourceManagementClient } from "@azure/arm-resources";
import { SubscriptionClient } from "@azure/arm-resources-subscriptions";
import type { TokenCredential } from "@azure/core-auth";
import type { Pipeline } from "@azure/core-rest-pipeline";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { CredentialProvider } from "./credentials.js";
import { GraphClient } from "./graph.js";
import { type ArmCallRecord, armGatePolicy } from "./pipeline.js";
import { OPEN_GATE, type RateGate } from "./rate-gate.js";

export interface AzureEndpoints {
  /** ARM base URL (https://management.azure.com, or the sandbox's). */
  arm: string;
  /** The audience of ARM tokens; differs from `arm` only for the sandbox. */
  armAudience?: string;
  /** Microsoft Graph base URL (https://graph.microsoft.com, or the sandbox's). */
  graph: string;
  graphAudience?: string;
  /** Extra CA certificates to trust (PEM): the sandbox's. Never a way to skip verification. */
  ca?: string;
}

export const PUBLIC_CLOUD: AzureEndpoints = {
  arm: "https://management.azure.com",
  graph: "https://graph.microsoft.com",
};

export interface ArmClients {
  readonly msi: ManagedServiceIdentityClient;
  readonly authorization: AuthorizationManagementClient;
  readonly resources: ResourceManagementClient;
  readonly subscriptions: SubscriptionClient;
  readonly keyVault: KeyVaultManagementClient;
  readonly graph: GraphClient;
}

export interface AzureClientsOptions {
  endpoints: AzureEndpoints;
  credentials: CredentialProvider;
  gate?: RateGate;
  metrics?: Metrics;
  logger?: Logger;
  /** Told about every ARM attempt (the CLI's request log). */
  onArmCall?: (record: ArmCallRecord) => void;
}

/**
 * The SDK clients of one subscription, built once with azid's pipeline (rate gate, 429
 * handling, metrics, the trusted CA) and rebuilt when the credentials change.
 */
export class AzureClients {
  private readonly cache = new Map<string, ArmClients>();

  constructor(private readonly options: AzureClientsOptions) {
    options.credentials.onChange(() => this.cache.clear());
  }

  forSubscription(subscriptionId: string): ArmClients {
    const id = subscriptionId.toLowerCase();
    let clients = this.cache.get(id);
    if (!clients) {
      clients = this.build(id, this.options.credentials.forSubscription(id));
      this.cache.set(id, clients);
    }
    return clients;
  }

  private build(subscriptionId: string, credential: TokenCredential): ArmClients {
    const { endpoints, gate = OPEN_GATE, metrics, logger, onArmCall } = this.options;
    const tlsOptions = endpoints.ca ? { ca: endpoints.ca } : undefined;
    const common = {
      endpoint: endpoints.arm,
      $host: endpoints.arm,
      credentialScopes: [`${endpoints.armAudience ?? PUBLIC_CLOUD.arm}/.default`],
      tlsOptions,
      // Transient faults get two quick retries inside the call; 429s never reach the SDK's
      // retry (the gate policy throws first), so no worker sleeps on Retry-After.
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
    };
    const withGate = <T extends { pipeline: Pipeline }>(client: T): T => {
      client.pipeline.addPolicy(armGatePolicy(gate, metrics, logger, onArmCall), { afterPhase: "Retry" });
      return client;
    };
    return {
      msi: withGate(new ManagedServiceIdentityClient(credential, subscriptionId, common)),
      authorization: withGate(new AuthorizationManagementClient(credential, subscriptionId, common)),
      resources: withGate(new ResourceManagementClient(credential, subscriptionId, common)),
      subscriptions: withGate(new SubscriptionClient(credential, common)),
      // A core-client (TypeSpec) client: the same endpoint, CA and retries, scopes under credentials.
      keyVault: withGate(
        new KeyVaultManagementClient(credential, subscriptionId, {
          endpoint: endpoints.arm,
          credentials: { scopes: common.credentialScopes },
          tlsOptions,
          retryOptions: common.retryOptions,
        }),
      ),
      graph: new GraphClient({
        endpoint: endpoints.graph,
        audience: endpoints.graphAudience ?? PUBLIC_CLOUD.graph,
        credential,
        tlsOptions,
      }),
    };
  }
}
