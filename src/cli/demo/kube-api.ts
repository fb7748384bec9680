// What the demo does with the sandbox's Kubernetes API, as a GitOps sync or kubectl would:
// server-side apply of objects (CRDs, a namespace, azid's resources) and reads of them. Plain
// HTTP on loopback: the emulator needs no authentication.

import {
  AZID_RESOURCES,
  collectionPath,
  NAMESPACES,
  type ResourceType,
  SERVICE_ACCOUNTS,
  WORKLOAD_KINDS,
} from "../../kube/resources.js";
import { AzidError } from "../../util/errors.js";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

const FIELD_MANAGER = "azid-demo";

const CRDS: ResourceType = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};

function resourceOf(kind: string): ResourceType {
  const resource =
    kind === "Namespace"
      ? NAMESPACES
      : kind === CRDS.kind
        ? CRDS
        : kind === SERVICE_ACCOUNTS.kind
          ? SERVICE_ACCOUNTS
          : (WORKLOAD_KINDS.find((workload) => workload.kind === kind) ?? AZID_RESOURCES[kind]);
  if (!resource) throw new Error(`the demo does not apply ${kind}`);
  return resource;
}

export class KubeApi {
  constructor(private readonly server: string) {}

  /** Server-side apply: creates the object or updates the fields the demo owns. */
  async apply(object: KubeObject): Promise<KubeObject> {
    const resource = resourceOf(object.kind);
    const path = `${collectionPath(resource, object.metadata.namespace)}/${encodeURIComponent(object.metadata.name)}`;
    return this.call("PATCH", `${path}?fieldManager=${FIELD_MANAGER}&force=true`, object, {
      "content-type": "application/apply-patch+yaml",
    });
  }

  async get<T = KubeObject>(kind: string, name: string, namespace?: string): Promise<T | undefined> {
    const path = `${collectionPath(resourceOf(kind), namespace)}/${encodeURIComponent(name)}`;
    try {
      return await this.call("GET", path);
    } catch (error) {
      if ((error as KubeApiCallError).status === 404) return undefined;
      throw error;
    }
  }

  async list<T = KubeObject>(kind: string, namespace?: string): Promise<T[]> {
    return (await this.call<{ items: T[] }>("GET", collectionPath(resourceOf(kind), namespace))).items;
  }

  /** The service-account issuer the API server announces, as the controller discovers it. */
  async serviceAccountIssuer(): Promise<string | undefined> {
    return (await this.call<{ issuer?: string }>("GET", "/.well-known/openid-configuration")).issuer;
  }

  private async call<T>(method: string, path: string, body?: unknown, headers = {}): Promise<T> {
    const response = await fetch(`${this.server}${path}`, {
      method,
      headers: { accept: "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not a Status: keep the text
      }
      throw new KubeApiCallError(`${method} ${path}: ${response.status} ${message}`, response.status);
    }
    return JSON.parse(text) as T;
  }
}

export class KubeApiCallError extends AzidError {
  override readonly name = "KubeApiCallError";
  readonly errorCode = "cli.DemoKubeApi";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
