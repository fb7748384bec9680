import type { RoleAssignment, RoleDefinition } from "@azure/arm-authorization";
import type { Vault } from "@azure/arm-keyvault";
import type { Identity } from "@azure/arm-msi";
import type { GenericResource } from "@azure/arm-resources";
import { parseResourceId, resourceNameOf, resourceTypeOf } from "../api/arm-id.js";
import type { Metrics } from "../observability/metrics.js";
import { type Action, isRead, type LimitCharge } from "../plan/actions.js";
import type { ActionResult } from "../plan/apply-result.js";
import type {
  ObservedAppRoleAssignment,
  ObservedIdentity,
  ObservedRoleAssignment,
  ObservedRoleDefinition,
  ObservedTarget,
  ObservedVault,
  ResourceIdentity,
} from "../plan/observed.js";
import { ApiVersionResolver } from "./api-versions.js";
import type { ArmClients, AzureClients } from "./clients.js";
import {
  AzureError,
  NotFoundError,
  OperationInProgressError,
  ThrottledError,
  toAzureError,
} from "./errors.js";
import type { IdentityPatches } from "./identity-patches.js";
import type { RateGate } from "./rate-gate.js";
import { InProcessTargetLock } from "./target-lock.js";

/** Provisioning states during which a resource must not be read as settled nor written. */
const BUSY_STATES = new Set(["updating", "creating", "deleting", "accepted", "running"]);

export interface ExecutorOptions {
  clients: AzureClients;
  /** Paces the limit classes that HTTP methods do not tell apart (identity creation, FIC writes). */
  gate: RateGate;
  apiVersions?: ApiVersionResolver;
  /** Serialises identity PATCHes per target and rebases them on the target as it is now. */
  identityPatches?: IdentityPatches;
  /** Counts the identity-creation and credential-write holds of the gate (the pipeline counts the rest). */
  metrics?: Metrics;
  /**
   * How long a Key Vault read is shared by every action of this executor (0: only concurrent
   * reads). The identities granted on one vault then cost one read per resync; a write of this
   * executor to the vault forgets it.
   */
  vaultReadTtlMs?: number;
}

/** What execute() answers: the planner's ActionResult, plus the typed error behind a failure. */
export interface Execution {
  result: ActionResult;
  error?: AzureError;
}

/**
 * Runs one planned action against ARM or Graph with the unmodified SDK clients and turns the
 * answer into the planner's observed types. It never throws for an Azure answer: a failure
 * comes back as `result.failure` (for the planner) with the typed error (for the error policy).
 */
export class ActionExecutor {
  private readonly apiVersions: ApiVersionResolver;
  private readonly vaultReads = new Map<
    string,
    { read: Promise<ObservedVault | null>; expires: number; settled: boolean }
  >();
  private readonly localLock = new InProcessTargetLock();

  constructor(private readonly options: ExecutorOptions) {
    this.apiVersions = options.apiVersions ?? new ApiVersionResolver();
  }

  /**
   * @param subscriptionId the subscription of the azid resource the action works for: its
   *   credential also makes the Graph calls (Graph is per tenant, not per subscription).
   */
  async execute(action: Action, subscriptionId: string): Promise<Execution> {
    const patches = this.options.identityPatches;
    if (patches && action.kind === "PatchResourceIdentity" && action.intent) {
      return patches.patch(action, (step) => this.send(step, subscriptionId));
    }
    return this.send(action, subscriptionId);
  }

  /** One call, no serialisation: what execute() does for all but intent-carrying PATCHes. */
  protected async send(action: Action, subscriptionId: string): Promise<Execution> {
    try {
      await this.takeOperationTokens(action.limits);
      return { result: await this.run(action, subscriptionId) };
    } catch (thrown) {
      const error = toAzureError(thrown);
      const failure = { code: error.code, message: error.message, status: error.status || undefined };
      // A 404 answers a read (absent) or a delete (already gone): data for the planner, no error.
      const answered = error instanceof NotFoundError && (isRead(action) || action.kind.startsWith("Delete"));
      return answered ? { result: { failure } } : { result: { failure }, error };
    }
  }

