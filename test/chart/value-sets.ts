// The value sets the chart tests render: the defaults and the installations a platform team runs.

export const SUBSCRIPTION = "8a3f1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
export const CLIENT_ID = "11111111-2222-4333-8444-555555555555";
export const TENANT_ID = "66666666-7777-4888-9999-aaaaaaaaaaaa";

export const VALUE_SETS: Record<string, object> = {
  defaults: {},
  "bundled Redis with a password and persistence": {
    redis: {
      bundled: {
        enabled: true,
        auth: { existingSecret: "azid-redis", passwordKey: "redis-password" },
        persistence: { enabled: true, size: "2Gi", storageClassName: "managed-csi" },
      },
    },
  },
  "external Redis with TLS": {
    redis: {
      prefix: "azid-prod",
      bundled: { enabled: false },
      external: {
        url: "rediss://azid.redis.cache.windows.net:6380",
        existingSecret: "azid-redis",
        tls: { caSecret: "azid-redis-ca", caKey: "ca.pem" },
      },
    },
  },
  "Redis Sentinel with TLS and passwords": {
    redis: {
      bundled: { enabled: false },
      external: {
        existingSecret: "azid-redis",
        sentinel: {
          hosts: ["redis-node-0.redis-headless:26379", "redis-node-1.redis-headless:26379"],
          name: "mymaster",
          passwordKey: "sentinel-password",
        },
        tls: { enabled: true, caSecret: "azid-redis-ca" },
      },
    },
  },
  "Redis Cluster": {
    redis: {
      bundled: { enabled: false },
      external: {
        existingSecret: "azid-redis",
        cluster: {
          nodes: [
            "redis-cluster-0.redis-cluster-headless:6379",
            "redis-cluster-1.redis-cluster-headless:6379",
          ],
        },
      },
    },
  },
  "monitoring on": {
    metrics: {
      serviceMonitor: { enabled: true, additionalLabels: { release: "prometheus" } },
      prometheusRule: { enabled: true, additionalLabels: { release: "prometheus" } },
      dashboard: { enabled: true, namespace: "monitoring" },
    },
  },
  "HA replicas with workload identity and per-subscription credentials": {
    replicaCount: 3,
    serviceAccountIssuer: "https://oidc.prod-aks.example.com/3f0c2a7e/",
    podDisruptionBudget: { minAvailable: 2 },
    controller: { namespaces: ["team-a", "team-b"], concurrency: 8, tenantRemediation: "Auto" },
    azure: {
      workloadIdentity: { clientId: CLIENT_ID, tenantId: TENANT_ID },
      credentialsFile: {
        content: {
          subscriptions: {
            [SUBSCRIPTION]: {
              tenantId: TENANT_ID,
              clientId: CLIENT_ID,
              federatedTokenFile: "/var/run/secrets/azure/tokens/azure-identity-token",
            },
          },
        },
      },
    },
    redis: { bundled: { enabled: false }, external: { url: "redis://redis.azid-system:6379/0" } },
  },
  "every optional piece off": {
    crds: { install: false },
    rbac: { create: false },
    serviceAccount: { create: false, name: "azid-controller" },
    podDisruptionBudget: { enabled: false },
    networkPolicy: { enabled: false },
    admissionPolicy: { enabled: false },
    azure: { workloadIdentity: { enabled: false } },
  },
};
