// The emulator's state: Entra tenants and their directories, subscriptions, resource groups,
// identities, identity-bearing resources, role assignments and custom roles, with the indexes
// that keep every request free of scans over the whole store.
import {
  type AppRole,
  builtinRoles,
  GRAPH_APP_ID,
  graphServicePrincipalData,
  type RoleDefinitionBody,
} from "./catalog.js";
import { guidFrom, isAtOrBelow, key, subscriptionOf } from "./ids.js";
import { addTo, type IndexMap, removeFrom } from "./index-map.js";
import type { Permission } from "./rbac.js";
import { VaultStore } from "./vaults.js";

export type PrincipalKind = "ServicePrincipal" | "User" | "Group";

export interface DirectoryObject {
  id: string;
  kind: PrincipalKind;
  displayName: string;
  tenantId: string;
  /** Service principals only. */
  appId?: string;
  servicePrincipalType?: "ManagedIdentity" | "Application";
  alternativeNames?: string[];
  appRoles?: AppRole[];
  appOwnerOrganizationId?: string;
  /** Applications registered with a secret must present it at the token endpoint. */
  clientSecret?: string;
  /** Epoch ms from which ARM sees the principal without `principalType` (Entra replication). */
  replicatedAt: number;
  createdDateTime: string;
}

export interface AppRoleAssignment {
  id: string;
  principalId: string;
  resourceId: string;
  appRoleId: string;
  createdDateTime: string;
}

export interface Tenant {
  id: string;
  objects: Map<string, DirectoryObject>;
  byAppId: Map<string, DirectoryObject>;
  /** Graph filters by displayName; names are not unique. */
  byDisplayName: Map<string, Set<DirectoryObject>>;
  appRoleAssignments: Map<string, AppRoleAssignment>;
}

export interface Subscription {
  subscriptionId: string;
  displayName: string;
  tenantId: string;
  state: "Enabled";
}

export interface ResourceGroup {
  id: string;
  subscriptionId: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
}

export interface FederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface UserAssignedIdentity {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  tenantId: string;
  principalId: string;
  clientId: string;
  isolationScope?: string;
  fics: FederatedCredential[];
}

export interface ResourceIdentity {
  type: "SystemAssigned" | "UserAssigned" | "SystemAssigned, UserAssigned" | "None";
  principalId?: string;
  tenantId?: string;
  /** The system-assigned identity's app id (served by `identities/default`). */
  clientId?: string;
  /** Keys as the caller spelled them. */
  userAssignedIdentities?: Record<string, Record<string, never>>;
}

/** What an identity change will do, decided (and authorized) before anything is changed. */
export interface IdentityPlan {
  type: ResourceIdentity["type"];
  userAssignedIdentities: Record<string, Record<string, never>>;
  system: "create" | "keep" | "remove" | "none";
  /** User-assigned identities the change attaches (they need the assign action). */
  added: string[];
}

export interface GenericResource {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  type: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  kind?: string;
  sku?: unknown;
  plan?: unknown;
  properties: Record<string, unknown>;
  identity?: ResourceIdentity;
  /** Set while a long-running identity update is in flight. */
  provisioningState?: string;
}

export interface RoleAssignment {
  id: string;
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: string;
  description?: string;
  condition?: string;
  conditionVersion?: string;
  delegatedManagedIdentityResourceId?: string;
  createdOn: string;
  updatedOn: string;
  createdBy: string;
  updatedBy: string;
}

export interface CustomRole {
  name: string;
  subscriptionId: string;
  tenantId: string;
  roleName: string;
  description?: string;
  permissions: Permission[];
  assignableScopes: string[];
  createdOn: string;
  updatedOn: string;
  createdBy: string;
  updatedBy: string;
}

export interface PolicyRule {
  /** Policy assignment name (shown in the error). */
  name: string;
  displayName?: string;
  /** Scope the rule applies at and below: a subscription, resource group or resource. */
  scope: string;
  /** `Microsoft.ManagedIdentity/userAssignedIdentities`, or `*` for every type. */
  resourceType: string;
}

