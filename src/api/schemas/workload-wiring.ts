// What an identity wires into its own namespace: the ServiceAccounts whose pods use it through
// Azure Workload Identity, and the ConfigMap or Secret that carries its ids to other workloads.
import type { Static } from "typebox";
import { bool, map, Optional, obj, str } from "./helpers.js";

export const MAX_SERVICE_ACCOUNTS = 20;
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const objectName = (description: string) =>
  str(description, { pattern: DNS_SUBDOMAIN, minLength: 1, maxLength: 253 });
const CONFIG_KEY = "^[-._a-zA-Z0-9]+$";
const keyName = (description: string) =>
  Optional(str(description, { pattern: CONFIG_KEY, minLength: 1, maxLength: 253 }));

export const ServiceAccountSpec = obj(
  {
    name: objectName("Name of a ServiceAccount in the identity's namespace."),
    restartWorkloads: Optional(
      bool(
        "May azid restart the Deployments, StatefulSets and DaemonSets that run as this ServiceAccount " +
          "(pod template labelled azure.workload.identity/use=true) when the client id changes. Default true.",
        { default: true },
      ),
    ),
  },
  "A ServiceAccount whose pods use the identity through Azure Workload Identity: azid keeps its " +
    "federated credential, its client-id and tenant-id annotations, and restarts its workloads on a change.",
);
export type ServiceAccountSpec = Static<typeof ServiceAccountSpec>;

export const ServiceAccounts = map(
  ServiceAccountSpec,
  ["name"],
  "ServiceAccounts of the same namespace that use this identity (at most 20).",
  { maxItems: MAX_SERVICE_ACCOUNTS },
);

export const ExportKeys = obj(
  {
    clientId: keyName("Key for the client id (default clientId)."),
    principalId: keyName("Key for the principal (object) id (default principalId)."),
    tenantId: keyName("Key for the tenant id (default tenantId)."),
    resourceId: keyName("Key for the identity's ARM resource id (default resourceId)."),
  },
  "Names of the keys written; each defaults to the field's name.",
);
export type ExportKeys = Static<typeof ExportKeys>;

const exportTarget = (what: string) =>
  obj(
    {
      name: objectName(`Name of the ${what} in the identity's namespace.`),
      keys: Optional(ExportKeys),
    },
    `A ${what} of the identity's namespace, owned by the identity and kept current.`,
  );

export const Exports = obj(
  {
    configMap: Optional(exportTarget("ConfigMap")),
    secret: Optional(exportTarget("Secret")),
  },
  "Where azid writes the identity's ids for workloads that read them (a ConfigMap, a Secret, or both).",
);
export type Exports = Static<typeof Exports>;
