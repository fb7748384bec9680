// The federated credential azid keeps per ServiceAccount (spec.serviceAccounts[]), and the
// IdentityPolicy rules that police every federated credential's issuer and subject.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { armIdKey } from "../../src/api/arm-id.js";
import { PATTERNS } from "../../src/api/patterns.js";
import type { IdentityPolicy, IdentityPolicySpec } from "../../src/api/schemas/identity-policy.js";
import { validateResource } from "../../src/api/validate.js";
import {
  type ClusterIssuer,
  serviceAccountCredentialName,
  subjectMatches,
} from "../../src/api/workload-identity.js";
import { plannerOf } from "../../src/engine/kinds.js";
import { applyResult } from "../../src/plan/apply-result.js";
import { emptyObserved } from "../../src/plan/observed.js";
import { evaluatePolicy } from "../../src/plan/policy.js";
import { planRemediation, type RemediationInput, remediationReads } from "../../src/plan/remediation.js";
import { condition, context, uai, uaiPlan } from "./support/resources.js";
import { identityIdOf, SUB, World } from "./support/world.js";

const CLUSTER = "https://oidc.cluster.example.com";
const ISSUER: ClusterIssuer = { url: CLUSTER, source: "discovery" };
const GITHUB = "https://token.actions.githubusercontent.com";
const AUD = ["api://AzureADTokenExchange"];
const credentialsOf = (world: World) =>
  (world.credentials.get(armIdKey(identityIdOf("orders"))) ?? [])
    .map((c) => `${c.name} ${c.issuer} ${c.subject} ${c.audiences.join(",")}`)
    .sort();

describe("the credential name of a ServiceAccount", () => {
  test("is valid, stable, at most 120 characters, and tells apart names Azure would confuse", () => {
    const names = ["app", "a.b", "a-b", "x".repeat(253), `${"x".repeat(252)}y`];
    const derived = names.map(serviceAccountCredentialName);
    for (const name of derived) {
      assert.match(name, new RegExp(PATTERNS.federatedCredentialName));
      assert.ok(name.length >= 3 && name.length <= 120, name);
    }
    assert.equal(new Set(derived).size, names.length, "no two ServiceAccounts share a name");
    assert.equal(serviceAccountCredentialName("app"), derived[0], "the same name every time");
    assert.match(derived[0] as string, /^sa-app-[0-9a-f]{8}$/);
  });

  test("an explicit credential may not take it, and both lists together hold at most 20", () => {
    const taken = validateResource(
      uai({
        serviceAccounts: [{ name: "app" }],
        federatedCredentials: [
          {
            name: serviceAccountCredentialName("app"),
            issuer: GITHUB,
            subject: "repo:o/r:ref:main",
            audiences: AUD,
          },
        ],
      }),
    );
    assert.equal(taken.ok, false);
    assert.match(JSON.stringify(taken), /the name azid keeps for serviceAccounts\[0\] \(app\)/);
    const many = validateResource(
      uai({
        serviceAccounts: Array.from({ length: 15 }, (_, i) => ({ name: `sa-${i}` })),
        federatedCredentials: Array.from({ length: 6 }, (_, i) => ({
          name: `ci-${i}`,
          issuer: GITHUB,
          subject: `repo:o/r:${i}`,
          audiences: AUD,
        })),
      }),
    );
    assert.equal(many.ok, false);
    assert.match(JSON.stringify(many), /at most 20 federated credentials together/);
  });
});

describe("subject patterns", () => {
  test("* stands for any run of characters, the rest matches itself", () => {
    assert.ok(subjectMatches("repo:org/*", "repo:org/app:ref:refs/heads/main"));
    assert.ok(subjectMatches("repo:org/*:ref:refs/heads/main", "repo:org/app:ref:refs/heads/main"));
    assert.ok(!subjectMatches("repo:org/*:ref:refs/heads/main", "repo:org/app:pull_request"));
    assert.ok(!subjectMatches("repo:org/*", "repo:organisation/app"));
    assert.ok(subjectMatches("exact", "exact"));
    assert.ok(!subjectMatches("exact", "exact-not"));
    assert.ok(!subjectMatches("a*a", "a"), "the fixed parts may not overlap");
  });
});

