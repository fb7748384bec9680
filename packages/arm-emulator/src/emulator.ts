// The emulator's heart: state, settings and the operations that the admin API and the in-process
// handle share (subscriptions, tenant moves, principals, policies, restricted callers, tokens).
import { ARM_LIMITS, BucketSet, GLOBAL_FACTOR } from "./buckets.js";
import { ArmError, SandboxConfigError } from "./errors.js";
import { FaultInjector } from "./faults.js";
import { guidFrom, isGuid, key, newGuid, subscriptionScope } from "./ids.js";
import type { JwtClaims, JwtSigner } from "./jwt.js";
import { DEFAULT_SETTINGS, type EmulatorSettings, type OperationClass } from "./settings.js";
import { Stats } from "./stats.js";
import { type DirectoryObject, type PolicyRule, type PrincipalKind, Store } from "./store.js";

export interface Caller {
  /** The token's `oid`: the principal ARM authorizes. */
  oid: string;
  tid: string;
  appid?: string;
  /** A non-JWT bearer token: a default caller in the subscription's current tenant. */
  opaque: boolean;
}

export interface MoveResult {
  subscriptionId: string;
  fromTenantId: string;
  toTenantId: string;
  deleted: { roleAssignments: string[]; customRoles: string[] };
}

export interface TokenRequest {
  tenantId: string;
  /** Object id of the caller; a stable id derived from the app id when absent. */
  oid?: string;
  appId?: string;
  /** The audience; ARM (`https://management.azure.com`) when absent. */
  audience?: string;
  /** Lifetime in seconds (not scaled: SDKs refresh tokens on their own clock). */
  lifetimeSeconds?: number;
}

/** The object id that opaque bearer tokens act as. */
export const DEFAULT_CALLER_OID = guidFrom("azid-sandbox-default-caller");

export class Emulator {
  readonly store = new Store();
  readonly stats = new Stats();
  readonly faults: FaultInjector;
  settings: EmulatorSettings = structuredClone(DEFAULT_SETTINGS);
  policies: PolicyRule[] = [];
  readonly restricted = new Set<string>();
  /** Per subscription (or tenant) and principal and class, plus the 15x global bucket per subscription. */
  private readonly buckets: Record<OperationClass, { principal: BucketSet; global: BucketSet }>;
  private readonly identityCreates: BucketSet;
  private readonly ficSubscription: BucketSet;
  private readonly ficIdentity: BucketSet;
  /** Long-running operations not finished yet (the store keeps finished ones for late pollers). */
  readonly pendingOperations = new Set<string>();
  /** Identities with a federated credential write in flight. */
  readonly ficWritesInFlight = new Set<string>();
  private onChange: () => void = () => {};

  constructor(
    readonly timeScale: number,
    readonly signer: JwtSigner,
    readonly baseUrl: string,
  ) {
    this.faults = new FaultInjector(timeScale);
    const pair = (limit: { capacity: number; refillPerSecond: number }) => ({
      principal: new BucketSet(limit, timeScale),
      global: new BucketSet(
        { capacity: limit.capacity * GLOBAL_FACTOR, refillPerSecond: limit.refillPerSecond * GLOBAL_FACTOR },
        timeScale,
      ),
    });
    this.buckets = {
      read: pair(ARM_LIMITS.read),
      write: pair(ARM_LIMITS.write),
      delete: pair(ARM_LIMITS.delete),
    };
    this.identityCreates = new BucketSet(ARM_LIMITS.identityCreate, timeScale);
    this.ficSubscription = new BucketSet(ARM_LIMITS.ficWriteSubscription, timeScale);
    this.ficIdentity = new BucketSet(ARM_LIMITS.ficWriteIdentity, timeScale);
  }

  setChangeListener(listener: () => void): void {
    this.onChange = listener;
  }

  changed(): void {
    this.onChange();
  }

  /** Milliseconds of wall-clock time for a duration in ARM seconds. */
  scaled(armSeconds: number): number {
    return (armSeconds * 1000) / this.timeScale;
  }

  // ---- throttling ----

  /** The Retry-After value: whole ARM seconds at time scale 1, the scaled (fractional) seconds otherwise. */
  retryAfter(waitArmSeconds: number): string {
    const whole = Math.max(1, Math.ceil(waitArmSeconds));
    if (this.timeScale === 1) return String(whole);
    return String(Math.max(0.001, Math.round((whole / this.timeScale) * 1000) / 1000));
  }

  tooManyRequests(waitArmSeconds: number, what: string): ArmError {
    const retryAfter = this.retryAfter(waitArmSeconds);
    return new ArmError(
      429,
      "TooManyRequests",
      `The request is being throttled${what}. Retry after ${retryAfter} seconds.`,
      {},
      { "Retry-After": retryAfter },
    );
  }

