// The emulator's built-in controllers react to writes after the request that made them has
// been answered, like the controllers of a real control plane: keys are coalesced and
// reconciled on a later turn of the event loop, and retried after a failure.

import type { UserInfo } from "../admission/user-info.js";
import { type ResourceType, versionOf } from "../api/resource-type.js";
import type { ApiContext, RequestScope, WriteOptions } from "../rest/scope.js";

const RETRY_DELAY_MS = 50;

export class ReconcileQueue {
  private readonly pending = new Set<string>();
  private scheduled = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly reconcile: (key: string) => void) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private flush(): void {
    this.scheduled = false;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      if (this.stopped) return;
      try {
        this.reconcile(key);
      } catch {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.add(key);
        }, RETRY_DELAY_MS);
        this.timers.add(timer);
      }
    }
  }
}

/** A scope for writes the control plane makes itself, in the stored version. */
export function systemScope(
  ctx: ApiContext,
  type: ResourceType,
  namespace: string,
  subresource: RequestScope["subresource"] = "",
): RequestScope {
  const version = versionOf(type, type.storageVersion) ?? type.versions[0]!;
  return { ctx, type, version, namespace, subresource };
}

/** Writes of the control plane go through admission as its own users do. */
export function systemWriteOptions(fieldManager: string, user: UserInfo): WriteOptions {
  return { dryRun: false, fieldManager, fieldValidation: "Ignore", warnings: [], user };
}
