// The demo's estate: a shop team's namespace and IdentityPolicy, a custom role, user-assigned
// identities with role grants (one of them the custom role), federated credentials for a
// cluster's service accounts, attachments to VMs and a Graph app role, and a VM's system-assigned
// identity; plus the Azure resources they need (a resource group and three VMs), created in the
// sandbox the way the portal would, before azid runs.

import { request } from "node:https";
import { MICROSOFT_GRAPH_APP_ID } from "../../api/schemas/common.js";
import { CliError } from "../exit-codes.js";
import type { KubeObject } from "./kube-api.js";

export const SAMPLE_NAMESPACE = "shop";
const GROUP = "shop-rg";
const LOCATION = "westeurope";
const VMS = ["web-1", "web-2", "batch-1"];
const ISSUER = "https://oidc.prod-aks.example.com/3f0c2a7e";

const groupId = (subscriptionId: string) => `/subscriptions/${subscriptionId}/resourceGroups/${GROUP}`;
const vmId = (subscriptionId: string, name: string) =>
  `${groupId(subscriptionId)}/providers/Microsoft.Compute/virtualMachines/${name}`;

export function sampleNamespaceAndPolicy(subscriptionId: string): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: SAMPLE_NAMESPACE, labels: { "azid.dev/team": SAMPLE_NAMESPACE } },
    },
    {
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: "shop-team" },
      spec: {
        namespaceSelector: { matchLabels: { "azid.dev/team": SAMPLE_NAMESPACE } },
        subscriptions: [{ subscriptionId, resourceGroups: [GROUP] }],
        roles: [
          {
            roles: ["Reader", "Storage Blob Data Reader", "Shop Orders Reader"],
            scopes: [{ scope: groupId(subscriptionId), match: "Under" }],
          },
        ],
        attachTargets: [{ scope: groupId(subscriptionId), match: "Under" }],
        graphAppRoles: [{ resourceAppId: MICROSOFT_GRAPH_APP_ID, appRoles: ["User.Read.All"] }],
        allowCustomRoles: true,
        // The production AKS cluster's issuer, trusted for this team's ServiceAccounts only.
        federatedCredentials: [{ issuer: ISSUER, subjects: [`system:serviceaccount:${SAMPLE_NAMESPACE}:*`] }],
      },
    },
  ];
}

/** The team's resources: the custom role first, since grants of it wait for it. */
export function sampleResources(subscriptionId: string): KubeObject[] {
  const group = groupId(subscriptionId);
  const meta = (name: string) => ({ name, namespace: SAMPLE_NAMESPACE });
  const credential = (name: string, serviceAccount: string) => ({
    name,
    issuer: ISSUER,
    subject: `system:serviceaccount:${SAMPLE_NAMESPACE}:${serviceAccount}`,
  });
  const identity = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: meta(name),
    spec: { subscriptionId, resourceGroup: GROUP, location: LOCATION, tags: { team: "shop" }, ...spec },
  });
  return [
    {
      apiVersion: "azid.dev/v1alpha1",
      kind: "CustomRole",
      metadata: meta("orders-reader"),
      spec: {
        subscriptionId,
        roleName: "Shop Orders Reader",
        description: "reads the order storage accounts and their blobs",
        permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
        assignableScopes: [group],
      },
    },
    identity("orders-api", {
      roleAssignments: [
        { role: "Reader", scope: group },
        { customRoleRef: { name: "orders-reader" }, scope: group },
      ],
      federatedCredentials: [credential("prod-aks", "orders-api")],
      attachTo: [vmId(subscriptionId, "web-1"), vmId(subscriptionId, "web-2")],
      graphAppRoles: [{ appRole: "User.Read.All" }],
    }),
    identity("payments", {
      roleAssignments: [{ role: "Storage Blob Data Reader", scope: group }],
      federatedCredentials: [
        credential("prod-aks", "payments"),
        credential("prod-aks-jobs", "payments-jobs"),
      ],
      attachTo: [vmId(subscriptionId, "web-1")],
    }),
    identity("reports", {
      roleAssignments: [{ customRoleRef: { name: "orders-reader" }, scope: group }],
      attachTo: [vmId(subscriptionId, "batch-1")],
      // Its pods use it through Azure Workload Identity: azid keeps the ServiceAccount's client id
      // current and restarts them when it changes; other apps read the ids from a ConfigMap.
      serviceAccounts: [{ name: SAMPLE_WORKLOAD }],
      exports: { configMap: { name: "reports-identity" } },
    }),
    {
      apiVersion: "azid.dev/v1alpha1",
      kind: "SystemAssignedIdentity",
      metadata: meta("batch-1"),
      spec: {
        resourceId: vmId(subscriptionId, "batch-1"),
        roleAssignments: [{ role: "Reader", scope: group }],
      },
    },
  ];
}

/** The Deployment (and its ServiceAccount) whose pods use the identity `reports`. */
export const SAMPLE_WORKLOAD = "reports";

/** A team's app that uses workload identity, as its own manifests (or Helm chart) would declare it. */
export function sampleWorkload(): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: SAMPLE_WORKLOAD, namespace: SAMPLE_NAMESPACE },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: SAMPLE_WORKLOAD, namespace: SAMPLE_NAMESPACE },
      spec: {
        selector: { matchLabels: { app: SAMPLE_WORKLOAD } },
        template: {
          metadata: { labels: { app: SAMPLE_WORKLOAD, "azure.workload.identity/use": "true" } },
          spec: {
            serviceAccountName: SAMPLE_WORKLOAD,
            containers: [{ name: "reports", image: "registry.example.com/shop/reports:1.4" }],
          },
        },
      },
    },
  ];
}

/** The resource group and the VMs, made with plain ARM calls as someone else (the portal) would. */
export async function createSampleAzureResources(
  arm: { url: string; caPem: string },
  subscriptionId: string,
): Promise<string[]> {
  await armPut(arm, `${groupId(subscriptionId)}?api-version=2025-04-01`, { location: LOCATION });
  for (const name of VMS) {
    await armPut(arm, `${vmId(subscriptionId, name)}?api-version=2024-11-01`, { location: LOCATION });
  }
  return [groupId(subscriptionId), ...VMS.map((name) => vmId(subscriptionId, name))];
}

function armPut(arm: { url: string; caPem: string }, path: string, body: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = request(
      new URL(path, arm.url),
      {
        method: "PUT",
        ca: arm.caPem,
        // The sandbox takes any opaque bearer token as its default, unrestricted caller.
        headers: { authorization: "Bearer azid-demo", "content-type": "application/json" },
      },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on("end", () =>
          (response.statusCode ?? 0) < 300
            ? resolve()
            : reject(new CliError(`PUT ${path}: ${response.statusCode} ${text}`)),
        );
      },
    );
    call.on("error", reject);
    call.end(JSON.stringify(body));
  });
}