  private async takeOperationTokens(limits: readonly LimitCharge[]): Promise<void> {
    const charges = limits.filter(
      (charge) => charge.class === "identityCreate" || charge.class === "ficWrite",
    );
    if (charges.length === 0) return;
    const decision = await this.options.gate.take(charges);
    if (!decision.granted) {
      for (const charge of charges) {
        this.options.metrics?.armThrottled.inc({
          subscription: charge.subscriptionId?.toLowerCase() ?? "none",
          class: charge.class,
          source: "gate",
        });
      }
      throw new ThrottledError(
        `azid's ${charges.map((c) => c.class).join("+")} budget is spent`,
        decision.retryAfterMs,
        "gate",
      );
    }
  }

  private clientsFor(subscriptionId: string): ArmClients {
    return this.options.clients.forSubscription(subscriptionId);
  }

  private async run(action: Action, ownerSubscription: string): Promise<ActionResult> {
    switch (action.kind) {
      case "ReadSubscription": {
        const subscription = await this.clientsFor(action.subscriptionId).subscriptions.subscriptions.get(
          action.subscriptionId,
        );
        return {
          subscription: {
            subscriptionId: subscription.subscriptionId ?? action.subscriptionId,
            tenantId: required(subscription.tenantId, "subscription.tenantId"),
          },
        };
      }
      case "ReadIdentity": {
        const { subscriptionId, resourceGroup, name } = identityParts(action.identityId);
        const identity = await this.clientsFor(subscriptionId).msi.userAssignedIdentities.get(
          resourceGroup,
          name,
        );
        return { identity: toObservedIdentity(identity) };
      }
      case "ListFederatedCredentials": {
        const { subscriptionId, resourceGroup, name } = identityParts(action.identityId);
        const credentials = [];
        for await (const credential of this.clientsFor(subscriptionId).msi.federatedIdentityCredentials.list(
          resourceGroup,
          name,
        )) {
          credentials.push({
            name: required(credential.name, "federatedCredential.name"),
            issuer: credential.issuer ?? "",
            subject: credential.subject ?? "",
            audiences: credential.audiences ?? [],
          });
        }
        return { federatedCredentials: credentials };
      }
      case "ListRoleAssignments": {
        const clients = this.clientsFor(subscriptionOf(action.listingScope) ?? ownerSubscription);
        const assignments: ObservedRoleAssignment[] = [];
        for await (const assignment of clients.authorization.roleAssignments.listForScope(
          action.listingScope,
          {
            filter: `principalId eq '${action.principalId}'`,
          },
        )) {
          assignments.push(toObservedAssignment(assignment));
        }
        return { roleAssignments: assignments };
      }
      case "ReadTarget":
        return { target: await this.readTarget(action.resourceId) };
      case "ReadRoleDefinition": {
        const definition = await this.clientsFor(action.subscriptionId).authorization.roleDefinitions.get(
          `/subscriptions/${action.subscriptionId}`,
          action.guid,
        );
        return { roleDefinition: toObservedDefinition(definition) };
      }
      case "FindRoleDefinitions": {
        const definitions: ObservedRoleDefinition[] = [];
        const filter = `roleName eq '${action.roleName.replace(/'/g, "''")}'`;
        for await (const definition of this.clientsFor(
          action.subscriptionId,
        ).authorization.roleDefinitions.list(`/subscriptions/${action.subscriptionId}`, { filter })) {
          definitions.push(toObservedDefinition(definition));
        }
        return { roleDefinitions: definitions };
      }
      case "ReadServicePrincipal": {
        const principal = await this.clientsFor(ownerSubscription).graph.findServicePrincipalByAppId(
          action.appId,
        );
        return {
          servicePrincipal: principal
            ? {
                objectId: principal.id,
                appId: principal.appId,
                appRoles: (principal.appRoles ?? []).map((role) => ({
                  id: role.id,
                  value: role.value,
                  isEnabled: role.isEnabled,
                })),
              }
            : null,
        };
      }
      case "ListAppRoleAssignments": {
        const assignments = await this.clientsFor(ownerSubscription).graph.listAppRoleAssignments(
          action.principalId,
        );
        return { appRoleAssignments: assignments.map(toObservedAppRoleAssignment) };
      }
      case "CreateIdentity": {
        const { subscriptionId, resourceGroup, name } = identityParts(action.identityId);
        let status = 0;
        const identity = await this.clientsFor(subscriptionId).msi.userAssignedIdentities.createOrUpdate(
          resourceGroup,
          name,
          { location: action.location, tags: action.tags },
          {
            onResponse: (response) => {
              status = response.status;
            },
          },
        );
        // 201: ARM made a new identity, which has no federated credentials yet; 200: the PUT met an
        // existing one (created meanwhile, or an answer lost and the call retried), which keeps its own.
        return {
          identity: toObservedIdentity(identity),
          ...(status === 201 ? { federatedCredentials: [] } : {}),
        };
      }
      case "UpdateIdentityTags": {
        const { subscriptionId, resourceGroup, name } = identityParts(action.identityId);
        const identity = await this.clientsFor(subscriptionId).msi.userAssignedIdentities.update(
          resourceGroup,
          name,
          {
            tags: action.tags,
          },
        );
        return { identity: toObservedIdentity(identity) };
      }
      case "DeleteIdentity": {
        const { subscriptionId, resourceGroup, name } = identityParts(action.identityId);
        await this.clientsFor(subscriptionId).msi.userAssignedIdentities.delete(resourceGroup, name);
        return {};
      }
      case "PutFederatedCredential": {
        const { subscriptionId, resourceGroup, name } = identityParts(action.identityId);
        await this.clientsFor(subscriptionId).msi.federatedIdentityCredentials.createOrUpdate(
          resourceGroup,
          name,
          action.name,
          { issuer: action.issuer, subject: action.subject, audiences: action.audiences },
        );
        return {};
      }
      case "DeleteFederatedCredential": {
        const { subscriptionId, resourceGroup, name } = identityParts(action.identityId);
        await this.clientsFor(subscriptionId).msi.federatedIdentityCredentials.delete(
          resourceGroup,
          name,
          action.name,
        );
        return {};
      }
      case "PutRoleAssignment": {
        const clients = this.clientsFor(subscriptionOf(action.scope) ?? ownerSubscription);
        const assignment = await clients.authorization.roleAssignments.create(action.scope, action.name, {
          roleDefinitionId: action.roleDefinitionId,
          principalId: action.principalId,
          principalType: action.principalType,
          condition: action.condition,
          conditionVersion: action.conditionVersion,
          description: action.assignmentDescription,
        });
        return { roleAssignment: toObservedAssignment(assignment) };
      }
      case "DeleteRoleAssignment": {
        const clients = this.clientsFor(subscriptionOf(action.scope) ?? ownerSubscription);
        await clients.authorization.roleAssignments.deleteById(action.roleAssignmentId);
        return {};
      }
      case "PatchResourceIdentity":
        return { resourceIdentity: await this.patchIdentity(action.resourceId, action.identity) };
      case "PutRoleDefinition": {
        const scope = `/subscriptions/${action.subscriptionId}`;
        const definition = await this.clientsFor(
          action.subscriptionId,
        ).authorization.roleDefinitions.createOrUpdate(scope, action.guid, {
          roleName: action.roleName,
          description: action.roleDescription,
          roleType: "CustomRole",
          permissions: action.permissions.map((permission) => ({
            actions: [...(permission.actions ?? [])],
            notActions: [...(permission.notActions ?? [])],
            dataActions: [...(permission.dataActions ?? [])],
            notDataActions: [...(permission.notDataActions ?? [])],
          })),
          assignableScopes: [...action.assignableScopes],
        });
        return { roleDefinition: toObservedDefinition(definition) };
      }
      case "DeleteRoleDefinition":
        await this.clientsFor(action.subscriptionId).authorization.roleDefinitions.delete(
          `/subscriptions/${action.subscriptionId}`,
          action.guid,
        );
        return {};
      case "GrantAppRole": {
        const granted = await this.clientsFor(ownerSubscription).graph.createAppRoleAssignment(
          action.principalId,
          {
            resourceId: action.resourceServicePrincipalId,
            appRoleId: action.appRoleId,
          },
        );
        return { appRoleAssignment: toObservedAppRoleAssignment(granted) };
      }
      case "RevokeAppRole":
        await this.clientsFor(ownerSubscription).graph.deleteAppRoleAssignment(
          action.principalId,
          action.assignmentId,
        );
        return {};
      case "ReadVault":
        return { vault: await this.readVault(action.vaultId) };
      case "SetVaultTenant":
        try {
          return { vault: await this.setVaultTenant(action.vaultId, action.tenantId) };
        } finally {
          this.vaultReads.delete(action.vaultId.toLowerCase());
        }
      case "UpdateVaultAccessPolicy": {
        const { subscriptionId, resourceGroup, name } = identityParts(action.vaultId);
        const { tenantId, objectId, permissions } = action.entry;
        await this.clientsFor(subscriptionId).keyVault.vaults.updateAccessPolicy(
          resourceGroup,
          name,
          action.operation,
          { properties: { accessPolicies: [{ tenantId, objectId, permissions }] } },
        );
        // Reads begun before this write are stale: the next one reads again.
        this.vaultReads.delete(action.vaultId.toLowerCase());
        return {};
      }
    }
  }