export interface PendingOperation {
  id: string;
  subscriptionId: string;
  location: string;
  namespace: string;
  resourceId: string;
  startTime: string;
  /** Epoch ms at which the operation completes. */
  completesAt: number;
  /** The identity change to apply at completion. */
  plan?: IdentityPlan;
  tags?: Record<string, string>;
  done: boolean;
  /** The final state of a delete: no resource body. */
  deleted?: boolean;
}

export class Store {
  readonly tenants = new Map<string, Tenant>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly resourceGroups = new Map<string, ResourceGroup>();
  readonly identities = new Map<string, UserAssignedIdentity>();
  readonly identitiesByGroup: IndexMap<UserAssignedIdentity> = new Map();
  readonly identitiesBySubscription: IndexMap<UserAssignedIdentity> = new Map();
  readonly resources = new Map<string, GenericResource>();
  readonly resourcesByGroup: IndexMap<GenericResource> = new Map();
  readonly roleAssignments = new Map<string, RoleAssignment>();
  readonly assignmentsByScope: IndexMap<RoleAssignment> = new Map();
  readonly assignmentsByPrincipal: IndexMap<RoleAssignment> = new Map();
  readonly assignmentsBySubscription: IndexMap<RoleAssignment> = new Map();
  readonly assignmentsByTriple = new Map<string, RoleAssignment>();
  /** Role assignment names are GUIDs unique across scopes. */
  readonly assignmentsByName = new Map<string, RoleAssignment>();
  readonly customRoles = new Map<string, CustomRole>();
  readonly operations = new Map<string, PendingOperation>();
  readonly vaults = new VaultStore();

  // ---- tenants and directory ----

  ensureTenant(tenantId: string): Tenant {
    let tenant = this.tenants.get(key(tenantId));
    if (!tenant) {
      tenant = {
        id: tenantId,
        objects: new Map(),
        byAppId: new Map(),
        byDisplayName: new Map(),
        appRoleAssignments: new Map(),
      };
      this.tenants.set(key(tenantId), tenant);
      const graph = graphServicePrincipalData();
      this.addObject({
        id: guidFrom(`microsoft-graph-sp:${tenantId}`),
        kind: "ServicePrincipal",
        displayName: graph.displayName,
        tenantId,
        appId: GRAPH_APP_ID,
        servicePrincipalType: "Application",
        appRoles: graph.appRoles,
        appOwnerOrganizationId: graph.appOwnerOrganizationId,
        replicatedAt: 0,
        createdDateTime: "2016-01-01T00:00:00Z",
      });
    }
    return tenant;
  }

  tenant(tenantId: string): Tenant | undefined {
    return this.tenants.get(key(tenantId));
  }

  addObject(object: DirectoryObject): void {
    const tenant = this.ensureTenant(object.tenantId);
    const replaced = tenant.objects.get(key(object.id));
    if (replaced) tenant.byDisplayName.get(replaced.displayName)?.delete(replaced);
    tenant.objects.set(key(object.id), object);
    if (object.appId) tenant.byAppId.set(key(object.appId), object);
    let named = tenant.byDisplayName.get(object.displayName);
    if (!named) {
      named = new Set();
      tenant.byDisplayName.set(object.displayName, named);
    }
    named.add(object);
  }

  removeObject(tenantId: string, objectId: string): void {
    const tenant = this.tenant(tenantId);
    const object = tenant?.objects.get(key(objectId));
    if (!tenant || !object) return;
    tenant.objects.delete(key(objectId));
    if (object.appId) tenant.byAppId.delete(key(object.appId));
    tenant.byDisplayName.get(object.displayName)?.delete(object);
    for (const [id, assignment] of tenant.appRoleAssignments) {
      if (key(assignment.principalId) === key(objectId) || key(assignment.resourceId) === key(objectId))
        tenant.appRoleAssignments.delete(id);
    }
  }

