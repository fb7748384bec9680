import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCredentialsFile } from "../../src/azure/credentials.js";
import {
  CHART_DIR,
  findObject,
  helmWithValues,
  type KubeObject,
  kinds,
  NAMESPACE,
  RELEASE,
  renderChart,
} from "./helm.js";
import { restrictedViolations } from "./pod-security.js";
import { chartRbacRules, grants } from "./rbac.js";
import { CLIENT_ID, SUBSCRIPTION, TENANT_ID, VALUE_SETS } from "./value-sets.js";

const FULLNAME = `${RELEASE}`;
const CLUSTER_SCOPED = new Set([
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
]);
const REQUIRED_LABELS = [
  "helm.sh/chart",
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/version",
  "app.kubernetes.io/managed-by",
  "app.kubernetes.io/part-of",
];

function podTemplates(objects: KubeObject[]): KubeObject[] {
  return objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
}

function controller(objects: KubeObject[]): KubeObject {
  return findObject(objects, "Deployment", FULLNAME);
}

function controllerContainer(objects: KubeObject[]) {
  return controller(objects).spec.template.spec.containers.find(
    (c: { name: string }) => c.name === "controller",
  );
}

function env(objects: KubeObject[]): Map<string, { value?: string; valueFrom?: unknown }> {
  return new Map(controllerContainer(objects).env.map((e: { name: string }) => [e.name, e]));
}

