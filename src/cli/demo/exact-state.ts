// Whether Azure holds exactly what the resources declare: every user-assigned identity (and no
// other), its federated credentials, every identity block of every resource, every role
// assignment of the subscription, every custom role and every Graph app role of the declared
// principals. Principal ids come from the resources' statuses, so after a tenant move this also
// says that the new principals are the ones in use everywhere. Pure: the estate is read elsewhere
// (the demo reads it with the product's inventory, the tests with plain ARM requests).

import { armIdKey, roleDefinitionGuid, userAssignedIdentityId } from "../../api/arm-id.js";
import { DEFAULT_FEDERATED_AUDIENCE, MICROSOFT_GRAPH_APP_ID } from "../../api/schemas/common.js";
import type { CustomRole } from "../../api/schemas/custom-role.js";
import type { SystemAssignedIdentity } from "../../api/schemas/system-assigned-identity.js";
import type { UserAssignedIdentity } from "../../api/schemas/user-assigned-identity.js";
import {
  serviceAccountCredentialName,
  serviceAccountSubject,
  WORKLOAD_IDENTITY_AUDIENCE,
} from "../../api/workload-identity.js";
import type {
  ObservedAppRoleAssignment,
  ObservedFederatedCredential,
  ObservedIdentity,
  ObservedRoleAssignment,
  ObservedRoleDefinition,
  ResourceIdentity,
} from "../../plan/observed.js";
import { customRoleDefinitionGuid, resolveRole } from "../../plan/roles.js";

/** One subscription as read from Azure. */
export interface Estate {
  /** The subscription's tenant now. */
  tenantId: string;
  identities: ObservedIdentity[];
  /** Federated credentials by armIdKey(identity id). */
  credentials: Record<string, ObservedFederatedCredential[]>;
  /** Every resource with an identity block other than None (user-assigned identities excluded). */
  resources: Array<{ id: string; identity: ResourceIdentity }>;
  roleAssignments: ObservedRoleAssignment[];
  customRoles: ObservedRoleDefinition[];
  /** Graph app role assignments by principal id (lowercase), for the principals read. */
  appRoleAssignments: Record<string, ObservedAppRoleAssignment[]>;
}

/** The resources of one subscription, with their statuses (the principal ids azid recorded). */
export interface Declared {
  userAssigned: readonly UserAssignedIdentity[];
  systemAssigned: readonly SystemAssignedIdentity[];
  customRoles: readonly CustomRole[];
  /** The cluster's service-account issuer: each spec.serviceAccounts[] entry wants a credential of it. */
  serviceAccountIssuer?: string;
}

/** The principals whose Graph app roles a reader must read: every declared identity's. */
export function declaredPrincipals(declared: Declared): string[] {
  return [...declared.userAssigned, ...declared.systemAssigned].flatMap((resource) =>
    resource.status?.principalId ? [resource.status.principalId.toLowerCase()] : [],
  );
}

const ref = (resource: { kind: string; metadata: { namespace?: string; name: string } }) =>
  `${resource.kind} ${resource.metadata.namespace ?? ""}/${resource.metadata.name}`;

const lower = (value: string | undefined) => (value ?? "").toLowerCase();

/**
 * Every way Azure differs from the declaration, one line each; empty when it is exact.
 * Duplicates count: two assignments of the same role to the same principal at the same scope,
 * or an identity attached twice, are differences.
 */
export function differences(declared: Declared, estate: Estate): string[] {
  const found: string[] = [];
  const tenant = lower(estate.tenantId);

  // Principals as the statuses record them, checked against Azure below.
  const principalOf = new Map<string, string>();
  for (const identity of declared.userAssigned) {
    const status = identity.status;
    if (!status?.principalId) found.push(`${ref(identity)}: no principal id in status`);
    else principalOf.set(ref(identity), lower(status.principalId));
    if (lower(status?.tenantId) !== tenant)
      found.push(`${ref(identity)}: status names tenant ${status?.tenantId ?? "none"}, not ${tenant}`);
  }
  for (const system of declared.systemAssigned) {
    const status = system.status;
    if (!status?.principalId) found.push(`${ref(system)}: no principal id in status`);
    else principalOf.set(ref(system), lower(status.principalId));
    if (lower(status?.tenantId) !== tenant)
      found.push(`${ref(system)}: status names tenant ${status?.tenantId ?? "none"}, not ${tenant}`);
  }

  found.push(...identityDifferences(declared, estate, principalOf));
  found.push(...attachmentDifferences(declared, estate, principalOf));
  found.push(...assignmentDifferences(declared, estate, principalOf));
  found.push(...customRoleDifferences(declared, estate));
  found.push(...appRoleDifferences(declared, estate, principalOf));
  return found;
}