  findObject(tenantId: string, objectId: string): DirectoryObject | undefined {
    return this.tenant(tenantId)?.objects.get(key(objectId));
  }

  // ---- subscriptions and resource groups ----

  subscription(subscriptionId: string): Subscription | undefined {
    return this.subscriptions.get(key(subscriptionId));
  }

  resourceGroup(subscriptionId: string, name: string): ResourceGroup | undefined {
    return this.resourceGroups.get(key(`/subscriptions/${subscriptionId}/resourceGroups/${name}`));
  }

  // ---- user-assigned identities ----

  putIdentity(identity: UserAssignedIdentity): void {
    const id = key(identity.id);
    this.identities.set(id, identity);
    addTo(this.identitiesByGroup, key(`${identity.subscriptionId}/${identity.resourceGroup}`), id, identity);
    addTo(this.identitiesBySubscription, key(identity.subscriptionId), id, identity);
  }

  removeIdentity(identity: UserAssignedIdentity): void {
    const id = key(identity.id);
    this.identities.delete(id);
    removeFrom(this.identitiesByGroup, key(`${identity.subscriptionId}/${identity.resourceGroup}`), id);
    removeFrom(this.identitiesBySubscription, key(identity.subscriptionId), id);
  }

  // ---- generic resources ----

  putResource(resource: GenericResource): void {
    this.resources.set(key(resource.id), resource);
    addTo(
      this.resourcesByGroup,
      key(`${resource.subscriptionId}/${resource.resourceGroup}`),
      key(resource.id),
      resource,
    );
  }

  removeResource(resource: GenericResource): void {
    this.resources.delete(key(resource.id));
    removeFrom(
      this.resourcesByGroup,
      key(`${resource.subscriptionId}/${resource.resourceGroup}`),
      key(resource.id),
    );
  }

  // ---- role assignments ----

  static tripleKey(scope: string, roleDefinitionId: string, principalId: string): string {
    const roleGuid = roleDefinitionId.split("/").pop() ?? roleDefinitionId;
    return key(`${scope}|${roleGuid}|${principalId}`);
  }

  putAssignment(assignment: RoleAssignment): void {
    const id = key(assignment.id);
    this.roleAssignments.set(id, assignment);
    addTo(this.assignmentsByScope, key(assignment.scope), id, assignment);
    addTo(this.assignmentsByPrincipal, key(assignment.principalId), id, assignment);
    const subscriptionId = subscriptionOf(assignment.scope);
    if (subscriptionId) addTo(this.assignmentsBySubscription, key(subscriptionId), id, assignment);
    this.assignmentsByTriple.set(
      Store.tripleKey(assignment.scope, assignment.roleDefinitionId, assignment.principalId),
      assignment,
    );
    this.assignmentsByName.set(key(assignment.name), assignment);
  }

  removeAssignment(assignment: RoleAssignment): void {
    const id = key(assignment.id);
    this.roleAssignments.delete(id);
    removeFrom(this.assignmentsByScope, key(assignment.scope), id);
    removeFrom(this.assignmentsByPrincipal, key(assignment.principalId), id);
    const subscriptionId = subscriptionOf(assignment.scope);
    if (subscriptionId) removeFrom(this.assignmentsBySubscription, key(subscriptionId), id);
    this.assignmentsByTriple.delete(
      Store.tripleKey(assignment.scope, assignment.roleDefinitionId, assignment.principalId),
    );
    this.assignmentsByName.delete(key(assignment.name));
  }

  assignmentCount(subscriptionId: string): number {
    return this.assignmentsBySubscription.get(key(subscriptionId))?.size ?? 0;
  }

