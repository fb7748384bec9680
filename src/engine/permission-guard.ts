import { armIdKey } from "../api/arm-id.js";
import { type Permission, permits } from "../api/role-permissions.js";
import type { AzureClients } from "../azure/clients.js";
import { PermissionError } from "../azure/errors.js";
import type { Execution } from "../azure/executor.js";
import { callerPermissions } from "../azure/permissions.js";
import type { Action, WriteAction } from "../plan/actions.js";
import { type RequiredPermission, requiredPermissions } from "../plan/required-permissions.js";

/**
 * Checks azid's own permissions (Microsoft.Authorization/permissions, one read per scope,
 * cached a while) before a wave of writes is sent: a write the credential may not make is not
 * sent; it fails at once as AuthorizationFailed naming the action, which the planner shows on
 * the item and the error policy makes terminal until permissions change. A scope whose
 * permissions cannot be read is not held against the write: Azure will answer for itself.
 */
export class PermissionGuard {
  private readonly cache = new Map<
    string,
    { permissions: Promise<Permission[] | undefined>; expires: number }
  >();

  constructor(
    private readonly clients: AzureClients,
    private readonly armEndpoint: string,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** The refused writes of a wave, by action key, as the executor would have answered them. */
  async vet(writes: readonly Action[], subscriptionId: string): Promise<Map<string, Execution>> {
    const refused = new Map<string, Execution>();
    for (const write of writes as WriteAction[]) {
      for (const needed of requiredPermissions(write)) {
        if (await this.allowed(needed, subscriptionOf(needed.scope) ?? subscriptionId)) continue;
        refused.set(write.key, refusal(needed));
        break;
      }
    }
    return refused;
  }

  /**
   * Permissions are inherited down the scope tree: what is allowed on the subscription or the
   * resource group is allowed on everything in it, so the broad scopes are asked first and the
   * usual case costs one read per subscription, not one per resource.
   */
  private async allowed(needed: RequiredPermission, subscriptionId: string): Promise<boolean> {
    for (const scope of broadestFirst(needed.scope)) {
      const permissions = await this.permissionsAt(scope, subscriptionId);
      if (!permissions || permits(permissions, needed.action)) return true;
    }
    return false;
  }

  /** Forgets what was read, e.g. after the credentials changed. */
  clear(): void {
    this.cache.clear();
  }

  private permissionsAt(scope: string, subscriptionId: string): Promise<Permission[] | undefined> {
    const key = armIdKey(scope);
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached && cached.expires > now) return cached.permissions;
    const permissions = callerPermissions(this.clients, subscriptionId, this.armEndpoint, scope).catch(
      () => undefined,
    );
    this.cache.set(key, { permissions, expires: now + this.ttlMs });
    return permissions;
  }
}

function refusal(needed: RequiredPermission): Execution {
  const message =
    `azid's credential does not have authorization to perform action '${needed.action}' over scope ` +
    `'${needed.scope}' (checked before the write; grant it, e.g. with the role azid preflight suggests)`;
  const error = new PermissionError(message, "AuthorizationFailed", needed.action, needed.scope);
  return { result: { failure: { code: error.code, message, status: 403 } }, error };
}

/** The subscription, the resource group, then the scope itself (those that exist in its path). */
function broadestFirst(scope: string): string[] {
  const subscription = /^\/subscriptions\/[^/]+/i.exec(scope)?.[0];
  const group = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+/i.exec(scope)?.[0];
  return [...new Set([subscription, group, scope].filter((s): s is string => s !== undefined))];
}

function subscriptionOf(scope: string): string | undefined {
  return /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
}
