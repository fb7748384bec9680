// Issue 13, the Azure side, through kubectl and the real controller process: the federated
// credential azid keeps per spec.serviceAccounts[] entry (issuer discovered from the API
// server, as a real one serves /.well-known/openid-configuration), the IdentityPolicy rules on
// every federated credential (foreign issuer, another namespace's ServiceAccount, a subject
// outside the allowed patterns: refused with no ARM write; allowed ones Ready), the chart's
// admission refusal, and the credential re-created on the new identity after a tenant move.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { serviceAccountCredentialName } from "../../src/api/workload-identity.js";
import { findObject, renderChart } from "../chart/helm.js";
import {
  armGet,
  armWrites,
  conditionOf,
  conditionReached,
  createResourceGroup,
  eventRecorded,
  eventually,
  identityId,
  NS,
  observed,
  ready,
  teamNamespace,
  uai,
} from "./fixtures.js";
import { Stack } from "./stack.js";
import { moveSubscription, writeCredentials } from "./tenant-move-world.js";

const GITHUB = "https://token.actions.githubusercontent.com";
const AUDIENCE = "api://AzureADTokenExchange";

interface Credential {
  name: string;
  properties: { issuer: string; subject: string; audiences: string[] };
}

describe("federated credentials: one per ServiceAccount, and policed", () => {
  let stack: Stack;
  let issuer: string;

  const credentialsOf = async (name: string): Promise<string[]> => {
    const body = await armGet(stack, `${identityId(stack, name)}/federatedIdentityCredentials`, "2024-11-30");
    return ((body?.value ?? []) as Credential[])
      .map(
        (c) => `${c.name} ${c.properties.issuer} ${c.properties.subject} ${c.properties.audiences.join(",")}`,
      )
      .sort();
  };

  /** The UserAssignedIdentity controller's reconciles so far (controller_runtime_reconcile_total). */
  const reconciles = async (): Promise<number> =>
    (await stack.controllers[0]!.metrics())
      .split("\n")
      .filter((line) =>
        line.startsWith('controller_runtime_reconcile_total{controller="userassignedidentity"'),
      )
      .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);

  before(async () => {
    stack = await Stack.start({ timeScale: 20 });
    issuer = stack.kube.serviceAccountIssuer;
    await createResourceGroup(stack);
    await stack.apply(...teamNamespace(stack), {
      apiVersion: "azid.dev/v1alpha1",
      kind: "IdentityPolicy",
      metadata: { name: "ci" },
      spec: {
        namespaceSelector: { matchLabels: { "azid.dev/team": NS } },
        federatedCredentials: [
          { issuer: GITHUB, subjects: ["repo:org/app:ref:refs/heads/main", "repo:org/infra:*"] },
        ],
      },
    });
    await stack.apply(
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "app", namespace: NS } },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "worker", namespace: NS } },
    );
    await stack.startController({
      resyncPeriod: "3s",
      tenantRemediation: "Auto",
      credentialsFile: writeCredentials(stack, stack.arm.arm.tenantId),
    });
  });
  after(() => stack?.close());

  test("the controller discovers the cluster's issuer from the API server and says so", async () => {
    // The document a real kube-apiserver serves (ServiceAccountIssuerDiscovery).
    const document = JSON.parse(await stack.must(["get", "--raw", "/.well-known/openid-configuration"]));
    assert.equal(document.issuer, issuer);
    assert.deepEqual(document.response_types_supported, ["id_token"]);
    assert.deepEqual(document.subject_types_supported, ["public"]);
    assert.deepEqual(document.id_token_signing_alg_values_supported, ["RS256"]);
    assert.match(document.jwks_uri, /\/openid\/v1\/jwks$/);
    const log = readFileSync(stack.controllers[0]!.logFile, "utf8");
    assert.match(log, new RegExp(`service-account issuer ${issuer}, discovered from the API server`));
    // kubeadm's default issuer is cluster-internal: Entra could never fetch its keys, and the log says so.
    assert.match(log, /the service-account issuer is cluster-internal: Entra cannot reach it/);
  });

  test("serviceAccounts[] yields the credential in Azure; allowed explicit ones too; Ready", async () => {
    await stack.apply(
      uai(stack, "app", {
        serviceAccounts: [{ name: "app" }, { name: "worker" }],
        federatedCredentials: [
          { name: "ci-main", issuer: GITHUB, subject: "repo:org/app:ref:refs/heads/main" },
          { name: "infra-prod", issuer: GITHUB, subject: "repo:org/infra:environment:prod" },
          { name: "own-namespace", issuer, subject: `system:serviceaccount:${NS}:batch` },
        ],
      }),
    );
    const app = await ready(stack, "uai", "app");
    assert.equal(conditionOf(app, "PolicyViolation")?.status, "False");
    assert.deepEqual(await credentialsOf("app"), [
      `ci-main ${GITHUB} repo:org/app:ref:refs/heads/main ${AUDIENCE}`,
      `infra-prod ${GITHUB} repo:org/infra:environment:prod ${AUDIENCE}`,
      `own-namespace ${issuer} system:serviceaccount:${NS}:batch ${AUDIENCE}`,
      `${serviceAccountCredentialName("app")} ${issuer} system:serviceaccount:${NS}:app ${AUDIENCE}`,
      `${serviceAccountCredentialName("worker")} ${issuer} system:serviceaccount:${NS}:worker ${AUDIENCE}`,
    ]);

    // An entry removed: its credential goes, the others stay.
    await stack.apply(
      uai(stack, "app", {
        serviceAccounts: [{ name: "app" }],
        federatedCredentials: [
          { name: "ci-main", issuer: GITHUB, subject: "repo:org/app:ref:refs/heads/main" },
          { name: "infra-prod", issuer: GITHUB, subject: "repo:org/infra:environment:prod" },
          { name: "own-namespace", issuer, subject: `system:serviceaccount:${NS}:batch` },
        ],
      }),
    );
    await observed(stack, "uai", "app", async (object) => {
      assert.equal(conditionOf(object, "Ready")?.status, "True");
      const names = (await credentialsOf("app")).map((line) => line.split(" ")[0]);
      assert.deepEqual(names, [
        "ci-main",
        "infra-prod",
        "own-namespace",
        serviceAccountCredentialName("app"),
      ]);
    });

    // Steady state: two more reconciles of the only identity (3 s resync) write nothing to ARM.
    const writes = armWrites(stack);
    const start = await reconciles();
    await eventually(async () => assert.ok((await reconciles()) >= start + 2), 30_000, "two resyncs");
    assert.equal(armWrites(stack), writes, "no ARM write in steady state");
  });

  test("a foreign issuer, another namespace's ServiceAccount and a subject outside policy: refused, no ARM write", async () => {
    await ready(stack, "uai", "app");
    const writes = armWrites(stack);
    const cases: Array<[string, { issuer: string; subject: string }, RegExp]> = [
      [
        "foreign-issuer",
        { issuer: "https://oidc.other-cluster.example.com", subject: `system:serviceaccount:${NS}:app` },
        /allows the issuer https:\/\/oidc.other-cluster.example.com .*must list it in federatedCredentials \(default deny\)/,
      ],
      [
        "other-namespace",
        { issuer, subject: "system:serviceaccount:kube-system:admin" },
        /a ServiceAccount of namespace kube-system: the cluster's issuer is only trusted for ServiceAccounts of team-a .*\(cluster issuer\)/,
      ],
      [
        "outside-pattern",
        { issuer: GITHUB, subject: "repo:org/app:pull_request" },
        /subject repo:org\/app:pull_request of issuer .* matches no subject pattern of IdentityPolicy\/ci \(default deny\)/,
      ],
    ];
    await stack.apply(
      ...cases.map(([name, credential]) =>
        uai(stack, name, {
          serviceAccounts: [{ name: "app" }],
          federatedCredentials: [{ name: "trust", ...credential }],
        }),
      ),
    );
    for (const [name, , message] of cases) {
      const refused = await conditionReached(stack, "uai", name, "PolicyViolation", "True", "PolicyDenied");
      assert.match(conditionOf(refused, "PolicyViolation")?.message ?? "", message, name);
      assert.equal(conditionOf(refused, "Ready")?.status, "False");
      const trust = (refused.status?.federatedCredentials as Array<{ name: string; state: string }>)?.find(
        (c) => c.name === "trust",
      );
      assert.equal(trust?.state, "Refused", name);
      await eventRecorded(stack, "userassignedidentity", name, [/Warning/, /PolicyDenied/]);
    }
    assert.equal(armWrites(stack), writes, "no ARM write for any of them (not even the identity)");
    for (const [name] of cases) {
      assert.equal(await armGet(stack, identityId(stack, name), "2024-11-30"), undefined, name);
    }
  });

  test("with the chart's serviceAccountIssuer, admission refuses another namespace's ServiceAccount", async () => {
    const chart = renderChart({ serviceAccountIssuer: issuer });
    await stack.apply(
      findObject(chart, "ValidatingAdmissionPolicy"),
      findObject(chart, "ValidatingAdmissionPolicyBinding"),
    );
    const writes = armWrites(stack);
    const object = uai(stack, "admission-refused", {
      federatedCredentials: [{ name: "trust", issuer, subject: "system:serviceaccount:team-b:app" }],
    });
    const result = await eventually(async () => {
      const attempt = await stack.kubectl.run(["apply", "-f", "-"], { input: JSON.stringify(object) });
      assert.notEqual(attempt.code, 0, "admitted (the policy may not be active yet)");
      return attempt;
    });
    assert.match(
      result.stderr,
      /trust the cluster service-account issuer for system:serviceaccount:team-b:app: only ServiceAccounts of this namespace/,
    );
    assert.equal(await stack.get("uai", "admission-refused", NS), undefined);

    // The CRD's own rule: explicit credentials and ServiceAccounts share Azure's 20 per identity.
    const crowded = await stack.kubectl.run(["apply", "-f", "-"], {
      input: JSON.stringify(
        uai(stack, "crowded", {
          serviceAccounts: Array.from({ length: 15 }, (_, i) => ({ name: `sa-${i}` })),
          federatedCredentials: Array.from({ length: 6 }, (_, i) => ({
            name: `ci-${i}`,
            issuer: GITHUB,
            subject: `repo:org/infra:${i}`,
          })),
        }),
      ),
    });
    assert.notEqual(crowded.code, 0);
    assert.match(crowded.stderr, /at most 20 federated credentials together, Azure's limit per identity/);
    assert.equal(armWrites(stack), writes);
  });

  test("a tenant move re-creates the ServiceAccount's credential on the new identity", async () => {
    // The refused identities take no part in the repair; they go first.
    await stack.must([
      "delete",
      "uai",
      "foreign-issuer",
      "other-namespace",
      "outside-pattern",
      "-n",
      NS,
      "--ignore-not-found",
    ]);
    const before = await ready(stack, "uai", "app");
    const credentials = await credentialsOf("app");
    const moved = await moveSubscription(stack);
    writeCredentials(stack, moved.toTenantId);
    const after = await eventually(
      async () => {
        const object = await ready(stack, "uai", "app", NS, 5_000);
        assert.equal(object.status?.tenantId, moved.toTenantId);
        assert.notEqual(object.status?.principalId, before.status?.principalId, "a new identity");
        return object;
      },
      180_000,
      "the identity repaired into the new tenant",
    );
    assert.notEqual(after.status?.clientId, before.status?.clientId);
    assert.deepEqual(await credentialsOf("app"), credentials, "the same credentials on the new identity");
  });
});