  /** Assignments at a scope, or at and above it, or at, above and below it (ARM's list semantics). */
  assignmentsAround(scope: string, reach: "at" | "atOrAbove" | "all"): RoleAssignment[] {
    const out: RoleAssignment[] = [];
    const seen = new Set<string>();
    const push = (a: RoleAssignment) => {
      if (!seen.has(a.id)) {
        seen.add(a.id);
        out.push(a);
      }
    };
    if (reach === "at") {
      for (const a of this.assignmentsByScope.get(key(scope))?.values() ?? []) push(a);
      return out;
    }
    // Above: walk the ancestors of the scope, one index lookup each.
    const parts = scope.split("/").filter(Boolean);
    for (let i = 0; i <= parts.length; i++) {
      const ancestor = i === 0 ? "/" : `/${parts.slice(0, i).join("/")}`;
      for (const a of this.assignmentsByScope.get(key(ancestor))?.values() ?? []) push(a);
    }
    if (reach === "all") {
      // Below: the narrowest index that holds every descendant.
      const subscriptionId = subscriptionOf(scope);
      const pool = subscriptionId
        ? (this.assignmentsBySubscription.get(key(subscriptionId))?.values() ?? [])
        : this.roleAssignments.values();
      for (const a of pool) if (isAtOrBelow(a.scope, scope)) push(a);
    }
    return out;
  }

  assignmentsOfPrincipal(principalId: string): RoleAssignment[] {
    return [...(this.assignmentsByPrincipal.get(key(principalId))?.values() ?? [])];
  }

  // ---- role definitions ----

  /** A built-in or custom role definition by its GUID, in the wire shape for `scope`. */
  roleDefinition(guid: string): { builtin?: RoleDefinitionBody; custom?: CustomRole } | undefined {
    const builtin = builtinRoles().get(key(guid));
    if (builtin) return { builtin };
    const custom = this.customRoles.get(key(guid));
    return custom ? { custom } : undefined;
  }

  permissionsOfRole(guid: string): Permission[] {
    const def = this.roleDefinition(guid);
    return def?.builtin?.properties.permissions ?? def?.custom?.permissions ?? [];
  }

  // ---- persistence ----

  toJSON(): unknown {
    return {
      version: 1,
      tenants: [...this.tenants.values()].map((t) => ({
        id: t.id,
        objects: [...t.objects.values()].filter((o) => o.appId !== GRAPH_APP_ID),
        appRoleAssignments: [...t.appRoleAssignments.values()],
      })),
      subscriptions: [...this.subscriptions.values()],
      resourceGroups: [...this.resourceGroups.values()],
      identities: [...this.identities.values()],
      resources: [...this.resources.values()],
      roleAssignments: [...this.roleAssignments.values()],
      customRoles: [...this.customRoles.values()],
      operations: [...this.operations.values()],
      keyVault: this.vaults.toJSON(),
    };
  }

  load(data: unknown): void {
    const d = data as {
      tenants: { id: string; objects: DirectoryObject[]; appRoleAssignments: AppRoleAssignment[] }[];
      subscriptions: Subscription[];
      resourceGroups: ResourceGroup[];
      identities: UserAssignedIdentity[];
      resources: GenericResource[];
      roleAssignments: RoleAssignment[];
      customRoles: CustomRole[];
      operations: PendingOperation[];
      keyVault?: unknown;
    };
    for (const t of d.tenants) {
      const tenant = this.ensureTenant(t.id);
      for (const o of t.objects) this.addObject(o);
      for (const a of t.appRoleAssignments) tenant.appRoleAssignments.set(a.id, a);
    }
    for (const s of d.subscriptions) this.subscriptions.set(key(s.subscriptionId), s);
    for (const g of d.resourceGroups) this.resourceGroups.set(key(g.id), g);
    for (const i of d.identities) this.putIdentity(i);
    for (const r of d.resources) this.putResource(r);
    for (const a of d.roleAssignments) this.putAssignment(a);
    for (const c of d.customRoles) this.customRoles.set(key(c.name), c);
    for (const o of d.operations ?? []) this.operations.set(o.id, o);
    this.vaults.load(d.keyVault);
  }
}