  /**
   * A vault's tenant repair, once however many identities of the vault ask for it: under the
   * vault's lock, a fresh read; only a vault still in another tenant is PATCHed, with its tenant
   * and no entries (every entry names an object of the old tenant; the plan listed them). A
   * later PATCH would wipe the entries added for the new principals since: there is none.
   */
  private setVaultTenant(vaultId: string, tenantId: string): Promise<ObservedVault> {
    const lock = this.options.identityPatches?.lock ?? this.localLock;
    return lock.withLock(`vault|${vaultId.toLowerCase()}`, async () => {
      const { subscriptionId, resourceGroup, name } = identityParts(vaultId);
      const vaults = this.clientsFor(subscriptionId).keyVault.vaults;
      const current = toObservedVault(await vaults.get(resourceGroup, name));
      if (current.tenantId.toLowerCase() === tenantId.toLowerCase()) return current;
      return toObservedVault(
        await vaults.update(resourceGroup, name, { properties: { tenantId, accessPolicies: [] } }),
      );
    });
  }

  /**
   * One GET per vault for every reconcile that asks within vaultReadTtlMs of it (and for those
   * that ask while it is in flight): the identities granted on a shared vault are reconciled
   * together at each resync, and the answer is the same for all. A failed read is not kept.
   */
  private readVault(vaultId: string): Promise<ObservedVault | null> {
    const key = vaultId.toLowerCase();
    const now = Date.now();
    const shared = this.vaultReads.get(key);
    if (shared && (!shared.settled || shared.expires > now)) return shared.read;
    const read = (async () => {
      const { subscriptionId, resourceGroup, name } = identityParts(vaultId);
      const vault = await this.clientsFor(subscriptionId).keyVault.vaults.get(resourceGroup, name);
      return toObservedVault(vault);
    })();
    const entry = { read, expires: now + (this.options.vaultReadTtlMs ?? 0), settled: false };
    this.vaultReads.set(key, entry);
    const forget = () => {
      if (this.vaultReads.get(key) === entry) this.vaultReads.delete(key);
    };
    // Without a lifetime only concurrent readers share it; a failure is never shared afterwards.
    read.then(
      () => {
        entry.settled = true;
        if ((this.options.vaultReadTtlMs ?? 0) <= 0) forget();
      },
      () => {
        entry.settled = true;
        forget();
      },
    );
    return read;
  }

