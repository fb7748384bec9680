// What else an identity's reconcile depends on, as watches for the identity controllers: the
// labels of its namespace and the IdentityPolicies (which select namespaces by label), and the
// CustomRoles its role assignments name. A change of any of them reconciles the identities
// concerned, and only those.
import { roleDefinitionGuid } from "../api/arm-id.js";
import type { CustomRole } from "../api/schemas/custom-role.js";
import type { IdentityPolicy } from "../api/schemas/identity-policy.js";
import {
  CONFIG_MAPS,
  CUSTOM_ROLES,
  IDENTITY_POLICIES,
  type KubeObject,
  keyOf,
  NAMESPACES,
  type ResourceType,
  SECRETS,
  SERVICE_ACCOUNTS,
} from "../kube/resources.js";
import { sameJson } from "../kube/status.js";
import { ownWiringWrites, wiringFingerprint } from "../kube/workload-objects.js";
import { selectsNamespace } from "../plan/policy.js";
import { customRoleDefinitionGuid } from "../plan/roles.js";
import type { Caches, IndexDefinition, ObjectChange, SecondaryWatch } from "./reconciler.js";

/** The index of identities by the custom roles they may refer to. */
export const ROLE_REFERENCES = "roleReferences";

interface RoleReferences {
  role?: string;
  roleDefinitionId?: string;
  customRoleRef?: { name: string };
}

interface WithRoleAssignments extends KubeObject {
  spec?: { roleAssignments?: readonly RoleReferences[] };
}

/** An identity's role assignments as index values: by CustomRole name, by roleName, by definition GUID. */
function roleReferenceValues(object: KubeObject): string[] {
  const identity = object as WithRoleAssignments;
  const namespace = identity.metadata?.namespace ?? "";
  return (identity.spec?.roleAssignments ?? []).flatMap((assignment) => {
    if (assignment.customRoleRef) return [`ref:${namespace}/${assignment.customRoleRef.name}`];
    if (assignment.role) return [`name:${namespace}/${assignment.role.toLowerCase()}`];
    if (assignment.roleDefinitionId) {
      try {
        return [`guid:${roleDefinitionGuid(assignment.roleDefinitionId)}`];
      } catch {
        return [];
      }
    }
    return [];
  });
}

/** The values under which identities referring to this CustomRole are indexed. */
function customRoleValues(role: CustomRole): string[] {
  const namespace = role.metadata.namespace ?? "";
  return [
    `ref:${namespace}/${role.metadata.name}`,
    `name:${namespace}/${role.spec.roleName.toLowerCase()}`,
    `guid:${customRoleDefinitionGuid(role)}`,
  ];
}

export function roleReferenceIndex(identities: ResourceType): IndexDefinition {
  return { resource: identities, name: ROLE_REFERENCES, index: roleReferenceValues };
}

function keysOf(identities: ResourceType, objects: Iterable<KubeObject>): string[] {
  return [...objects].map((object) =>
    keyOf(identities.kind, object.metadata?.namespace, object.metadata?.name ?? ""),
  );
}

/** A Namespace whose labels changed: its identities (which policies select it may have changed). */
export function namespaceLabelWatch(identities: ResourceType): SecondaryWatch {
  return {
    resource: NAMESPACES,
    map({ before, after }: ObjectChange, caches: Caches) {
      // A new namespace has no identities yet; a deleted one takes its identities with it.
      if (!before || !after || sameJson(before.metadata?.labels ?? {}, after.metadata?.labels ?? {}))
        return [];
      return keysOf(identities, caches.of(identities).list(after.metadata?.name ?? ""));
    },
  };
}

/** An IdentityPolicy added, removed or changed: the identities in every namespace it selected or selects (reads the Namespace cache). */
export function identityPolicyWatch(identities: ResourceType): SecondaryWatch {
  return {
    resource: IDENTITY_POLICIES,
    map({ before, after }: ObjectChange, caches: Caches) {
      const old = before as IdentityPolicy | undefined;
      const current = after as IdentityPolicy | undefined;
      if (old && current && sameJson(old.spec, current.spec)) return [];
      const selectors = [old, current].flatMap((policy) => (policy ? [policy.spec.namespaceSelector] : []));
      const namespaces = caches
        .of(NAMESPACES)
        .list()
        .filter((namespace) =>
          selectors.some((selector) => selectsNamespace(selector, namespace.metadata?.labels ?? {})),
        );
      const cache = caches.of(identities);
      return namespaces.flatMap((namespace) =>
        keysOf(identities, cache.list(namespace.metadata?.name ?? "")),
      );
    },
  };
}