function flag(objects: KubeObject[], name: string): string | undefined {
  const args: string[] = controllerContainer(objects).args;
  return args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

describe("every value set", () => {
  for (const [name, values] of Object.entries(VALUE_SETS)) {
    describe(name, () => {
      const objects = renderChart(values);

      test("passes helm lint --strict", () => {
        const lint = helmWithValues(["lint", "--strict", CHART_DIR, "--namespace", NAMESPACE], values);
        assert.equal(lint.status, 0, lint.stdout + lint.stderr);
      });

      test("every object, and every pod template, carries the chart's labels", () => {
        for (const object of objects) {
          const where = `${object.kind}/${object.metadata.name}`;
          for (const label of REQUIRED_LABELS)
            assert.ok(object.metadata.labels?.[label], `${where} lacks ${label}`);
          assert.equal(object.metadata.labels?.["app.kubernetes.io/instance"], RELEASE, where);
        }
        for (const workload of podTemplates(objects)) {
          const labels = workload.spec.template.metadata.labels;
          for (const label of REQUIRED_LABELS)
            assert.ok(labels[label], `${workload.metadata.name} pods lack ${label}`);
          for (const [key, value] of Object.entries(workload.spec.selector.matchLabels)) {
            assert.equal(labels[key], value, `${workload.metadata.name}: the selector must match its pods`);
          }
        }
      });

      test("renders no empty (null) field", () => {
        const nulls = (value: unknown, path: string): string[] => {
          if (value === null) return [path];
          if (typeof value !== "object") return [];
          return Object.entries(value as object).flatMap(([key, item]) => nulls(item, `${path}.${key}`));
        };
        assert.deepEqual(
          objects.flatMap((o) => nulls(o, `${o.kind}/${o.metadata.name}`)),
          [],
        );
      });

      test("namespaced objects go to the release namespace, cluster-scoped ones have none", () => {
        for (const object of objects) {
          const where = `${object.kind}/${object.metadata.name}`;
          if (CLUSTER_SCOPED.has(object.kind)) assert.equal(object.metadata.namespace, undefined, where);
          else if (object.kind === "ConfigMap" && object.metadata.name.endsWith("-dashboard")) continue;
          else assert.equal(object.metadata.namespace, NAMESPACE, where);
        }
      });

      test("every pod meets the restricted Pod Security Standard", () => {
        const workloads = podTemplates(objects);
        assert.ok(workloads.length > 0);
        for (const workload of workloads) {
          const template = workload.spec.template;
          assert.deepEqual(
            restrictedViolations(template.spec, template.metadata.annotations),
            [],
            workload.metadata.name,
          );
        }
      });

      test("every container has a numeric non-root user, a read-only root filesystem and resources", () => {
        for (const workload of podTemplates(objects)) {
          const pod = workload.spec.template.spec;
          for (const container of pod.containers) {
            const where = `${workload.metadata.name}/${container.name}`;
            const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
            assert.ok(Number.isInteger(user) && user > 0, `${where}: runAsUser ${user}`);
            assert.equal(container.securityContext.readOnlyRootFilesystem, true, where);
            assert.ok(container.resources?.requests?.memory && container.resources?.limits?.memory, where);
          }
        }
      });

      test("no Role or ClusterRole holds a wildcard", () => {
        for (const role of objects.filter((o) => o.kind === "Role" || o.kind === "ClusterRole")) {
          for (const rule of role.rules) {
            for (const field of ["apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"]) {
              for (const value of rule[field] ?? []) {
                assert.ok(!String(value).includes("*"), `${role.metadata.name}: ${field} ${value}`);
              }
            }
          }
        }
      });
    });
  }
});

describe("RBAC", () => {
  const objects = renderChart();
  const rulesFile = chartRbacRules();

  const kinds = [
    "userassignedidentities",
    "systemassignedidentities",
    "customroles",
    "identitypolicies",
    "tenantmigrations",
  ];
  const expectedCluster = [
    ...kinds.flatMap((k) => ["get", "list", "watch", "patch", "update"].map((v) => `azid.dev/${k}:${v}`)),
    ...kinds.flatMap((k) => ["get", "patch", "update"].map((v) => `azid.dev/${k}/status:${v}`)),
    ...kinds.map((k) => `azid.dev/${k}/finalizers:update`),
    "/namespaces:get",
    "/namespaces:list",
    "/namespaces:watch",
    "/events:create",
    "/events:patch",
    // Workload wiring (issue 13): ServiceAccount annotations, exports, restarts.
    ...["get", "list", "watch", "patch"].map((v) => `/serviceaccounts:${v}`),
    ...["configmaps", "secrets"].flatMap((k) =>
      ["get", "list", "watch", "create", "patch"].map((v) => `/${k}:${v}`),
    ),
    ...["deployments", "statefulsets", "daemonsets"].flatMap((k) =>
      ["list", "patch"].map((v) => `apps/${k}:${v}`),
    ),
  ].sort();

  test("the ClusterRole grants exactly the listed rules, from files/rbac-rules.yaml", () => {
    const clusterRole = findObject(objects, "ClusterRole");
    assert.deepEqual(clusterRole.rules, rulesFile.clusterRules);
    assert.deepEqual(grants(clusterRole.rules), expectedCluster);
  });

  test("the leader-election Role is namespaced and grants leases get/create/update only", () => {
    const role = findObject(objects, "Role");
    assert.equal(role.metadata.namespace, NAMESPACE);
    assert.deepEqual(role.rules, rulesFile.leaderElectionRules);
    assert.deepEqual(grants(role.rules), [
      "coordination.k8s.io/leases:create",
      "coordination.k8s.io/leases:get",
      "coordination.k8s.io/leases:update",
    ]);
    assert.equal(flag(objects, "leader-election-namespace"), NAMESPACE);
  });

  test("the bindings give the roles to the controller's ServiceAccount and to nothing else", () => {
    const serviceAccount = findObject(objects, "ServiceAccount");
    for (const kind of ["ClusterRoleBinding", "RoleBinding"]) {
      const binding = findObject(objects, kind);
      assert.deepEqual(binding.subjects, [
        { kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: NAMESPACE },
      ]);
      const role = findObject(objects, binding.roleRef.kind, binding.roleRef.name);
      assert.ok(role, `${kind} names a role the chart renders`);
    }
    assert.equal(controller(objects).spec.template.spec.serviceAccountName, serviceAccount.metadata.name);
  });

  test("only the controller's pods mount a service-account token", () => {
    const bundled = renderChart(VALUE_SETS["bundled Redis with a password and persistence"] as object);
    assert.equal(findObject(bundled, "ServiceAccount").automountServiceAccountToken, false);
    assert.equal(controller(bundled).spec.template.spec.automountServiceAccountToken, true);
    assert.equal(findObject(bundled, "StatefulSet").spec.template.spec.automountServiceAccountToken, false);
  });
});

describe("the controller Deployment", () => {
  test("passes the controller its flags, with leader election for more than one replica", () => {
    const objects = renderChart(
      VALUE_SETS["HA replicas with workload identity and per-subscription credentials"] as object,
    );
    const deployment = controller(objects);
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(controllerContainer(objects).args[0], "controller");
    assert.equal(flag(objects, "leader-election-id"), FULLNAME);
    assert.equal(flag(objects, "namespaces"), "team-a,team-b");
    assert.equal(flag(objects, "concurrency"), "8");
    assert.equal(flag(objects, "tenant-remediation"), "Auto");
    assert.equal(flag(objects, "metrics-addr"), ":8080");
    assert.equal(flag(objects, "redis-prefix"), "azid");
    assert.equal(flag(objects, "service-account-issuer"), "https://oidc.prod-aks.example.com/3f0c2a7e/");
    assert.equal(flag(renderChart(), "service-account-issuer"), undefined, "discovered by default");
    assert.equal(env(objects).get("AZID_REDIS_URL")?.value, "redis://redis.azid-system:6379/0");
    assert.equal(findObject(objects, "PodDisruptionBudget").spec.minAvailable, 2);
    assert.equal(findObject(objects, "PodDisruptionBudget").spec.maxUnavailable, undefined);
  });

  test("spreads replicas over zones and nodes, and prefers different nodes, by default", () => {
    const pod = controller(renderChart()).spec.template.spec;
    const selector = controller(renderChart()).spec.selector.matchLabels;
    assert.deepEqual(
      pod.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey),
      ["topology.kubernetes.io/zone", "kubernetes.io/hostname"],
    );
    for (const constraint of pod.topologySpreadConstraints) {
      assert.equal(constraint.whenUnsatisfiable, "ScheduleAnyway");
      assert.deepEqual(constraint.labelSelector.matchLabels, selector);
    }
    const term =
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    assert.equal(term.topologyKey, "kubernetes.io/hostname");
    assert.deepEqual(term.labelSelector.matchLabels, selector);
  });

  test("probes /healthz and /readyz on the metrics port, which the Service exposes", () => {
    const objects = renderChart();
    const container = controllerContainer(objects);
    assert.deepEqual(container.ports, [{ name: "http-metrics", containerPort: 8080, protocol: "TCP" }]);
    assert.equal(container.livenessProbe.httpGet.path, "/healthz");
    assert.equal(container.startupProbe.httpGet.path, "/healthz");
    assert.equal(container.readinessProbe.httpGet.path, "/readyz");
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      assert.equal(probe.httpGet.port, "http-metrics");
    }
    const service = findObject(objects, "Service", `${FULLNAME}-metrics`);
    assert.deepEqual(service.spec.selector, controller(objects).spec.selector.matchLabels);
    assert.equal(service.spec.ports[0].targetPort, "http-metrics");
  });

  test("uses workload identity: ServiceAccount annotations and the pod label", () => {
    const objects = renderChart(
      VALUE_SETS["HA replicas with workload identity and per-subscription credentials"] as object,
    );
    const annotations = findObject(objects, "ServiceAccount").metadata.annotations ?? {};
    assert.equal(annotations["azure.workload.identity/client-id"], CLIENT_ID);
    assert.equal(annotations["azure.workload.identity/tenant-id"], TENANT_ID);
    assert.equal(controller(objects).spec.template.metadata.labels["azure.workload.identity/use"], "true");

    const off = renderChart(VALUE_SETS["every optional piece off"] as object);
    assert.equal(controller(off).spec.template.metadata.labels["azure.workload.identity/use"], undefined);
  });

  test("mounts the credentials file, which the controller's own parser accepts", () => {
    const objects = renderChart(
      VALUE_SETS["HA replicas with workload identity and per-subscription credentials"] as object,
    );
    const configMap = findObject(objects, "ConfigMap", `${FULLNAME}-credentials`);
    const parsed = parseCredentialsFile(configMap.data["credentials.yaml"], "credentials.yaml");
    assert.equal(parsed.subscriptions?.[SUBSCRIPTION]?.clientId, CLIENT_ID);

    const mount = controllerContainer(objects).volumeMounts.find(
      (m: { name: string }) => m.name === "credentials",
    );
    assert.equal(flag(objects, "credentials-file"), `${mount.mountPath}/credentials.yaml`);
    const volume = controller(objects).spec.template.spec.volumes.find(
      (v: { name: string }) => v.name === "credentials",
    );
    assert.equal(volume.configMap.name, configMap.metadata.name);
    assert.ok(controller(objects).spec.template.metadata.annotations["checksum/credentials"]);

    const fromSecret = renderChart({ azure: { credentialsFile: { existingSecret: "azid-credentials" } } });
    const secretVolume = controller(fromSecret).spec.template.spec.volumes.find(
      (v: { name: string }) => v.name === "credentials",
    );
    assert.equal(secretVolume.secret.secretName, "azid-credentials");
    assert.ok(
      !fromSecret.some((o) => o.kind === "ConfigMap" && o.metadata.name === `${FULLNAME}-credentials`),
    );
    assert.equal(flag(renderChart(), "credentials-file"), undefined, "no file: DefaultAzureCredential");
  });
});