  private async readTarget(resourceId: string): Promise<ObservedTarget> {
    const parsed = parseResourceId(resourceId);
    const clients = this.clientsFor(parsed.subscriptionId);
    const apiVersion = await this.apiVersions.forType(clients.resources, resourceTypeOf(parsed));
    const resource = await clients.resources.resources.getById(resourceId, apiVersion);
    refuseWhileBusy(resource, resourceId);
    return { state: "present", identity: toResourceIdentity(resource.identity) };
  }

  /**
   * PATCH of the `identity` alone. A long-running answer (Compute's 200 with Azure-AsyncOperation,
   * another provider's 202) is not waited for: the worker moves on, and the key comes back after
   * Retry-After to read the result.
   */
  private async patchIdentity(
    resourceId: string,
    identity: { type: string; userAssignedIdentities?: Record<string, Record<string, never> | null> },
  ): Promise<ResourceIdentity | undefined> {
    const parsed = parseResourceId(resourceId);
    const clients = this.clientsFor(parsed.subscriptionId);
    const apiVersion = await this.apiVersions.forType(clients.resources, resourceTypeOf(parsed));
    const poller = await clients.resources.resources.beginUpdateById(resourceId, apiVersion, {
      identity: identity as GenericResource["identity"],
    });
    if (!poller.isDone()) {
      throw new OperationInProgressError(
        `the identity change of ${resourceNameOf(parsed)} is still in progress at Azure`,
        retryAfterOf(poller.getOperationState() as { config?: { retryAfter?: string } }),
      );
    }
    return toResourceIdentity(poller.getResult()?.identity);
  }
}

function refuseWhileBusy(resource: GenericResource, resourceId: string): void {
  const state = (resource.properties as { provisioningState?: unknown } | undefined)?.provisioningState;
  if (typeof state === "string" && BUSY_STATES.has(state.toLowerCase())) {
    throw new OperationInProgressError(`${resourceId} is ${state}`, 1000);
  }
}