  /**
   * Takes a token of the request's class from the caller's bucket and the subscription's global one.
   * Answers the headers that report what is left; throws 429 when a bucket is empty.
   */
  throttle(
    klass: OperationClass,
    scope: { subscriptionId?: string; tenantId: string },
    oid: string,
  ): Record<string, string> {
    if (!this.settings.throttling) return {};
    const now = Date.now();
    const level = scope.subscriptionId ? "subscription" : "tenant";
    const owner = key(scope.subscriptionId ?? scope.tenantId);
    const principalBucket = this.buckets[klass].principal.get(`${owner}|${key(oid)}`, now);
    const taken = principalBucket.take(now);
    if (!taken.ok) throw this.tooManyRequests(taken.waitArmSeconds, "");
    const headerClass = `${klass}s`;
    const headers: Record<string, string> = {
      [`x-ms-ratelimit-remaining-${level}-${headerClass}`]: String(taken.remaining),
    };
    if (scope.subscriptionId) {
      const global = this.buckets[klass].global.get(owner, now).take(now);
      if (!global.ok) {
        principalBucket.giveBack();
        throw this.tooManyRequests(global.waitArmSeconds, " (subscription global limit)");
      }
      headers[`x-ms-ratelimit-remaining-subscription-global-${headerClass}`] = String(global.remaining);
    }
    return headers;
  }

  /** Identity creation: 80 per 20 s per subscription and region. */
  throttleIdentityCreate(subscriptionId: string, location: string): void {
    if (!this.settings.throttling) return;
    const now = Date.now();
    const result = this.identityCreates
      .get(key(`${subscriptionId}|${location.replace(/\s/g, "")}`), now)
      .take(now);
    if (!result.ok) throw this.tooManyRequests(result.waitArmSeconds, " (identity creation)");
    this.stats.limited("identityCreate", now);
  }

  /** Federated credential writes: 2 per s per subscription and 0.25 per s per identity. */
  throttleFicWrite(subscriptionId: string, identityId: string): void {
    if (!this.settings.throttling) return;
    const now = Date.now();
    const sub = this.ficSubscription.get(key(subscriptionId), now);
    const taken = sub.take(now);
    if (!taken.ok)
      throw this.tooManyRequests(taken.waitArmSeconds, " (federated identity credential writes)");
    const perIdentity = this.ficIdentity.get(key(identityId), now).take(now);
    if (!perIdentity.ok) {
      sub.giveBack();
      throw this.tooManyRequests(perIdentity.waitArmSeconds, " (federated identity credential writes)");
    }
    this.stats.limited("ficWrite", now);
  }

  resetThrottling(): void {
    for (const pair of Object.values(this.buckets)) {
      pair.principal.clear();
      pair.global.clear();
    }
    this.identityCreates.clear();
    this.ficSubscription.clear();
    this.ficIdentity.clear();
  }

  // ---- subscriptions and tenants ----

  addSubscription(subscriptionId: string, tenantId: string, displayName?: string): void {
    if (!isGuid(subscriptionId))
      throw new SandboxConfigError(`subscription id '${subscriptionId}' is not a GUID`);
    if (!isGuid(tenantId)) throw new SandboxConfigError(`tenant id '${tenantId}' is not a GUID`);
    this.store.ensureTenant(tenantId);
    const existing = this.store.subscription(subscriptionId);
    if (existing && key(existing.tenantId) !== key(tenantId))
      throw new SandboxConfigError(
        `subscription ${subscriptionId} already exists in tenant ${existing.tenantId}; use the move endpoint to change its tenant`,
      );
    this.store.subscriptions.set(key(subscriptionId), {
      subscriptionId,
      tenantId,
      displayName:
        displayName ?? existing?.displayName ?? `Sandbox subscription ${subscriptionId.slice(0, 8)}`,
      state: "Enabled",
    });
    this.changed();
  }

  addTenant(tenantId: string): void {
    if (!isGuid(tenantId)) throw new SandboxConfigError(`tenant id '${tenantId}' is not a GUID`);
    this.store.ensureTenant(tenantId);
    this.changed();
  }

  /**
   * Transfers a subscription to another Entra tenant with the effects Microsoft documents: every role
   * assignment and custom role in it is deleted; identities keep their (now foreign) principals.
   */
  moveSubscription(subscriptionId: string, toTenantId: string): MoveResult {
    const subscription = this.store.subscription(subscriptionId);
    if (!subscription) throw new SandboxConfigError(`subscription ${subscriptionId} does not exist`);
    if (!isGuid(toTenantId)) throw new SandboxConfigError(`tenant id '${toTenantId}' is not a GUID`);
    const fromTenantId = subscription.tenantId;
    this.store.ensureTenant(toTenantId);
    const roleAssignments = [
      ...(this.store.assignmentsBySubscription.get(key(subscriptionId))?.values() ?? []),
    ];
    for (const assignment of roleAssignments) this.store.removeAssignment(assignment);
    const customRoles = [...this.store.customRoles.values()].filter(
      (role) => key(role.subscriptionId) === key(subscriptionId),
    );
    for (const role of customRoles) this.store.customRoles.delete(key(role.name));
    subscription.tenantId = toTenantId;
    this.changed();
    return {
      subscriptionId: subscription.subscriptionId,
      fromTenantId,
      toTenantId,
      deleted: {
        roleAssignments: roleAssignments.map((a) => a.id),
        customRoles: customRoles.map(
          (r) =>
            `${subscriptionScope(r.subscriptionId)}/providers/Microsoft.Authorization/roleDefinitions/${r.name}`,
        ),
      },
    };
  }