function identityIdOf(identity: UserAssignedIdentity): string {
  const { spec, metadata } = identity;
  return userAssignedIdentityId(spec.subscriptionId, spec.resourceGroup, spec.name ?? metadata.name);
}

function identityDifferences(
  declared: Declared,
  estate: Estate,
  principalOf: ReadonlyMap<string, string>,
): string[] {
  const found: string[] = [];
  const inAzure = groupBy(estate.identities, (identity) => armIdKey(identity.id));
  const wanted = new Set<string>();
  for (const identity of declared.userAssigned) {
    const key = armIdKey(identityIdOf(identity));
    wanted.add(key);
    const copies = inAzure.get(key) ?? [];
    if (copies.length !== 1) {
      found.push(`${ref(identity)}: ${copies.length} identities at ${identityIdOf(identity)}, expected 1`);
      continue;
    }
    const azure = copies[0] as ObservedIdentity;
    if (lower(azure.tenantId) !== lower(estate.tenantId))
      found.push(`${ref(identity)}: the identity is in tenant ${azure.tenantId}, not ${estate.tenantId}`);
    if (lower(azure.principalId) !== principalOf.get(ref(identity)))
      found.push(
        `${ref(identity)}: Azure's principal ${azure.principalId} is not status's ${principalOf.get(ref(identity))}`,
      );
    if (lower(azure.clientId) !== lower(identity.status?.clientId))
      found.push(`${ref(identity)}: Azure's client id ${azure.clientId} is not status's`);
    if (lower(azure.location).replace(/\s/g, "") !== lower(identity.spec.location).replace(/\s/g, ""))
      found.push(`${ref(identity)}: in ${azure.location}, declared ${identity.spec.location}`);
    for (const [key, value] of Object.entries(identity.spec.tags ?? {})) {
      if (azure.tags[key] !== value) found.push(`${ref(identity)}: tag ${key} is ${azure.tags[key]}`);
    }
    const want = (identity.spec.federatedCredentials ?? []).map((c) =>
      credentialKey({ ...c, audiences: c.audiences ?? [DEFAULT_FEDERATED_AUDIENCE] }),
    );
    if (declared.serviceAccountIssuer !== undefined) {
      const namespace = identity.metadata.namespace ?? "default";
      for (const account of identity.spec.serviceAccounts ?? []) {
        want.push(
          credentialKey({
            name: serviceAccountCredentialName(account.name),
            issuer: declared.serviceAccountIssuer,
            subject: serviceAccountSubject(namespace, account.name),
            audiences: [WORKLOAD_IDENTITY_AUDIENCE],
          }),
        );
      }
    }
    const have = (estate.credentials[key] ?? []).map(credentialKey);
    found.push(...multisetDifferences(`${ref(identity)}: federated credential`, want, have));
  }
  for (const [key, copies] of inAzure) {
    if (!wanted.has(key)) found.push(`identity ${copies[0]?.id} is in Azure but not declared`);
  }
  return found;
}

const credentialKey = (c: ObservedFederatedCredential) =>
  `${c.name} ${c.issuer} ${c.subject} ${[...c.audiences].sort().join(",")}`;

function attachmentDifferences(
  declared: Declared,
  estate: Estate,
  principalOf: ReadonlyMap<string, string>,
): string[] {
  const found: string[] = [];
  // What each resource's identity block must hold: the identities attached to it, and its own.
  const wantedUsers = new Map<string, string[]>();
  const wantedSystem = new Map<string, SystemAssignedIdentity>();
  const identityPrincipal = new Map<string, string | undefined>();
  for (const identity of declared.userAssigned) {
    const id = armIdKey(identityIdOf(identity));
    identityPrincipal.set(id, principalOf.get(ref(identity)));
    for (const target of identity.spec.attachTo ?? []) {
      const key = armIdKey(target);
      wantedUsers.set(key, [...(wantedUsers.get(key) ?? []), id]);
    }
  }
  for (const system of declared.systemAssigned) wantedSystem.set(armIdKey(system.spec.resourceId), system);

  const resources = groupBy(estate.resources, (resource) => armIdKey(resource.id));
  const keys = new Set([...wantedUsers.keys(), ...wantedSystem.keys(), ...resources.keys()]);
  for (const key of keys) {
    const resource = resources.get(key)?.[0];
    const name = resource?.id ?? key;
    const users = Object.entries(resource?.identity.userAssignedIdentities ?? {});
    found.push(
      ...multisetDifferences(
        `${name}: user-assigned identity`,
        wantedUsers.get(key) ?? [],
        users.map(([id]) => armIdKey(id)),
      ),
    );
    for (const [id, entry] of users) {
      const expected = identityPrincipal.get(armIdKey(id));
      if (expected && entry.principalId && lower(entry.principalId) !== expected)
        found.push(`${name}: ${id} is attached with principal ${entry.principalId}, not ${expected}`);
    }
    const type = lower(resource?.identity.type).replace(/\s/g, "");
    const system = wantedSystem.get(key);
    if (system) {
      const principal = principalOf.get(ref(system));
      if (!type.includes("systemassigned")) found.push(`${name}: its system-assigned identity is off`);
      else if (lower(resource?.identity.principalId) !== principal)
        found.push(`${name}: system principal ${resource?.identity.principalId}, status says ${principal}`);
      else if (lower(resource?.identity.tenantId) !== lower(estate.tenantId))
        found.push(
          `${name}: system identity in tenant ${resource?.identity.tenantId}, not ${estate.tenantId}`,
        );
    } else if (type.includes("systemassigned")) {
      found.push(`${name}: a system-assigned identity is on but none is declared`);
    }
  }
  return found;
}