function retryAfterOf(state: { config?: { retryAfter?: string } }): number {
  const seconds = Number(state.config?.retryAfter);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000;
}

function identityParts(identityId: string): { subscriptionId: string; resourceGroup: string; name: string } {
  const parsed = parseResourceId(identityId);
  return {
    subscriptionId: parsed.subscriptionId,
    resourceGroup: required(parsed.resourceGroup, "identity resource group"),
    name: resourceNameOf(parsed),
  };
}

function subscriptionOf(scope: string): string | undefined {
  return /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
}

function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null)
    throw new AzureError(`Azure's answer lacks ${what}`, "IncompleteResponse", 0);
  return value;
}

export function toObservedIdentity(identity: Identity): ObservedIdentity {
  return {
    id: required(identity.id, "identity.id"),
    name: required(identity.name, "identity.name"),
    location: identity.location,
    tags: identity.tags ?? {},
    principalId: required(identity.principalId, "identity.principalId"),
    clientId: required(identity.clientId, "identity.clientId"),
    tenantId: required(identity.tenantId, "identity.tenantId"),
  };
}

export function toObservedAssignment(assignment: RoleAssignment): ObservedRoleAssignment {
  return {
    id: required(assignment.id, "roleAssignment.id"),
    name: required(assignment.name, "roleAssignment.name"),
    scope: required(assignment.scope, "roleAssignment.scope"),
    roleDefinitionId: required(assignment.roleDefinitionId, "roleAssignment.roleDefinitionId"),
    principalId: required(assignment.principalId, "roleAssignment.principalId"),
    principalType: assignment.principalType,
    condition: assignment.condition ?? undefined,
    conditionVersion: assignment.conditionVersion ?? undefined,
    description: assignment.description ?? undefined,
  };
}

export function toObservedDefinition(definition: RoleDefinition): ObservedRoleDefinition {
  return {
    id: required(definition.id, "roleDefinition.id"),
    name: required(definition.name, "roleDefinition.name"),
    roleName: definition.roleName ?? "",
    type: definition.roleType === "BuiltInRole" ? "BuiltInRole" : "CustomRole",
    description: definition.description,
    permissions: (definition.permissions ?? []).map((permission) => ({
      actions: permission.actions ?? [],
      notActions: permission.notActions ?? [],
      dataActions: permission.dataActions ?? [],
      notDataActions: permission.notDataActions ?? [],
    })),
    assignableScopes: definition.assignableScopes ?? [],
  };
}

export function toObservedVault(vault: Vault): ObservedVault {
  const properties = vault.properties;
  return {
    id: required(vault.id, "vault.id"),
    tenantId: required(properties?.tenantId, "vault.properties.tenantId"),
    rbac: properties?.enableRbacAuthorization === true,
    accessPolicies: (properties?.accessPolicies ?? []).map((entry) => ({
      tenantId: entry.tenantId,
      objectId: entry.objectId,
      ...(entry.applicationId ? { applicationId: entry.applicationId } : {}),
      permissions: {
        ...(entry.permissions.keys ? { keys: [...entry.permissions.keys] } : {}),
        ...(entry.permissions.secrets ? { secrets: [...entry.permissions.secrets] } : {}),
        ...(entry.permissions.certificates ? { certificates: [...entry.permissions.certificates] } : {}),
        ...(entry.permissions.storage ? { storage: [...entry.permissions.storage] } : {}),
      },
    })),
  };
}

export function toObservedAppRoleAssignment(
  assignment: ObservedAppRoleAssignment,
): ObservedAppRoleAssignment {
  return {
    id: assignment.id,
    principalId: assignment.principalId,
    resourceId: assignment.resourceId,
    appRoleId: assignment.appRoleId,
  };
}

export function toResourceIdentity(identity: GenericResource["identity"]): ResourceIdentity | undefined {
  if (!identity) return undefined;
  const userAssigned: Record<string, { principalId?: string; clientId?: string }> = {};
  for (const [id, value] of Object.entries(identity.userAssignedIdentities ?? {})) {
    userAssigned[id] = { principalId: value?.principalId, clientId: value?.clientId };
  }
  return {
    type: identity.type ?? "None",
    principalId: identity.principalId,
    tenantId: identity.tenantId,
    ...(identity.userAssignedIdentities ? { userAssignedIdentities: userAssigned } : {}),
  };
}