  // ---- directory ----

  /** Creates the service principal behind a managed identity; it replicates for a while. */
  createManagedIdentityPrincipal(
    tenantId: string,
    displayName: string,
    alternativeName: string,
  ): DirectoryObject {
    const object: DirectoryObject = {
      id: newGuid(),
      kind: "ServicePrincipal",
      displayName,
      tenantId,
      appId: newGuid(),
      servicePrincipalType: "ManagedIdentity",
      alternativeNames: ["isExplicit=True", alternativeName],
      replicatedAt: Date.now() + this.scaled(this.settings.replicationDelaySeconds),
      createdDateTime: new Date().toISOString(),
    };
    this.store.addObject(object);
    return object;
  }

  addPrincipal(
    tenantId: string,
    objectId: string,
    spec: {
      kind?: PrincipalKind;
      displayName?: string;
      appId?: string;
      clientSecret?: string;
      replicating?: boolean;
    },
  ): DirectoryObject {
    if (!isGuid(tenantId) || !isGuid(objectId))
      throw new SandboxConfigError("tenant and object ids must be GUIDs");
    const kind = spec.kind ?? "ServicePrincipal";
    if (!["ServicePrincipal", "User", "Group"].includes(kind))
      throw new SandboxConfigError("kind must be ServicePrincipal, User or Group");
    if (spec.appId !== undefined && (kind !== "ServicePrincipal" || !isGuid(spec.appId)))
      throw new SandboxConfigError("appId must be a GUID, on a service principal");
    const object: DirectoryObject = {
      id: objectId,
      kind,
      displayName: spec.displayName ?? `${kind.toLowerCase()}-${objectId.slice(0, 8)}`,
      tenantId,
      ...(kind === "ServicePrincipal"
        ? { appId: spec.appId ?? newGuid(), servicePrincipalType: "Application" as const }
        : {}),
      ...(spec.clientSecret ? { clientSecret: spec.clientSecret } : {}),
      replicatedAt: spec.replicating ? Date.now() + this.scaled(this.settings.replicationDelaySeconds) : 0,
      createdDateTime: new Date().toISOString(),
    };
    this.store.addObject(object);
    this.changed();
    return object;
  }

  // ---- callers and policies ----

  setRestricted(oid: string, restricted: boolean): void {
    if (!isGuid(oid)) throw new SandboxConfigError(`caller '${oid}' is not a GUID object id`);
    if (restricted) this.restricted.add(key(oid));
    else this.restricted.delete(key(oid));
    this.changed();
  }

  setPolicies(rules: unknown): void {
    if (!Array.isArray(rules)) throw new SandboxConfigError("policies must be a list");
    this.policies = rules.map((rule, i) => {
      const r = rule as Partial<PolicyRule>;
      if (
        !r ||
        typeof r.name !== "string" ||
        typeof r.scope !== "string" ||
        typeof r.resourceType !== "string"
      )
        throw new SandboxConfigError(`policies[${i}] needs name, scope and resourceType`);
      if (!r.scope.startsWith("/")) throw new SandboxConfigError(`policies[${i}].scope must be an ARM scope`);
      return { name: r.name, displayName: r.displayName, scope: r.scope, resourceType: r.resourceType };
    });
    this.changed();
  }

  // ---- tokens ----

  /** Mints an access token as the sandbox's Entra would, for tests and quick tries. */
  issueToken(request: TokenRequest): { token: string; claims: JwtClaims } {
    if (!isGuid(request.tenantId)) throw new SandboxConfigError("tenantId must be a GUID");
    const appId = request.appId ?? newGuid();
    const oid = request.oid ?? guidFrom(`app:${key(request.tenantId)}:${key(appId)}`);
    const now = Math.floor(Date.now() / 1000);
    const claims: JwtClaims = {
      aud: request.audience ?? "https://management.azure.com",
      iss: `${this.baseUrl}/${request.tenantId}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + (request.lifetimeSeconds ?? 3600),
      appid: appId,
      azp: appId,
      idtyp: "app",
      oid,
      sub: oid,
      tid: request.tenantId,
      ver: "2.0",
      uti: newGuid().replace(/-/g, ""),
    };
    return { token: this.signer.sign(claims), claims };
  }

  // ---- persistence ----

  toJSON(): unknown {
    return {
      state: this.store.toJSON(),
      settings: this.settings,
      policies: this.policies,
      restricted: [...this.restricted],
    };
  }

  load(data: unknown): void {
    const d = data as {
      state: unknown;
      settings?: EmulatorSettings;
      policies?: PolicyRule[];
      restricted?: string[];
    };
    this.store.load(d.state);
    for (const op of this.store.operations.values()) if (!op.done) this.pendingOperations.add(op.id);
    if (d.settings) this.settings = { ...structuredClone(DEFAULT_SETTINGS), ...d.settings };
    if (d.policies) this.policies = d.policies;
    for (const oid of d.restricted ?? []) this.restricted.add(oid);
  }
}
