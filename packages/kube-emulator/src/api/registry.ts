// Every resource the server serves, by group and plural name: the built-in kinds plus one
// entry per established CRD. Discovery and OpenAPI are derived from it.
import { compareKubeVersions } from "./crd.js";
import { type ResourceType, type ResourceVersion, versionOf } from "./resource-type.js";

export interface ServedVersion {
  type: ResourceType;
  version: ResourceVersion;
}

export class Registry {
  private readonly types = new Map<string, ResourceType>();
  /** Increases on every change, so that discovery and OpenAPI documents can be cached. */
  private revision = 0;

  constructor(builtins: ResourceType[]) {
    for (const type of builtins) this.types.set(key(type.group, type.resource), type);
  }

  get generation(): number {
    return this.revision;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  get(group: string, resource: string): ResourceType | undefined {
    return this.types.get(key(group, resource));
  }

  resolve(group: string, version: string, resource: string): ServedVersion | undefined {
    const type = this.get(group, resource);
    const served = type && versionOf(type, version);
    return type && served ? { type, version: served } : undefined;
  }

  /** The type that owns a store (for events, the core/v1 one). */
  typeForStore(storeId: string): ResourceType | undefined {
    for (const type of this.types.values()) if (type.storeId === storeId) return type;
    return undefined;
  }

  set(type: ResourceType): void {
    this.types.set(key(type.group, type.resource), type);
    this.revision++;
  }

  remove(group: string, resource: string): void {
    if (this.types.delete(key(group, resource))) this.revision++;
  }

  /** Groups with their served versions, the preferred version first; the core group first. */
  groups(): { group: string; versions: string[] }[] {
    const byGroup = new Map<string, Set<string>>();
    for (const type of this.types.values()) {
      let versions = byGroup.get(type.group);
      if (!versions) {
        versions = new Set();
        byGroup.set(type.group, versions);
      }
      for (const version of type.versions) versions.add(version.name);
    }
    return [...byGroup.entries()]
      .map(([group, versions]) => ({ group, versions: [...versions].sort(compareKubeVersions) }))
      .sort((a, b) => (a.group === "" ? -1 : b.group === "" ? 1 : a.group.localeCompare(b.group)));
  }

  /** The resources served in one group-version. */
  resourcesIn(group: string, version: string): ServedVersion[] {
    const out: ServedVersion[] = [];
    for (const type of this.types.values()) {
      if (type.group !== group) continue;
      const served = versionOf(type, version);
      if (served) out.push({ type, version: served });
    }
    return out.sort((a, b) => a.type.resource.localeCompare(b.type.resource));
  }
}

function key(group: string, resource: string): string {
  return `${group}/${resource}`;
}