describe("Redis", () => {
  test("bundled: a StatefulSet with noeviction, reachable by the controller only, password from a Secret", () => {
    const objects = renderChart(VALUE_SETS["bundled Redis with a password and persistence"] as object);
    const redisName = `${FULLNAME}-redis`;
    const config = findObject(objects, "ConfigMap", redisName).data["redis.conf"];
    assert.match(config, /^maxmemory-policy noeviction$/m);
    const statefulSet = findObject(objects, "StatefulSet", redisName);
    assert.equal(statefulSet.spec.replicas, 1);
    assert.equal(statefulSet.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "2Gi");
    const redisPod = statefulSet.spec.template.spec;
    assert.deepEqual(redisPod.containers[0].env[0].valueFrom.secretKeyRef, {
      name: "azid-redis",
      key: "redis-password",
    });
    assert.ok(!JSON.stringify(redisPod).includes("requirepass secret"), "no password in the manifest");

    assert.equal(env(objects).get("AZID_REDIS_URL")?.value, `redis://${redisName}:6379`);
    assert.deepEqual(env(objects).get("AZID_REDIS_PASSWORD")?.valueFrom, {
      secretKeyRef: { name: "azid-redis", key: "redis-password" },
    });
    const service = findObject(objects, "Service", redisName);
    assert.deepEqual(service.spec.selector, statefulSet.spec.selector.matchLabels);

    const policy = findObject(objects, "NetworkPolicy", redisName);
    assert.deepEqual(policy.spec.ingress, [
      {
        from: [{ podSelector: { matchLabels: controller(objects).spec.selector.matchLabels } }],
        ports: [{ port: 6379, protocol: "TCP" }],
      },
    ]);
    assert.deepEqual(policy.spec.egress, []);
  });

  test("external with TLS: the URL, the password and the CA all come from values and Secrets", () => {
    const objects = renderChart(VALUE_SETS["external Redis with TLS"] as object);
    assert.ok(!kinds(objects).includes("StatefulSet"));
    assert.equal(env(objects).get("AZID_REDIS_URL")?.value, "rediss://azid.redis.cache.windows.net:6380");
    assert.deepEqual(env(objects).get("AZID_REDIS_PASSWORD")?.valueFrom, {
      secretKeyRef: { name: "azid-redis", key: "password" },
    });
    const caPath = env(objects).get("NODE_EXTRA_CA_CERTS")?.value;
    const mount = controllerContainer(objects).volumeMounts.find(
      (m: { name: string }) => m.name === "redis-ca",
    );
    assert.equal(caPath, `${mount.mountPath}/ca.pem`);
    const volume = controller(objects).spec.template.spec.volumes.find(
      (v: { name: string }) => v.name === "redis-ca",
    );
    assert.equal(volume.secret.secretName, "azid-redis-ca");
    assert.equal(flag(objects, "redis-prefix"), "azid-prod");
  });

  test("the URL itself can come from a Secret", () => {
    const objects = renderChart({
      redis: { bundled: { enabled: false }, external: { existingSecret: "azid-redis", urlKey: "url" } },
    });
    assert.deepEqual(env(objects).get("AZID_REDIS_URL")?.valueFrom, {
      secretKeyRef: { name: "azid-redis", key: "url" },
    });
  });
});

