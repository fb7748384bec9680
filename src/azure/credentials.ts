import { existsSync, readFileSync, statSync } from "node:fs";
import type { TokenCredential } from "@azure/core-auth";
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  type TokenCredentialOptions,
  WorkloadIdentityCredential,
} from "@azure/identity";
import { parse as parseYaml } from "yaml";
import { AzidError } from "../util/errors.js";

/**
 * How azid authenticates to one subscription. After a tenant move the subscription's
 * tenant changes, and ARM refuses tokens from the old one, so credentials are configured
 * per subscription. Secrets never appear inline: they are files (mounted Secrets).
 */
export interface SubscriptionCredential {
  tenantId: string;
  clientId?: string;
  /** Workload identity: the projected service-account token file. */
  federatedTokenFile?: string;
  /** A client secret in this file (a mounted Secret); a change to it is picked up like a change to the config. */
  clientSecretFile?: string;
  /**
   * A client secret given in code, never read from the YAML file (the sandbox's credential,
   * which the sandbox accepts whatever it is).
   */
  clientSecret?: string;
}

export interface CredentialsFile {
  /** Used for subscriptions not listed; absent = DefaultAzureCredential from the environment. */
  default?: SubscriptionCredential;
  subscriptions?: Record<string, SubscriptionCredential>;
}

export class CredentialsFileError extends AzidError {
  override readonly name = "CredentialsFileError";
  readonly errorCode = "azure.InvalidCredentialsFile";
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseCredentialsFile(text: string, source: string): CredentialsFile {
  const raw = (parseYaml(text) ?? {}) as unknown;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CredentialsFileError(`${source}: expected a mapping with 'default' and/or 'subscriptions'`);
  }
  const file = raw as Record<string, unknown>;
  const result: CredentialsFile = {};
  if (file.default !== undefined) result.default = parseEntry(file.default, `${source}: default`);
  if (file.subscriptions !== undefined) {
    if (typeof file.subscriptions !== "object" || file.subscriptions === null) {
      throw new CredentialsFileError(
        `${source}: 'subscriptions' must be a mapping of subscription id to credential`,
      );
    }
    result.subscriptions = {};
    for (const [id, entry] of Object.entries(file.subscriptions)) {
      if (!GUID.test(id))
        throw new CredentialsFileError(`${source}: '${id}' is not a subscription id (a GUID)`);
      result.subscriptions[id.toLowerCase()] = parseEntry(entry, `${source}: subscriptions.${id}`);
    }
  }
  return result;
}

function parseEntry(value: unknown, where: string): SubscriptionCredential {
  if (typeof value !== "object" || value === null)
    throw new CredentialsFileError(`${where}: expected a mapping`);
  const entry = value as Record<string, unknown>;
  const known = new Set(["tenantId", "clientId", "federatedTokenFile", "clientSecretFile"]);
  for (const key of Object.keys(entry)) {
    if (!known.has(key)) throw new CredentialsFileError(`${where}: unknown field '${key}'`);
  }
  const str = (key: string): string | undefined => {
    const v = entry[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "")
      throw new CredentialsFileError(`${where}.${key}: expected a non-empty string`);
    return v;
  };
  const tenantId = str("tenantId");
  if (!tenantId || !GUID.test(tenantId))
    throw new CredentialsFileError(`${where}.tenantId: expected a tenant GUID`);
  const credential: SubscriptionCredential = {
    tenantId,
    clientId: str("clientId"),
    federatedTokenFile: str("federatedTokenFile"),
    clientSecretFile: str("clientSecretFile"),
  };
  if (credential.federatedTokenFile && credential.clientSecretFile) {
    throw new CredentialsFileError(`${where}: give federatedTokenFile or clientSecretFile, not both`);
  }
  if ((credential.federatedTokenFile || credential.clientSecretFile) && !credential.clientId) {
    throw new CredentialsFileError(`${where}.clientId: required with federatedTokenFile or clientSecretFile`);
  }
  return credential;
}

