// A small in-memory Azure at the level of the planner's actions: it answers each action as the
// act layer would after calling ARM or Graph, with Azure's rules (409 RoleAssignmentExists,
// unique issuer+subject, PATCH merge of identity blocks, tenant move effects). The planner
// tests run plans to their fixpoint against it and then compare its state with the spec.
import { armIdKey, isWithin, roleAssignmentId, roleDefinitionGuid } from "../../../src/api/arm-id.js";
import { uuidV5 } from "../../../src/api/uuid.js";
import type { Action, ActionKind } from "../../../src/plan/actions.js";
import type { ActionResult } from "../../../src/plan/apply-result.js";
import type {
  ObservedAccessPolicyEntry,
  ObservedAppRoleAssignment,
  ObservedFederatedCredential,
  ObservedIdentity,
  ObservedRoleAssignment,
  ObservedRoleDefinition,
  ObservedServicePrincipal,
  ObservedState,
  ObservedVault,
  ResourceIdentity,
} from "../../../src/plan/observed.js";
import { emptyObserved } from "../../../src/plan/observed.js";
import type { PlanResult } from "../../../src/plan/plan-types.js";
import { type Simulation, simulate } from "../../../src/plan/simulate.js";

export const SUB = "11111111-1111-1111-1111-111111111111";
export const TENANT = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
export const NEW_TENANT = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
export const RG = `/subscriptions/${SUB}/resourceGroups/app-rg`;
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
export const vmId = (name: string) => `${RG}/providers/Microsoft.Compute/virtualMachines/${name}`;
export const identityIdOf = (name: string, group = "app-rg") =>
  `/subscriptions/${SUB}/resourceGroups/${group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

const GRAPH_ROLES = [
  { id: "df021288-bdef-4463-88db-98f22de89214", value: "User.Read.All" },
  { id: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", value: "Application.Read.All" },
];

interface Target {
  identity?: ResourceIdentity;
  classic?: boolean;
}

export class World {
  tenantId = TENANT;
  identities = new Map<string, ObservedIdentity>();
  credentials = new Map<string, ObservedFederatedCredential[]>();
  assignments: ObservedRoleAssignment[] = [];
  targets = new Map<string, Target>();
  definitions = new Map<string, ObservedRoleDefinition>();
  appRoleAssignments: ObservedAppRoleAssignment[] = [];
  /** Graph's service principal object id per tenant. */
  graphObjectIds = new Map<string, string>([[TENANT, "10000000-0000-0000-0000-000000000001"]]);
  vaults = new Map<string, ObservedVault>();
  calls: Array<{ kind: ActionKind; write: boolean }> = [];
  private counter = 0;

  nextGuid(label: string): string {
    return uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", `${label}-${this.counter++}`);
  }

  addVm(name: string, identity?: ResourceIdentity): string {
    const id = vmId(name);
    this.targets.set(armIdKey(id), identity ? { identity } : {});
    return id;
  }

  addIdentity(name: string, group = "app-rg", location = "westeurope"): ObservedIdentity {
    const id = identityIdOf(name, group);
    const identity: ObservedIdentity = {
      id,
      name,
      location,
      tags: {},
      principalId: this.nextGuid("principal"),
      clientId: this.nextGuid("client"),
      tenantId: this.tenantId,
    };
    this.identities.set(armIdKey(id), identity);
    this.credentials.set(armIdKey(id), []);
    return identity;
  }

  addAssignment(assignment: Omit<ObservedRoleAssignment, "id">): ObservedRoleAssignment {
    const full = { ...assignment, id: roleAssignmentId(assignment.scope, assignment.name) };
    this.assignments.push(full);
    return full;
  }

  /** What Azure does to a subscription moved to another directory. */
  moveTenant(tenantId = NEW_TENANT) {
    this.tenantId = tenantId;
    this.assignments = [];
    for (const [guid, definition] of this.definitions)
      if (definition.type === "CustomRole") this.definitions.delete(guid);
    this.graphObjectIds.set(tenantId, "20000000-0000-0000-0000-000000000002");
    this.appRoleAssignments = [];
  }

  writes(): number {
    return this.calls.filter((call) => call.write).length;
  }

  writeKinds(): ActionKind[] {
    return this.calls.filter((call) => call.write).map((call) => call.kind);
  }

  /** Runs a planner to its fixpoint against this world. */
  converge<S>(
    plan: (observed: ObservedState, status: S | undefined) => PlanResult<S>,
    initialStatus?: S,
  ): Simulation<S> {
    return simulate(plan, emptyObserved(), (action) => this.answer(action), {
      ...(initialStatus ? { initialStatus } : {}),
    });
  }

  answer(action: Action): ActionResult {
    const write = !/^(Read|List|Find)/.test(action.kind);
    this.calls.push({ kind: action.kind, write });
    switch (action.kind) {
      case "ReadSubscription":
        return { subscription: { subscriptionId: action.subscriptionId, tenantId: this.tenantId } };
      case "ReadIdentity":
        return { identity: this.clone(this.identities.get(armIdKey(action.identityId)) ?? null) };
      case "ListFederatedCredentials": {
        const list = this.credentials.get(armIdKey(action.identityId));
        return list ? { federatedCredentials: this.clone(list) } : notFound();
      }
      case "ListRoleAssignments":
        return {
          roleAssignments: this.clone(
            this.assignments.filter(
              (a) => a.principalId === action.principalId && isWithin(a.scope, action.listingScope),
            ),
          ),
        };
      case "ReadTarget": {
        const target = this.targets.get(armIdKey(action.resourceId));
        if (!target) return { target: { state: "absent" } };
        if (target.classic) return { target: { state: "unsupported", reason: "classic" } };
        return {
          target: { state: "present", ...(target.identity ? { identity: this.clone(target.identity) } : {}) },
        };
      }
      case "ReadRoleDefinition":
        return { roleDefinition: this.clone(this.definitions.get(action.guid.toLowerCase()) ?? null) };
      case "FindRoleDefinitions":
        return {
          roleDefinitions: this.clone(
            [...this.definitions.values()].filter(
              (d) => d.roleName.toLowerCase() === action.roleName.toLowerCase(),
            ),
          ),
        };
      case "ReadServicePrincipal": {
        const objectId = this.graphObjectIds.get(action.tenantId);
        if (action.appId !== GRAPH_APP_ID || !objectId) return { servicePrincipal: null };
        const sp: ObservedServicePrincipal = { objectId, appId: GRAPH_APP_ID, appRoles: GRAPH_ROLES };
        return { servicePrincipal: this.clone(sp) };
      }
      case "ListAppRoleAssignments":
        return {
          appRoleAssignments: this.clone(
            this.appRoleAssignments.filter((a) => a.principalId === action.principalId),
          ),
        };
      case "CreateIdentity": {
        const key = armIdKey(action.identityId);
        const existing = this.identities.get(key);
        if (existing) return { identity: this.clone({ ...existing, tags: action.tags }) };
        const name = action.identityId.split("/").pop() as string;
        const group = action.identityId.split("/")[4] as string;
        const created = this.addIdentity(name, group, action.location);
        created.tags = { ...action.tags };
        created.id = action.identityId;
        return { identity: this.clone(created) };
      }
      case "UpdateIdentityTags": {
        const identity = this.identities.get(armIdKey(action.identityId));
        if (!identity) return notFound();
        identity.tags = { ...action.tags };
        return { identity: this.clone(identity) };
      }
      case "DeleteIdentity": {
        const key = armIdKey(action.identityId);
        if (!this.identities.delete(key)) return notFound();
        this.credentials.delete(key);
        return {};
      }
      case "PutFederatedCredential": {
        const list = this.credentials.get(armIdKey(action.identityId));
        if (!list)
          return {
            failure: {
              code: "ParentResourceNotFound",
              message: "The parent user-assigned identity does not exist.",
              status: 404,
            },
          };
        const others = list.filter((c) => c.name !== action.name);
        if (others.some((c) => c.issuer === action.issuer && c.subject === action.subject)) {
          return {
            failure: {
              code: "BadRequest",
              message: "Issuer and subject combination already exists for this Managed Identity.",
              status: 400,
            },
          };
        }
        if (others.length >= 20) return { failure: { code: "BadRequest", message: "too many", status: 400 } };
        if (action.audiences.length !== 1)
          return { failure: { code: "BadRequest", message: "exactly 1 audience", status: 400 } };
        this.credentials.set(armIdKey(action.identityId), [
          ...others,
          {
            name: action.name,
            issuer: action.issuer,
            subject: action.subject,
            audiences: [...action.audiences],
          },
        ]);
        return {};
      }
      case "DeleteFederatedCredential": {
        const key = armIdKey(action.identityId);
        const list = this.credentials.get(key) ?? [];
        if (!list.some((c) => c.name === action.name)) return notFound();
        this.credentials.set(
          key,
          list.filter((c) => c.name !== action.name),
        );
        return {};
      }
      case "PutRoleAssignment": {
        if (action.principalType !== "ServicePrincipal") {
          return { failure: { code: "PrincipalNotFound", message: "not replicated", status: 400 } };
        }
        const guid = roleDefinitionGuid(action.roleDefinitionId);
        const same = this.assignments.find(
          (a) =>
            armIdKey(a.scope) === armIdKey(action.scope) &&
            roleDefinitionGuid(a.roleDefinitionId) === guid &&
            a.principalId === action.principalId,
        );
        if (same && same.name !== action.name) {
          return {
            failure: {
              code: "RoleAssignmentExists",
              message: "The role assignment already exists.",
              status: 409,
            },
          };
        }
        const assignment = {
          id: roleAssignmentId(action.scope, action.name),
          name: action.name,
          scope: action.scope,
          roleDefinitionId: action.roleDefinitionId,
          principalId: action.principalId,
          principalType: action.principalType,
          ...(action.condition
            ? { condition: action.condition, conditionVersion: action.conditionVersion }
            : {}),
          ...(action.assignmentDescription ? { description: action.assignmentDescription } : {}),
        };
        this.assignments = [...this.assignments.filter((a) => a.name !== action.name), assignment];
        return { roleAssignment: this.clone(assignment) };
      }
      case "DeleteRoleAssignment": {
        const before = this.assignments.length;
        this.assignments = this.assignments.filter(
          (a) => armIdKey(a.id) !== armIdKey(action.roleAssignmentId),
        );
        return before === this.assignments.length ? notFound() : {};
      }
      case "PatchResourceIdentity": {
        const target = this.targets.get(armIdKey(action.resourceId));
        if (!target) return notFound();
        if (target.classic) return { failure: { code: "BadRequest", message: "classic", status: 400 } };
        const result = this.patchIdentity(target.identity, action.identity);
        if ("failure" in result) return result;
        target.identity = result.identity;
        return { resourceIdentity: this.clone(result.identity) };
      }
      case "PutRoleDefinition": {
        const definition: ObservedRoleDefinition = {
          id: `/subscriptions/${action.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${action.guid}`,
          name: action.guid,
          roleName: action.roleName,
          type: "CustomRole",
          description: action.roleDescription,
          permissions: this.clone(action.permissions),
          assignableScopes: [...action.assignableScopes],
        };
        this.definitions.set(action.guid, definition);
        return { roleDefinition: this.clone(definition) };
      }
      case "DeleteRoleDefinition":
        return this.definitions.delete(action.guid) ? {} : notFound();
      case "GrantAppRole": {
        if (
          this.appRoleAssignments.some(
            (a) => a.principalId === action.principalId && a.appRoleId === action.appRoleId,
          )
        ) {
          return {
            failure: {
              code: "BadRequest",
              message: "Permission being assigned already exists on the object",
              status: 400,
            },
          };
        }
        const granted = {
          id: this.nextGuid("appRoleAssignment"),
          principalId: action.principalId,
          resourceId: action.resourceServicePrincipalId,
          appRoleId: action.appRoleId,
        };
        this.appRoleAssignments.push(granted);
        return { appRoleAssignment: this.clone(granted) };
      }
      case "RevokeAppRole": {
        const before = this.appRoleAssignments.length;
        this.appRoleAssignments = this.appRoleAssignments.filter((a) => a.id !== action.assignmentId);
        return before === this.appRoleAssignments.length ? notFound() : {};
      }
      case "ReadVault": {
        const vault = this.vaults.get(armIdKey(action.vaultId));
        return { vault: vault ? this.clone(vault) : null };
      }
      case "SetVaultTenant": {
        const vault = this.vaults.get(armIdKey(action.vaultId));
        if (!vault) return notFound();
        if (vault.tenantId !== action.tenantId) {
          vault.tenantId = action.tenantId;
          vault.accessPolicies = [];
        }
        return { vault: this.clone(vault) };
      }
      case "UpdateVaultAccessPolicy": {
        const vault = this.vaults.get(armIdKey(action.vaultId));
        if (!vault) return notFound();
        const same = (e: ObservedAccessPolicyEntry) =>
          e.objectId === action.entry.objectId && e.tenantId === action.entry.tenantId;
        const current = vault.accessPolicies.find(same);
        const others = vault.accessPolicies.filter((e) => !same(e));
        if (action.operation === "replace") {
          if (action.entry.tenantId !== vault.tenantId)
            return { failure: { code: "BadRequest", message: "not the vault's tenant", status: 400 } };
          vault.accessPolicies = [...others, this.clone(action.entry)];
        } else if (current) {
          const left: ObservedAccessPolicyEntry["permissions"] = {};
          for (const kind of ["keys", "secrets", "certificates", "storage"] as const) {
            const kept = (current.permissions[kind] ?? []).filter(
              (p) => !(action.entry.permissions[kind] ?? []).includes(p),
            );
            if (kept.length > 0) left[kind] = kept;
          }
          vault.accessPolicies =
            Object.keys(left).length > 0 ? [...others, { ...current, permissions: left }] : others;
        }
        return {};
      }
    }
  }

  addVault(name: string, options: { rbac?: boolean; entries?: ObservedAccessPolicyEntry[] } = {}): string {
    const id = `${RG}/providers/Microsoft.KeyVault/vaults/${name}`;
    this.vaults.set(armIdKey(id), {
      id,
      tenantId: this.tenantId,
      rbac: options.rbac ?? false,
      accessPolicies: this.clone(options.entries ?? []),
    });
    return id;
  }

  /** ARM's PATCH of an identity block: the type decides; {} adds, null removes. */
  private patchIdentity(
    current: ResourceIdentity | undefined,
    patch: { type: string; userAssignedIdentities?: Record<string, object | null> },
  ): { identity: ResourceIdentity } | { failure: { code: string; message: string; status: number } } {
    const parts = patch.type.replace(/\s+/g, "").toLowerCase().split(",");
    const system = parts.includes("systemassigned");
    const user = parts.includes("userassigned");
    const users = new Map<string, { principalId?: string; clientId?: string }>();
    const currentType = (current?.type ?? "None").replace(/\s+/g, "").toLowerCase();
    if (currentType.includes("userassigned")) {
      for (const [id, value] of Object.entries(current?.userAssignedIdentities ?? {}))
        users.set(armIdKey(id), value);
    }
    for (const [id, value] of Object.entries(patch.userAssignedIdentities ?? {})) {
      if (value === null) users.delete(armIdKey(id));
      else {
        const identity = this.identities.get(armIdKey(id));
        if (!identity)
          return { failure: { code: "BadRequest", message: `identity ${id} not found`, status: 400 } };
        users.set(armIdKey(id), { principalId: identity.principalId, clientId: identity.clientId });
      }
    }
    if (!user) users.clear();
    if (user && users.size === 0) {
      return {
        failure: { code: "BadRequest", message: "UserAssigned needs at least one identity", status: 400 },
      };
    }
    const keepSystem = system && currentType.includes("systemassigned");
    const identity: ResourceIdentity = {
      type: patch.type,
      ...(system
        ? {
            principalId: keepSystem ? (current?.principalId as string) : this.nextGuid("system"),
            tenantId: keepSystem ? (current?.tenantId as string) : this.tenantId,
          }
        : {}),
      ...(users.size > 0 ? { userAssignedIdentities: Object.fromEntries(users) } : {}),
    };
    return { identity };
  }

  private clone<T>(value: T): T {
    return structuredClone(value);
  }
}

function notFound(): ActionResult {
  return { failure: { code: "NotFound", message: "not found", status: 404 } };
}