describe("NetworkPolicy", () => {
  test("lets in metrics only, and out DNS, the API server, Azure on 443 and Redis", () => {
    const objects = renderChart(VALUE_SETS["external Redis with TLS"] as object);
    const policy = findObject(objects, "NetworkPolicy", FULLNAME);
    assert.deepEqual(policy.spec.podSelector.matchLabels, controller(objects).spec.selector.matchLabels);
    assert.deepEqual(policy.spec.policyTypes, ["Ingress", "Egress"]);
    assert.deepEqual(policy.spec.ingress, [{ ports: [{ port: "http-metrics", protocol: "TCP" }] }]);
    const egressPorts = policy.spec.egress.map((rule: { ports: { port: number; protocol: string }[] }) =>
      rule.ports.map((p) => `${p.port}/${p.protocol}`).join(","),
    );
    assert.deepEqual(egressPorts, ["53/UDP,53/TCP", "443/TCP,6443/TCP", "443/TCP", "6379/TCP,6380/TCP"]);
    const withImds = findObject(
      renderChart({ networkPolicy: { allowInstanceMetadata: true } }),
      "NetworkPolicy",
      FULLNAME,
    );
    assert.ok(JSON.stringify(withImds.spec.egress).includes("169.254.169.254/32"));
    assert.ok(!JSON.stringify(policy.spec.egress).includes("169.254.169.254"));
  });
});

