// What an identity wires into its own namespace: the ServiceAccounts whose pods use it through
// Azure Workload Identity, and the ConfigMap or Secret that carries its ids to other workloads.
import type { Static } from "typebox";
import { ItemState } from "./common.js";
import { bool, list, map, Optional, obj, oneOf, str } from "./helpers.js";

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

const UUID_MAX = { maxLength: 36 };

export const ServiceAccountStatus = obj(
  {
    name: str("Name of the ServiceAccount.", { maxLength: 253 }),
    state: ItemState,
    message: Optional(str("Why the ServiceAccount is in this state.", { maxLength: 4096 })),
    clientId: Optional(
      str(
        "The client id azid last set on the ServiceAccount (its azure.workload.identity/client-id).",
        UUID_MAX,
      ),
    ),
    restartedFor: Optional(
      str("The client id whose change the ServiceAccount's workloads were last restarted for.", UUID_MAX),
    ),
    restartPendingFrom: Optional(
      str(
        "The client id the ServiceAccount carried before a change whose workload restart is still owed " +
          "(it waits for the identity to be Ready in Azure, or failed).",
        UUID_MAX,
      ),
    ),
    restarted: Optional(
      list(
        str("Kind/name of a workload.", { maxLength: 300 }),
        "The workloads azid restarted for that change (Kind/name).",
        { maxItems: 100 },
      ),
    ),
  },
  "How one ServiceAccount of spec.serviceAccounts is wired.",
);
export type ServiceAccountStatus = Static<typeof ServiceAccountStatus>;

export const ExportStatus = obj(
  {
    kind: oneOf(["ConfigMap", "Secret"], "ConfigMap or Secret."),
    name: str("Its name in the identity's namespace.", { maxLength: 253 }),
    state: ItemState,
    message: Optional(str("Why the export is in this state.", { maxLength: 4096 })),
  },
  "One ConfigMap or Secret of spec.exports.",
);
export type ExportStatus = Static<typeof ExportStatus>;

/** The status fields the wiring reports (both identity kinds; SystemAssignedIdentity has no serviceAccounts). */
export const wiringStatusFields = {
  serviceAccounts: Optional(
    list(ServiceAccountStatus, "One entry per ServiceAccount of spec.serviceAccounts.", {
      maxItems: MAX_SERVICE_ACCOUNTS,
    }),
  ),
  exports: Optional(
    list(ExportStatus, "One entry per ConfigMap or Secret of spec.exports.", { maxItems: 2 }),
  ),
};