export interface CredentialProviderOptions {
  /** YAML file as above; re-read when it changes, so a new tenant's credential needs no restart. */
  file?: string;
  /** Used when no file is given or it does not name the subscription. */
  fallback?: SubscriptionCredential;
  /** The Entra authority (the sandbox's, in sandbox mode). */
  authorityHost?: string;
  /** Extra CAs to trust for the authority (the sandbox's). */
  tlsOptions?: TokenCredentialOptions["tlsOptions"];
}

/** One TokenCredential per subscription, rebuilt when the credentials file changes. */
export class CredentialProvider {
  private config: CredentialsFile = {};
  private stamp = "";
  private readonly cache = new Map<string, TokenCredential>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: CredentialProviderOptions = {}) {
    this.reloadIfChanged();
  }

  /** The credential for a subscription (lowercased id). */
  forSubscription(subscriptionId: string): TokenCredential {
    const id = subscriptionId.toLowerCase();
    const entry = this.config.subscriptions?.[id] ?? this.config.default ?? this.options.fallback;
    const key = entry ? JSON.stringify(entry) : "default";
    let credential = this.cache.get(key);
    if (!credential) {
      credential = this.build(entry);
      this.cache.set(key, credential);
    }
    return credential;
  }

  /** The tenant azid expects a subscription to be in, when configured. */
  tenantFor(subscriptionId: string): string | undefined {
    const id = subscriptionId.toLowerCase();
    return (this.config.subscriptions?.[id] ?? this.config.default ?? this.options.fallback)?.tenantId;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Re-reads the file when it or a secret file it names changed (size or mtime); returns
   * true when it did. A file that does not parse throws and leaves the old config in force.
   */
  reloadIfChanged(): boolean {
    const file = this.options.file;
    if (!file) return false;
    if (!existsSync(file)) throw new CredentialsFileError(`credentials file ${file} does not exist`);
    if (fileStamp([file, ...secretFiles(this.config)]) === this.stamp) return false;
    this.config = parseCredentialsFile(readFileSync(file, "utf8"), file);
    this.stamp = fileStamp([file, ...secretFiles(this.config)]);
    this.cache.clear();
    for (const listener of this.listeners) listener();
    return true;
  }

  private build(entry: SubscriptionCredential | undefined): TokenCredential {
    const common: TokenCredentialOptions & { disableInstanceDiscovery?: boolean } = {
      authorityHost: this.options.authorityHost,
      tlsOptions: this.options.tlsOptions,
      // A custom authority (the sandbox, a sovereign cloud) is not in Entra's discovery list.
      disableInstanceDiscovery: this.options.authorityHost !== undefined,
    };
    if (!entry) return new DefaultAzureCredential(common);
    if (entry.federatedTokenFile) {
      return new WorkloadIdentityCredential({
        ...common,
        tenantId: entry.tenantId,
        clientId: entry.clientId,
        tokenFilePath: entry.federatedTokenFile,
      });
    }
    if (entry.clientSecretFile || entry.clientSecret !== undefined) {
      const secret = entry.clientSecretFile
        ? readFileSync(entry.clientSecretFile, "utf8").trim()
        : entry.clientSecret;
      return new ClientSecretCredential(entry.tenantId, entry.clientId ?? "", secret ?? "", common);
    }
    // No secret and no token file: the environment's credential (workload identity, a managed
    // identity), for this tenant and, when given, this client.
    return new DefaultAzureCredential({
      ...common,
      tenantId: entry.tenantId,
      ...(entry.clientId
        ? { managedIdentityClientId: entry.clientId, workloadIdentityClientId: entry.clientId }
        : {}),
    } as TokenCredentialOptions);
  }
}

function secretFiles(config: CredentialsFile): string[] {
  return [config.default, ...Object.values(config.subscriptions ?? {})].flatMap((entry) =>
    entry?.clientSecretFile ? [entry.clientSecretFile] : [],
  );
}

function fileStamp(paths: string[]): string {
  return paths
    .map((path) => {
      if (!existsSync(path)) return "-";
      const stat = statSync(path);
      return `${stat.size}:${stat.mtimeMs}`;
    })
    .join("|");
}
