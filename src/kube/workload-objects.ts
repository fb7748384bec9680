// The Kubernetes objects the workload wiring reads and writes (src/engine/workload-wiring.ts's
// WiringPort): ServiceAccount annotations, exports, workloads. With caches (the controller), reads
// come from them and only what they cannot tell is asked of the API server; without (the CLI), every
// read is a GET or a list.
import { FIELD_MANAGER, type KubeClient } from "./client.js";
import {
  CONFIG_MAPS,
  type KubeObject,
  MANAGED_BY_AZID,
  MANAGED_BY_LABEL,
  type ResourceType,
  SECRETS,
  SERVICE_ACCOUNTS,
  WORKLOAD_KINDS,
} from "./resources.js";
import type { CacheReader } from "./store.js";

/** On an export: the `Kind/namespace/name` of the identity that writes it. */
export const OWNER_ANNOTATION = "azid.dev/owner";
const CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id";
const TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id";

type ExportKind = "ConfigMap" | "Secret";

/**
 * The writes this process just made to ServiceAccounts and exports, so that the watch event each
 * one causes does not reconcile the identity that made it again (client-go's controller
 * "expectations"): without it every write cost a second reconcile, and its ARM reads. Keyed
 * `Kind/namespace/name`, with a fingerprint of what was written; an event that shows exactly that
 * consumes the entry. Bounded: a write whose event never comes is forgotten.
 */
export class OwnWrites {
  private readonly expected = new Map<string, string>();

  constructor(private readonly maxEntries = 10_000) {}

  expect(key: string, fingerprint: string): void {
    if (this.expected.size >= this.maxEntries) this.expected.clear();
    this.expected.set(key, fingerprint);
  }

  /** True when the object shows the write this process made (then forgotten). */
  consume(key: string, fingerprint: string): boolean {
    if (this.expected.get(key) !== fingerprint) return false;
    this.expected.delete(key);
    return true;
  }
}

/** The process's own writes of the wiring (one controller process, one set of informers). */
export const ownWiringWrites = new OwnWrites();

/** What a write of the wiring is recognised by in the object a watch event carries. */
export function wiringFingerprint(kind: string, object: KubeObject): string {
  if (kind === "ServiceAccount") {
    const annotations = object.metadata?.annotations ?? {};
    return `${annotations[CLIENT_ID_ANNOTATION] ?? ""}|${annotations[TENANT_ID_ANNOTATION] ?? ""}`;
  }
  const data = (object as { data?: Record<string, string> }).data ?? {};
  return JSON.stringify(
    Object.keys(data)
      .sort()
      .map((key) => [key, data[key]]),
  );
}

export interface WorkloadObjectCaches {
  serviceAccounts: CacheReader;
  configMaps: CacheReader;
  secrets: CacheReader;
}

interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  key: string;
}

export interface WorkloadView {
  kind: string;
  name: string;
  serviceAccountName: string;
  podLabels: Record<string, string>;
  podAnnotations: Record<string, string>;
}

export class WorkloadObjects {
  constructor(
    private readonly client: KubeClient,
    private readonly caches?: WorkloadObjectCaches,
    private readonly own?: OwnWrites,
  ) {}

  async serviceAccount(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const object = this.caches
      ? this.caches.serviceAccounts.get(namespace, name)
      : await this.client.get<KubeObject>(SERVICE_ACCOUNTS, namespace, name);
    return object ? (object.metadata?.annotations ?? {}) : undefined;
  }

  async clientIdManagers(namespace: string, name: string): Promise<string[]> {
    const object = await this.client.get<KubeObject>(SERVICE_ACCOUNTS, namespace, name);
    return (object?.metadata?.managedFields ?? [])
      .filter((entry) => {
        const fields = entry.fieldsV1 as
          | { "f:metadata"?: { "f:annotations"?: Record<string, unknown> } }
          | undefined;
        return (
          entry.manager !== FIELD_MANAGER &&
          fields?.["f:metadata"]?.["f:annotations"]?.[`f:${CLIENT_ID_ANNOTATION}`] !== undefined
        );
      })
      .map((entry) => entry.manager ?? "unknown");
  }

