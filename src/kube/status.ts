import { setCondition } from "../api/conditions.js";
import type { Condition } from "../api/schemas/common.js";
import type { Logger } from "../observability/logger.js";
import type { KubeClient } from "./client.js";
import { isConflict, KubeApiError } from "./errors.js";
import type { KubeObject, ResourceType } from "./resources.js";

// The one Condition type and its helpers live in api/; re-exported for this module's users.
export type { ConditionUpdate } from "../api/conditions.js";
export { kubeTime, setCondition } from "../api/conditions.js";
export type { Condition } from "../api/schemas/common.js";

export interface StatusWriteResult<T> {
  /** False when the status was already as asked: no request was sent. */
  written: boolean;
  /** The object as the server has it after the write (or the object given, when nothing was written). */
  object: T;
}

export interface StatusWriterOptions {
  client: KubeClient;
  logger?: Logger;
  now?: () => Date;
  /** Re-reads after a 409 before giving up (the conflict then goes to the error policy: a retry). */
  maxConflictRetries?: number;
}

type Status = Record<string, unknown> & { conditions?: Condition[] };

/**
 * Writes an object's status through the /status subresource, as the reconcile computed it from the
 * object it read:
 * - `observedGeneration` (of the status and of each condition) is that object's generation;
 * - a condition's lastTransitionTime is kept while its status stays, and set to now when it changes;
 * - nothing is sent when the result equals the status the object already has;
 * - the write carries the object's resourceVersion; a 409 re-reads the object and tries again,
 *   unless someone else changed the status meanwhile: the reconcile then computed from a stale
 *   status (a lagging cache) and what it remembered there (what azid owns) could be lost, so the
 *   conflict is thrown for the reconcile to run again on the fresh object.
 */
export class StatusWriter {
  private readonly now: () => Date;

  constructor(private readonly options: StatusWriterOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async write<T extends KubeObject>(
    resource: ResourceType,
    object: T,
    status: Record<string, unknown>,
  ): Promise<StatusWriteResult<T>> {
    const generation = object.metadata?.generation;
    const retries = this.options.maxConflictRetries ?? 5;
    let current = object;
    for (let attempt = 0; ; attempt++) {
      const desired = this.complete(status, current, generation);
      if (sameJson(desired, current.status ?? {})) return { written: false, object: current };
      try {
        const written = await this.options.client.replaceStatus(resource, { ...current, status: desired });
        return { written: true, object: written };
      } catch (error) {
        if (!isConflict(error) || attempt >= retries) throw error;
        const { namespace = "", name = "" } = current.metadata ?? {};
        this.options.logger?.debug({ namespace, name, attempt }, "status write conflicted; re-reading");
        const fresh = await this.options.client.get<T>(resource, namespace, name);
        if (!fresh) {
          throw new KubeApiError(404, "NotFound", `${resource.kind} ${namespace}/${name} is gone`, {
            cause: error,
          });
        }
        const staleInput = !sameJson(fresh.status ?? {}, object.status ?? {});
        const alreadyThere = sameJson(this.complete(status, fresh, generation), fresh.status ?? {});
        if (staleInput && !alreadyThere) throw error;
        current = fresh;
      }
    }
  }

  /** The status to store: the generation it describes, and transition times against what the object has. */
  private complete(
    status: Record<string, unknown>,
    current: KubeObject,
    generation: number | undefined,
  ): Status {
    const result: Status = { ...status };
    if (generation !== undefined) result.observedGeneration = generation;
    const conditions = (status as Status).conditions;
    if (Array.isArray(conditions)) {
      const existing = (current.status as Status | undefined)?.conditions;
      const now = this.now();
      let merged: Condition[] = existing ?? [];
      // Applied one by one onto what the object has, so times carry over; then put in the order asked.
      for (const condition of conditions) {
        merged = setCondition(merged, condition, {
          now,
          generation: generation ?? condition.observedGeneration,
        });
      }
      result.conditions = conditions.map(
        (condition) => merged.find((candidate) => candidate.type === condition.type)!,
      );
    }
    return result;
  }
}

/** Structural equality of JSON values; absent and undefined members are the same. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) {
    if (!sameJson(left[key], right[key])) return false;
  }
  return true;
}
