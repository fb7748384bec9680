import type { ResourceManagementClient } from "@azure/arm-resources";

/**
 * The api-version to read and PATCH a resource's `identity` with. Known types use a stable
 * version that carries `identity`; any other type asks its resource provider once
 * (GET /subscriptions/{s}/providers/{namespace}) and takes the newest stable version.
 */
const KNOWN: Readonly<Record<string, string>> = {
  "microsoft.compute/virtualmachines": "2024-11-01",
  "microsoft.compute/virtualmachinescalesets": "2024-11-01",
  "microsoft.web/sites": "2024-04-01",
  "microsoft.web/sites/slots": "2024-04-01",
  "microsoft.managedidentity/userassignedidentities": "2024-11-30",
};

export class ApiVersionResolver {
  private readonly discovered = new Map<string, Promise<Map<string, string>>>();

  async forType(resources: ResourceManagementClient, fullType: string): Promise<string> {
    const type = fullType.toLowerCase();
    const known = KNOWN[type];
    if (known) return known;
    const namespace = type.split("/")[0] as string;
    let versions = this.discovered.get(namespace);
    if (!versions) {
      versions = discover(resources, namespace);
      this.discovered.set(namespace, versions);
      versions.catch(() => this.discovered.delete(namespace));
    }
    const version = (await versions).get(type.slice(namespace.length + 1));
    if (!version) throw new Error(`resource provider ${namespace} has no resource type ${fullType}`);
    return version;
  }
}

async function discover(
  resources: ResourceManagementClient,
  namespace: string,
): Promise<Map<string, string>> {
  const provider = await resources.providers.get(namespace);
  const byType = new Map<string, string>();
  for (const resourceType of provider.resourceTypes ?? []) {
    const stable = (resourceType.apiVersions ?? []).filter((v) => !v.includes("preview")).sort();
    const newest = stable.at(-1) ?? (resourceType.apiVersions ?? []).slice().sort().at(-1);
    if (resourceType.resourceType && newest) byType.set(resourceType.resourceType.toLowerCase(), newest);
  }
  return byType;
}