function assignmentDifferences(
  declared: Declared,
  estate: Estate,
  principalOf: ReadonlyMap<string, string>,
): string[] {
  const want: string[] = [];
  for (const resource of [...declared.userAssigned, ...declared.systemAssigned]) {
    const namespace = resource.metadata.namespace;
    const customRoles = declared.customRoles.filter((role) => role.metadata.namespace === namespace);
    const principal = principalOf.get(ref(resource)) ?? `(no principal of ${ref(resource)})`;
    for (const assignment of resource.spec.roleAssignments ?? []) {
      const role = resolveRole(assignment, customRoles);
      want.push(assignmentKey(principal, role.guid ?? `(unresolved ${role.names[0]})`, assignment.scope));
    }
  }
  const have = estate.roleAssignments.map((a) =>
    assignmentKey(a.principalId, roleDefinitionGuid(a.roleDefinitionId), a.scope),
  );
  return multisetDifferences("role assignment", want, have);
}

const assignmentKey = (principal: string, roleGuid: string, scope: string) =>
  `${lower(principal)} ${lower(roleGuid)} ${armIdKey(scope)}`;

function customRoleDifferences(declared: Declared, estate: Estate): string[] {
  const want = declared.customRoles.map((role) =>
    definitionKey(
      customRoleDefinitionGuid(role),
      role.spec.roleName,
      role.spec.permissions.flatMap((p) => p.actions ?? []),
      role.spec.assignableScopes,
    ),
  );
  const have = estate.customRoles.map((definition) =>
    definitionKey(
      definition.name,
      definition.roleName,
      definition.permissions.flatMap((p) => p.actions ?? []),
      definition.assignableScopes,
    ),
  );
  return multisetDifferences("custom role", want, have);
}

const definitionKey = (guid: string, roleName: string, actions: string[], scopes: string[]) =>
  `${lower(guid)} "${roleName}" [${actions.map(lower).sort().join(",")}] at [${scopes.map(armIdKey).sort().join(",")}]`;

function appRoleDifferences(
  declared: Declared,
  estate: Estate,
  principalOf: ReadonlyMap<string, string>,
): string[] {
  const found: string[] = [];
  for (const resource of [...declared.userAssigned, ...declared.systemAssigned]) {
    const principal = principalOf.get(ref(resource));
    if (!principal) continue;
    // App roles by id, as the status resolved them (a value such as User.Read.All has one id per API).
    const resolved = resource.status?.graphAppRoles ?? [];
    const want = (resource.spec.graphAppRoles ?? []).map((role) => {
      const api = lower(role.resourceAppId ?? MICROSOFT_GRAPH_APP_ID);
      const id = resolved.find(
        (s) => lower(s.resourceAppId) === api && lower(s.appRole) === lower(role.appRole),
      )?.appRoleId;
      return lower(id ?? `(unresolved ${role.appRole})`);
    });
    const have = (estate.appRoleAssignments[principal] ?? []).map((a) => lower(a.appRoleId));
    found.push(...multisetDifferences(`${ref(resource)}: Graph app role`, want, have));
  }
  return found;
}

/** What is missing from `have` and what is extra in it, counting copies. */
function multisetDifferences(what: string, want: readonly string[], have: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const key of want) count.set(key, (count.get(key) ?? 0) + 1);
  for (const key of have) count.set(key, (count.get(key) ?? 0) - 1);
  const found: string[] = [];
  for (const [key, n] of [...count.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (n > 0) found.push(`${what} missing${n > 1 ? ` ${n} times` : ""}: ${key}`);
    if (n < 0) found.push(`${what} not declared${n < -1 ? ` (${-n} copies)` : ""}: ${key}`);
  }
  return found;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