/**
 * A CustomRole added, changed (its status too: a grant waits for the role to exist in Azure) or
 * removed: the identities whose role assignments name it. Needs `roleReferenceIndex`.
 */
export function customRoleWatch(identities: ResourceType): SecondaryWatch {
  return {
    resource: CUSTOM_ROLES,
    map({ before, after }: ObjectChange, caches: Caches) {
      const cache = caches.of(identities);
      const values = new Set(
        [before, after].flatMap((role) => (role ? customRoleValues(role as CustomRole) : [])),
      );
      const referring = new Map<string, KubeObject>();
      for (const value of values) {
        for (const identity of cache.byIndex(ROLE_REFERENCES, value)) {
          referring.set(`${identity.metadata?.namespace}/${identity.metadata?.name}`, identity);
        }
      }
      return keysOf(identities, referring.values());
    },
  };
}

/** The index of identities by the ServiceAccounts and exports they name: `Kind/namespace/name`. */
export const WIRING_REFERENCES = "wiringReferences";

interface WithWiring extends KubeObject {
  spec?: {
    serviceAccounts?: readonly { name: string }[];
    exports?: { configMap?: { name: string }; secret?: { name: string } };
  };
}

function wiringValues(object: KubeObject): string[] {
  const { spec, metadata } = object as WithWiring;
  const namespace = metadata?.namespace ?? "";
  return [
    ...(spec?.serviceAccounts ?? []).map((account) => `ServiceAccount/${namespace}/${account.name}`),
    ...(spec?.exports?.configMap ? [`ConfigMap/${namespace}/${spec.exports.configMap.name}`] : []),
    ...(spec?.exports?.secret ? [`Secret/${namespace}/${spec.exports.secret.name}`] : []),
  ];
}

export function wiringIndex(identities: ResourceType): IndexDefinition {
  return { resource: identities, name: WIRING_REFERENCES, index: wiringValues };
}

/**
 * A ServiceAccount created, deleted or whose workload-identity annotations changed (the cache
 * keeps only those), or an export of azid's changed or deleted: the identities that name it.
 */
export function wiringWatch(identities: ResourceType, resource: ResourceType): SecondaryWatch {
  return {
    resource,
    map({ before, after }: ObjectChange, caches: Caches) {
      const object = after ?? before;
      if (!object) return [];
      if (before && after) {
        const same =
          resource === SERVICE_ACCOUNTS
            ? sameJson(before.metadata?.annotations ?? {}, after.metadata?.annotations ?? {})
            : sameJson((before as { data?: unknown }).data ?? {}, (after as { data?: unknown }).data ?? {}) &&
              sameJson(before.metadata?.ownerReferences ?? [], after.metadata?.ownerReferences ?? []);
        if (same) return [];
      }
      const value = `${resource.kind}/${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
      // The event of this process's own write: the identity that made it knows already.
      if (before && after && ownWiringWrites.consume(value, wiringFingerprint(resource.kind, after)))
        return [];
      return keysOf(identities, caches.of(identities).byIndex(WIRING_REFERENCES, value));
    },
  };
}

/**
 * Everything an identity controller (UserAssignedIdentity, SystemAssignedIdentity) declares to be
 * reconciled when its namespace's labels, the IdentityPolicies or its CustomRoles change.
 */
export function identityDependencies(identities: ResourceType): {
  watches: SecondaryWatch[];
  indexes: IndexDefinition[];
  reads: ResourceType[];
} {
  return {
    watches: [
      namespaceLabelWatch(identities),
      identityPolicyWatch(identities),
      customRoleWatch(identities),
      wiringWatch(identities, SERVICE_ACCOUNTS),
      wiringWatch(identities, CONFIG_MAPS),
      wiringWatch(identities, SECRETS),
    ],
    indexes: [roleReferenceIndex(identities), wiringIndex(identities)],
    reads: [NAMESPACES],
  };
}