describe("UserAssignedIdentity planner: serviceAccounts[]", () => {
  test("keeps one credential per ServiceAccount with the cluster's issuer, the subject and the audience", () => {
    const world = new World();
    const ctx = context({ serviceAccountIssuer: ISSUER });
    const resource = uai({
      serviceAccounts: [{ name: "app" }, { name: "worker" }],
      federatedCredentials: [
        {
          name: "ci-main",
          issuer: GITHUB,
          subject: "repo:o/r:ref:main",
          audiences: ["api://AzureADTokenExchange"],
        },
      ],
    });
    const run = world.converge(uaiPlan(resource, ctx), undefined);
    assert.deepEqual(credentialsOf(world), [
      `ci-main ${GITHUB} repo:o/r:ref:main api://AzureADTokenExchange`,
      `${serviceAccountCredentialName("app")} ${CLUSTER} system:serviceaccount:team-a:app api://AzureADTokenExchange`,
      `${serviceAccountCredentialName("worker")} ${CLUSTER} system:serviceaccount:team-a:worker api://AzureADTokenExchange`,
    ]);
    assert.equal(condition(run.final.status, "CredentialsReady")?.status, "True");
    assert.equal(condition(run.final.status, "Ready")?.status, "True");

    // Steady state: nothing to write.
    const writes = world.writes();
    world.converge(uaiPlan({ ...resource, status: run.final.status }, ctx), run.final.status);
    assert.equal(world.writes(), writes);

    // The entry goes: so does its credential, and only it.
    const fewer = { ...resource, spec: { ...resource.spec, serviceAccounts: [{ name: "app" }] } };
    const after = world.converge(uaiPlan({ ...fewer, status: run.final.status }, ctx), run.final.status);
    assert.deepEqual(
      credentialsOf(world).map((line) => line.split(" ")[0]),
      ["ci-main", serviceAccountCredentialName("app")],
    );
    assert.equal(condition(after.final.status, "Ready")?.status, "True");
  });

  test("an unknown issuer writes nothing for the ServiceAccounts, keeps their credentials, and says what to set", () => {
    const world = new World();
    const resource = uai({ serviceAccounts: [{ name: "app" }] });
    const first = world.converge(uaiPlan(resource, context({ serviceAccountIssuer: ISSUER })), undefined);
    const writes = world.writes();
    const unknown = context({
      serviceAccountIssuer: { problem: "the API server's service-account issuer discovery failed: 403" },
    });
    const run = world.converge(
      uaiPlan({ ...resource, status: first.final.status }, unknown),
      first.final.status,
    );
    assert.equal(world.writes(), writes, "no write, and the credential is not deleted");
    assert.equal(credentialsOf(world).length, 1);
    const credentials = condition(run.final.status, "CredentialsReady");
    assert.equal(credentials?.reason, "IssuerUnknown");
    assert.match(credentials?.message ?? "", /discovery failed: 403.*--service-account-issuer/);
    assert.equal(condition(run.final.status, "Ready")?.status, "False");
  });

  test("an explicit credential that already trusts the ServiceAccount is named, not sent to a 400", () => {
    const world = new World();
    const resource = uai({
      serviceAccounts: [{ name: "app" }],
      federatedCredentials: [
        { name: "mine", issuer: CLUSTER, subject: "system:serviceaccount:team-a:app", audiences: AUD },
      ],
    });
    const run = world.converge(uaiPlan(resource, context({ serviceAccountIssuer: ISSUER })), undefined);
    const derived = run.final.status.federatedCredentials?.find(
      (c) => c.name === serviceAccountCredentialName("app"),
    );
    assert.equal(derived?.state, "Failed");
    assert.match(derived?.message ?? "", /spec.federatedCredentials\[0\] \(mine\) already trusts/);
    assert.deepEqual(
      credentialsOf(world).map((line) => line.split(" ")[0]),
      ["mine"],
    );
  });

  test("a tenant move re-creates the ServiceAccount's credential on the new identity, same issuer and subject", () => {
    const world = new World();
    const ctx = context({ serviceAccountIssuer: ISSUER });
    const resource = uai({ serviceAccounts: [{ name: "app" }] });
    const first = world.converge(uaiPlan(resource, ctx), undefined);
    const before = credentialsOf(world);
    const oldPrincipal = first.final.status.principalId;
    world.moveTenant();
    const moved = { ...resource, status: first.final.status };
    // The plan a TenantMigration shows lists the put of that credential.
    let input: RemediationInput = {
      subscriptionId: SUB,
      declared: { userAssigned: [moved], systemAssigned: [], customRoles: [] },
      observed: emptyObserved(),
      now: "2026-11-27T10:00:00Z",
      plannerOf,
      policy: () => ctx.policy,
      serviceAccountIssuer: ISSUER,
    };
    for (let reads = remediationReads(input); reads.length > 0; reads = remediationReads(input)) {
      let observed = input.observed;
      for (const read of reads) observed = applyResult(observed, read, world.answer(read));
      input = { ...input, observed };
    }
    const put = planRemediation(input).actions.find((a) => a.kind === "PutFederatedCredential");
    assert.equal(put?.kind === "PutFederatedCredential" && put.subject, "system:serviceaccount:team-a:app");
    assert.equal(put?.kind === "PutFederatedCredential" && put.issuer, CLUSTER);

    const repair = world.converge(uaiPlan(moved, { ...ctx, allowTenantRepair: true }), first.final.status);
    assert.notEqual(repair.final.status.principalId, oldPrincipal, "a new identity");
    assert.deepEqual(credentialsOf(world), before, "the same credential on it");
    assert.equal(condition(repair.final.status, "Ready")?.status, "True");
  });
});

