import type { KubeClient } from "../kube/client.js";
import { Informer } from "../kube/informer.js";
import type { Kind, KubeObject, ResourceType } from "../kube/resources.js";
import type { CacheReader, IndexFunc } from "../kube/store.js";
import type { Logger } from "../observability/logger.js";
import { ControllerError } from "./errors.js";
import type { Caches, ControllerDefinition } from "./reconciler.js";

export interface InformerSetOptions {
  client: KubeClient;
  namespaces: readonly string[];
  logger: Logger;
  backoff?: { baseMs: number; capMs: number };
}

function resourceId(resource: ResourceType): string {
  return `${resource.group}/${resource.version}/${resource.plural}`;
}

/** One shared informer per kind that any controller reconciles, watches or reads. */
export class InformerSet implements Caches {
  private readonly informers = new Map<string, Informer>();

  constructor(options: InformerSetOptions, controllers: readonly ControllerDefinition[]) {
    const kinds = new Map<
      string,
      { resource: ResourceType; indexers: Record<string, IndexFunc<KubeObject>> }
    >();
    const declare = (resource: ResourceType) => {
      const id = resourceId(resource);
      if (!kinds.has(id)) kinds.set(id, { resource, indexers: {} });
      return kinds.get(id)!;
    };
    for (const controller of controllers) {
      declare(controller.resource);
      for (const watch of controller.watches ?? []) declare(watch.resource);
      for (const read of controller.reads ?? []) declare(read);
      for (const index of controller.indexes ?? []) {
        const kind = declare(index.resource);
        if (kind.indexers[index.name] && kind.indexers[index.name] !== index.index) {
          throw new ControllerError(
            "DuplicateIndex",
            `two different indexes named ${index.name} on ${index.resource.plural}`,
          );
        }
        kind.indexers[index.name] = index.index;
      }
    }
    for (const [id, { resource, indexers }] of kinds) {
      this.informers.set(
        id,
        new Informer({
          client: options.client,
          resource,
          namespaces: options.namespaces,
          labelSelector: resource.cache?.labelSelector,
          transform: resource.cache?.transform,
          indexers,
          logger: options.logger,
          backoff: options.backoff,
        }),
      );
    }
  }

  informer<T extends KubeObject = KubeObject>(resource: Kind<T>): Informer<T> {
    const informer = this.informers.get(resourceId(resource));
    if (!informer)
      throw new ControllerError(
        "NotCached",
        `${resource.plural} is not cached: declare it as a watch or a read`,
      );
    // One map for every kind: the handle says which type this one holds.
    return informer as unknown as Informer<T>;
  }

  of<T extends KubeObject = KubeObject>(resource: Kind<T>): CacheReader<T> {
    return this.informer<T>(resource);
  }

  all(): Informer[] {
    return [...this.informers.values()];
  }

  start(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  hasSynced(): boolean {
    return this.all().every((informer) => informer.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.all().map((informer) => informer.waitForSync(signal)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((informer) => informer.stop()));
  }
}