describe("toggles", () => {
  test("the defaults render the controller, CRDs (none yet or all), RBAC, PDB, NetworkPolicies and the admission policy", () => {
    const rendered = new Set(kinds(renderChart()));
    for (const kind of [
      "Deployment",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
      "Service",
      "PodDisruptionBudget",
      "NetworkPolicy",
      "StatefulSet",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
    ]) {
      assert.ok(rendered.has(kind), kind);
    }
    for (const kind of ["ServiceMonitor", "PrometheusRule"]) assert.ok(!rendered.has(kind), kind);
  });

  test("every optional piece can be switched off", () => {
    const objects = renderChart(VALUE_SETS["every optional piece off"] as object);
    const rendered = new Set(kinds(objects));
    for (const kind of [
      "CustomResourceDefinition",
      "ServiceAccount",
      "ClusterRole",
      "Role",
      "PodDisruptionBudget",
      "NetworkPolicy",
      "ValidatingAdmissionPolicy",
      "ServiceMonitor",
      "PrometheusRule",
    ]) {
      assert.ok(!rendered.has(kind), kind);
    }
    assert.equal(controller(objects).spec.template.spec.serviceAccountName, "azid-controller");
  });

  test("refuses value combinations that cannot work, with a message that says what to change", () => {
    const cases: [object, RegExp][] = [
      [{ redis: { external: { url: "redis://r:6379" } } }, /also set redis\.bundled\.enabled=false/],
      [{ redis: { bundled: { enabled: false } } }, /azid needs Redis/],
      [
        {
          redis: {
            bundled: { enabled: false },
            external: { url: "redis://r:6379", tls: { caSecret: "ca" } },
          },
        },
        /caSecret needs a rediss:\/\/ URL/,
      ],
      [{ serviceAccount: { create: false } }, /serviceAccount\.name is required/],
      [
        {
          azure: { credentialsFile: { existingSecret: "s", content: { default: { tenantId: TENANT_ID } } } },
        },
        /either azure\.credentialsFile\.content or azure\.credentialsFile\.existingSecret/,
      ],
    ];
    for (const [values, message] of cases) {
      assert.throws(() => renderChart(values), message, JSON.stringify(values));
    }
  });

  test("refuses Kubernetes older than 1.30 (ValidatingAdmissionPolicy v1)", () => {
    assert.throws(() => renderChart({}, { kubeVersion: "1.29.9" }), /kubeVersion|incompatible/i);
  });
});