const policy = (name: string, spec: Partial<IdentityPolicySpec>): IdentityPolicy => ({
  apiVersion: "azid.dev/v1alpha1",
  kind: "IdentityPolicy",
  metadata: { name },
  spec: {
    namespaceSelector: {},
    subscriptions: [{ subscriptionId: SUB }],
    ...spec,
  },
});
const decide = (
  credentials: Array<{ issuer: string; subject: string }>,
  policies: IdentityPolicy[] = [policy("base", {})],
  issuer: ClusterIssuer | undefined = ISSUER,
) =>
  evaluatePolicy(
    uai({
      federatedCredentials: credentials.map((c, i) => ({ name: `fic-${i}`, audiences: AUD, ...c })),
      serviceAccounts: [{ name: "app" }],
    }),
    {
      namespaceLabels: {},
      policies,
      customRoles: [],
      ...(issuer ? { serviceAccountIssuer: issuer } : {}),
    },
  );

describe("IdentityPolicy: federated credentials", () => {
  test("by default: the cluster's issuer for the own namespace's ServiceAccounts, nothing else", () => {
    assert.equal(decide([{ issuer: CLUSTER, subject: "system:serviceaccount:team-a:other" }]).allowed, true);
    const foreignNamespace = decide([{ issuer: CLUSTER, subject: "system:serviceaccount:team-b:app" }]);
    assert.equal(foreignNamespace.allowed, false);
    assert.deepEqual(foreignNamespace.violations[0]?.item, { list: "federatedCredentials", index: 0 });
    assert.match(foreignNamespace.violations[0]?.message ?? "", /ServiceAccount of namespace team-b/);
    const notAServiceAccount = decide([{ issuer: CLUSTER, subject: "repo:o/r" }]);
    assert.match(
      notAServiceAccount.violations[0]?.message ?? "",
      /only issues system:serviceaccount:team-a:NAME/,
    );
    const foreignIssuer = decide([{ issuer: GITHUB, subject: "repo:o/r:ref:main" }]);
    assert.equal(foreignIssuer.allowed, false);
    assert.match(
      foreignIssuer.violations[0]?.message ?? "",
      /no IdentityPolicy selecting this namespace allows the issuer https:\/\/token.actions/,
    );
  });

  test("a policy rule allows a foreign issuer for the subjects its patterns match, and only those", () => {
    const ci = policy("ci", {
      federatedCredentials: [
        { issuer: GITHUB, subjects: ["repo:org/app:ref:refs/heads/main", "repo:org/infra:*"] },
      ],
    });
    const policies = [policy("base", {}), ci];
    assert.equal(
      decide(
        [
          { issuer: GITHUB, subject: "repo:org/app:ref:refs/heads/main" },
          { issuer: `${GITHUB}/`, subject: "repo:org/infra:environment:prod" },
        ],
        policies,
      ).allowed,
      true,
    );
    const outside = decide([{ issuer: GITHUB, subject: "repo:org/app:pull_request" }], policies);
    assert.equal(outside.allowed, false);
    assert.match(outside.violations[0]?.message ?? "", /matches no subject pattern of IdentityPolicy\/ci/);
  });

  test("no policy can open the cluster's issuer to another namespace's ServiceAccounts", () => {
    const open = policy("open", {
      federatedCredentials: [{ issuer: CLUSTER, subjects: ["*"] }],
    });
    const decision = decide(
      [{ issuer: CLUSTER, subject: "system:serviceaccount:kube-system:admin" }],
      [open],
    );
    assert.equal(decision.allowed, false);
    assert.equal(decision.violations[0]?.rule, "cluster issuer");
  });

  test("with the cluster's issuer unknown, an issuer no rule names is refused and the reason says why", () => {
    const decision = decide(
      [{ issuer: CLUSTER, subject: "system:serviceaccount:team-a:app" }],
      [policy("base", {})],
      { problem: "discovery failed: connection refused" },
    );
    assert.equal(decision.allowed, false);
    assert.match(
      decision.violations[0]?.message ?? "",
      /the cluster's own issuer is unknown: discovery failed/,
    );
  });

  test("a refused credential blocks every write of the identity", () => {
    const world = new World();
    const resource = uai({
      serviceAccounts: [{ name: "app" }],
      federatedCredentials: [{ name: "ci-main", issuer: GITHUB, subject: "repo:o/r", audiences: AUD }],
    });
    const policyDecision = evaluatePolicy(resource, {
      namespaceLabels: {},
      policies: [policy("base", {})],
      customRoles: [],
      serviceAccountIssuer: ISSUER,
    });
    const run = world.converge(
      uaiPlan(resource, context({ policy: policyDecision, serviceAccountIssuer: ISSUER })),
      undefined,
    );
    assert.equal(world.writes(), 0);
    const refused = run.final.status.federatedCredentials?.find((c) => c.name === "ci-main");
    assert.equal(refused?.state, "Refused");
    assert.equal(condition(run.final.status, "PolicyViolation")?.status, "True");
  });
});
