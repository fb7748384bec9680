import { armIdKey } from "../api/arm-id.js";
import type { PatchResourceIdentity, ReadTarget } from "../plan/actions.js";
import * as build from "../plan/build.js";
import { changeFor } from "../plan/identity-block.js";
import type { ResourceIdentity } from "../plan/observed.js";
import type { Execution } from "./executor.js";
import type { TargetLock } from "./target-lock.js";

type Send = (action: PatchResourceIdentity | ReadTarget) => Promise<Execution>;

/**
 * An identity PATCH planned from a read that may be stale by the time it is sent: under the
 * target's lock, the planned intent (attach, detach, enable, disable) is re-applied to the
 * target's identity block as it is now, so that concurrent changes by other resources are kept.
 * "As it is now" is the block the previous PATCH left when this process is the only writer
 * (the CLI), or a fresh read otherwise (controller replicas).
 */
export class IdentityPatches {
  /** Each PATCHed target's block after this process's last PATCH ("unknown": read it). */
  private readonly blocks = new Map<string, ResourceIdentity | "unknown">();

  /** Also serialises a vault's tenant repair (SetVaultTenant in the executor). */
  constructor(readonly lock: TargetLock) {}

  patch(action: PatchResourceIdentity, send: Send): Promise<Execution> {
    const key = armIdKey(action.resourceId);
    return this.lock.withLock(key, () => this.rebased(action, key, send));
  }

  private async rebased(action: PatchResourceIdentity, key: string, send: Send): Promise<Execution> {
    let block = this.lock.soleWriter ? this.blocks.get(key) : "unknown";
    if (block === "unknown") {
      const read = await send(build.readTarget(action.owner, action.resourceId));
      if (read.result.failure || read.result.target?.state !== "present") return read;
      block = read.result.target.identity ?? { type: "None" };
    }
    let patch = action;
    if (block && action.intent) {
      const change = changeFor(action.intent, block);
      if (!change) return { result: { resourceIdentity: block } };
      patch = { ...action, identity: change.identity, expected: change.expected };
    }
    const outcome = await send(patch);
    const after = outcome.result.resourceIdentity;
    // Failed or still in progress: whatever comes next must read the target first.
    this.blocks.set(key, !outcome.result.failure && after ? after : "unknown");
    return outcome;
  }
}