  /** From the cache of azid's exports; a GET only when it is not there (absent, or someone else's). */
  async exportObject(
    kind: ExportKind,
    namespace: string,
    name: string,
  ): Promise<{ data: Record<string, string>; owners: string[] } | undefined> {
    const resource = kind === "ConfigMap" ? CONFIG_MAPS : SECRETS;
    const cache = kind === "ConfigMap" ? this.caches?.configMaps : this.caches?.secrets;
    const object =
      cache?.get(namespace, name) ?? (await this.client.get<KubeObject>(resource, namespace, name));
    if (!object) return undefined;
    const raw = (object as { data?: Record<string, string> }).data ?? {};
    const data =
      kind === "Secret"
        ? Object.fromEntries(
            Object.entries(raw).map(([key, value]) => [key, Buffer.from(value, "base64").toString()]),
          )
        : raw;
    const owners = [
      ...(object.metadata?.ownerReferences ?? []).map((owner) => owner.uid),
      ...(object.metadata?.annotations?.[OWNER_ANNOTATION]
        ? [object.metadata.annotations[OWNER_ANNOTATION]]
        : []),
    ];
    return { data, owners };
  }

  async unwireServiceAccount(namespace: string, name: string): Promise<void> {
    const written = await this.client.apply(
      SERVICE_ACCOUNTS,
      namespace,
      name,
      { metadata: {} },
      { force: false },
    );
    this.own?.expect(`ServiceAccount/${namespace}/${name}`, wiringFingerprint("ServiceAccount", written));
  }

  async applyServiceAccount(
    namespace: string,
    name: string,
    annotations: Record<string, string>,
  ): Promise<void> {
    await this.client.apply(
      SERVICE_ACCOUNTS,
      namespace,
      name,
      { metadata: { annotations } },
      { force: true },
    );
  }

  async applyExport(
    kind: ExportKind,
    namespace: string,
    name: string,
    data: Record<string, string>,
    owner: Owner,
  ): Promise<void> {
    const { key, ...reference } = owner;
    const written = await this.client.apply(
      kind === "ConfigMap" ? CONFIG_MAPS : SECRETS,
      namespace,
      name,
      {
        metadata: {
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_AZID },
          annotations: { [OWNER_ANNOTATION]: key },
          ...(owner.uid
            ? { ownerReferences: [{ ...reference, controller: true, blockOwnerDeletion: false }] }
            : {}),
        },
        ...(kind === "Secret"
          ? {
              type: "Opaque",
              data: Object.fromEntries(
                Object.entries(data).map(([field, value]) => [field, Buffer.from(value).toString("base64")]),
              ),
            }
          : { data }),
      } as Omit<KubeObject, "apiVersion" | "kind">,
      { force: true },
    );
    this.own?.expect(`${kind}/${namespace}/${name}`, wiringFingerprint(kind, written));
  }

  /** Listed in the namespace when a client id changed: workloads are never cached. */
  async listWorkloads(namespace: string): Promise<WorkloadView[]> {
    return (await Promise.all(WORKLOAD_KINDS.map((kind) => this.listKind(kind, namespace)))).flat();
  }

  async patchWorkload(
    kind: string,
    namespace: string,
    name: string,
    patch: Record<string, unknown>,
  ): Promise<void> {
    const resource = WORKLOAD_KINDS.find((candidate) => candidate.kind === kind);
    if (!resource) throw new Error(`${kind} is not a workload kind azid restarts`);
    await this.client.mergePatch(resource, namespace, name, patch);
  }

  private async listKind(kind: ResourceType, namespace: string): Promise<WorkloadView[]> {
    const views: WorkloadView[] = [];
    let next: string | undefined;
    do {
      const page = await this.client.list<KubeObject>(kind, { namespace, limit: 500, continue: next });
      for (const object of page.items) {
        const template = (
          object.spec as
            | { template?: { metadata?: KubeObject["metadata"]; spec?: { serviceAccountName?: string } } }
            | undefined
        )?.template;
        views.push({
          kind: kind.kind,
          name: object.metadata?.name ?? "",
          serviceAccountName: template?.spec?.serviceAccountName || "default",
          podLabels: template?.metadata?.labels ?? {},
          podAnnotations: template?.metadata?.annotations ?? {},
        });
      }
      next = page.continue;
    } while (next);
    return views;
  }
}
