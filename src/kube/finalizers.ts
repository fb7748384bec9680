import { AzidError } from "../util/errors.js";
import type { JsonPatch, KubeClient } from "./client.js";
import { isNotFound, isPreconditionFailure, KubeApiError } from "./errors.js";
import type { KubeObject, ResourceType } from "./resources.js";

/** azid's finalizer on the objects whose Azure side it must clean up before they go. */
export const AZID_FINALIZER = "azid.dev/cleanup";

/** Re-reads after a lost race before the conflict goes to the error policy (a retry). */
const MAX_ATTEMPTS = 5;

export function hasFinalizer(object: KubeObject, finalizer: string): boolean {
  return object.metadata?.finalizers?.includes(finalizer) ?? false;
}

export function isBeingDeleted(object: KubeObject): boolean {
  return Boolean(object.metadata?.deletionTimestamp);
}

export class FinalizerError extends AzidError {
  override readonly name = "FinalizerError";
  readonly errorCode = "kube.ObjectBeingDeleted";
  readonly code = "ObjectBeingDeleted";
}

/**
 * Adds the finalizer unless the object has it, before the reconcile writes anything to Azure.
 * The patch tests the finalizer list it extends (or the resourceVersion, when there is no list
 * yet), so a concurrent change is never overwritten: a lost race re-reads and tries again.
 * Returns the object as it is afterwards.
 */
export async function ensureFinalizer<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceType,
  object: T,
  finalizer: string,
): Promise<T> {
  return withRetries(client, resource, object, async (current) => {
    if (hasFinalizer(current, finalizer)) return current;
    if (isBeingDeleted(current)) {
      // The API server refuses new finalizers on an object being deleted; nothing was written for it.
      throw new FinalizerError(`${describe(current)} is being deleted; ${finalizer} cannot be added`);
    }
    const finalizers = current.metadata?.finalizers;
    const patch: JsonPatch = finalizers
      ? [
          { op: "test", path: "/metadata/finalizers", value: finalizers },
          { op: "add", path: "/metadata/finalizers/-", value: finalizer },
        ]
      : [
          { op: "test", path: "/metadata/resourceVersion", value: current.metadata?.resourceVersion },
          { op: "add", path: "/metadata/finalizers", value: [finalizer] },
        ];
    return patchOf(client, resource, current, patch);
  });
}

/**
 * Removes the finalizer, once cleanup is done, with a `test` of the entry it removes: another
 * controller's finalizers and any concurrent change stay. Returns the object afterwards, or
 * undefined when it is gone (the last finalizer of a deleted object lets it go).
 */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceType,
  object: T,
  finalizer: string,
): Promise<T | undefined> {
  try {
    let gone = false;
    const result = await withRetries(client, resource, object, async (current) => {
      const finalizers = current.metadata?.finalizers ?? [];
      const index = finalizers.indexOf(finalizer);
      if (index < 0) return current;
      const patched = await patchOf(client, resource, current, [
        { op: "test", path: `/metadata/finalizers/${index}`, value: finalizer },
        { op: "remove", path: `/metadata/finalizers/${index}` },
      ]);
      // The API server deletes the object in that same request and answers with its last stored
      // state, which still lists the finalizer.
      gone = isBeingDeleted(current) && finalizers.length === 1;
      return patched;
    });
    return gone ? undefined : result;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function withRetries<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceType,
  object: T,
  attempt: (current: T) => Promise<T>,
): Promise<T> {
  let current = object;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(current);
    } catch (error) {
      if (!isPreconditionFailure(error) || tries >= MAX_ATTEMPTS) throw error;
      const { namespace = "", name = "" } = current.metadata ?? {};
      const fresh = await client.get<T>(resource, namespace, name);
      if (!fresh) throw new KubeApiError(404, "NotFound", `${describe(current)} is gone`, { cause: error });
      current = fresh;
    }
  }
}

function patchOf<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceType,
  object: T,
  patch: JsonPatch,
): Promise<T> {
  return client.jsonPatch<T>(resource, object.metadata?.namespace ?? "", object.metadata?.name ?? "", patch);
}

function describe(object: KubeObject): string {
  const { namespace, name } = object.metadata ?? {};
  return `${object.kind ?? "object"} ${namespace ? `${namespace}/` : ""}${name}`;
}

/** What a reconcile behind a finalizer does: make the world match, or clean up before the object goes. */
export interface FinalizerHandlers<T extends KubeObject, R> {
  apply(object: T): Promise<R>;
  /** `done`: nothing is left to clean up, the finalizer may go. */
  cleanup(object: T): Promise<{ done: boolean; result: R }>;
}

/**
 * kube-rs's `finalizer`: an object without the finalizer gets it and the reconcile ends there
 * (the update it causes reconciles it again, now safe to act on); an object being deleted is
 * cleaned up, and the finalizer removed once cleanup is done; an object being deleted without
 * the finalizer is none of ours any more. Everything else is applied.
 */
export async function withFinalizer<T extends KubeObject, R>(
  client: KubeClient,
  resource: ResourceType,
  object: T,
  finalizer: string,
  handlers: FinalizerHandlers<T, R>,
): Promise<R | undefined> {
  const held = hasFinalizer(object, finalizer);
  if (isBeingDeleted(object)) {
    if (!held) return undefined;
    const { done, result } = await handlers.cleanup(object);
    if (done) await removeFinalizer(client, resource, object, finalizer);
    return done ? undefined : result;
  }
  if (!held) {
    await ensureFinalizer(client, resource, object, finalizer);
    return undefined;
  }
  return handlers.apply(object);
}
