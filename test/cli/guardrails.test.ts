// IdentityPolicy enforcement and input validation in validate, plan and apply: every refused or
// crafted manifest stops the command before any ARM write (the emulator's stats say so), crafted
// ids never reach another subscription or resource group, and allowed manifests still work.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { serviceAccountCredentialName } from "../../src/api/workload-identity.js";
import { type CliSandbox, startCliSandbox } from "./support.js";
import { createGroup, createVm, GRAPH_APP_ID, LOCATION, RG, rgId, userAssigned, vmId } from "./world.js";

function policy(sub: string) {
  return {
    apiVersion: "azid.dev/v1alpha1",
    kind: "IdentityPolicy",
    metadata: { name: "team-a" },
    spec: {
      namespaceSelector: { matchLabels: { team: "a" } },
      subscriptions: [{ subscriptionId: sub, resourceGroups: [RG] }],
      roles: [{ roles: ["Reader"], scopes: [{ scope: rgId(sub) }] }],
      attachTargets: [{ scope: rgId(sub) }],
      graphAppRoles: [{ resourceAppId: GRAPH_APP_ID, appRoles: ["User.Read.All"] }],
      // world.ts's credentials trust this issuer for team-a's ServiceAccounts.
      federatedCredentials: [
        { issuer: "https://oidc.example.com/issuer", subjects: ["system:serviceaccount:team-a:*"] },
      ],
    },
  };
}

const CLUSTER_ISSUER = "https://oidc.cluster.example.com";
/** A UserAssignedIdentity of team-a whose one federated credential trusts this issuer and subject. */
const trusting = (sub: string, name: string, issuer: string, subject: string) => {
  const m = userAssigned(sub, name);
  m.spec.federatedCredentials = [
    { name: "trust", issuer, subject, audiences: ["api://AzureADTokenExchange"] },
  ];
  return m;
};

const namespace = (name: string, labels: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});

describe("guardrails in validate / plan / apply", () => {
  let s: CliSandbox;
  let victim: string;
  let policies: string;

  before(async () => {
    s = await startCliSandbox({ timeScale: 50 });
    await createGroup(s.f, s.sub);
    await createGroup(s.f, s.sub, "other-rg");
    await createVm(s.f, s.sub, "vm-1");
    await createVm(s.f, s.sub, "vm-9", "other-rg");
    // A second subscription in the same tenant that nothing may touch.
    victim = randomUUID();
    await s.f.admin("PUT", `subscriptions/${victim}`, { tenantId: s.f.arm.tenantId });
    await createGroup(s.f, victim, "victim-rg");
    policies = s.writeManifests("policies.yaml", [policy(s.sub)]);
  });
  after(() => s.close());

  const run = (command: string, manifests: string, extra: string[] = []) =>
    s.azid([
      command,
      "-f",
      manifests,
      "--policy",
      policies,
      ...(command === "validate" ? [] : ["--sandbox", s.sandboxFile]),
      "--service-account-issuer",
      CLUSTER_ISSUER,
      ...extra,
    ]);

  const refusals: Array<[string, () => unknown[]]> = [
    [
      "a federated credential trusting a foreign issuer",
      () => [trusting(s.sub, "foreign-issuer", "https://token.actions.githubusercontent.com", "repo:o/r")],
    ],
    [
      "a federated credential trusting another namespace's ServiceAccount",
      () => [trusting(s.sub, "other-namespace", CLUSTER_ISSUER, "system:serviceaccount:kube-system:admin")],
    ],
    [
      "a federated credential whose subject is outside the policy's patterns",
      () => [trusting(s.sub, "outside-pattern", "https://oidc.example.com/issuer", "repo:org/app")],
    ],
    [
      "a privileged role (Owner)",
      () => {
        const m = userAssigned(s.sub, "escalate");
        m.spec.roleAssignments = [{ role: "Owner", scope: `/subscriptions/${s.sub}` }];
        return [m];
      },
    ],
    [
      "a scope outside the allowed resource group",
      () => {
        const m = userAssigned(s.sub, "wide");
        m.spec.roleAssignments = [{ role: "Reader", scope: rgId(s.sub, "other-rg") }];
        return [m];
      },
    ],
    [
      "an identity in another resource group",
      () => {
        const m = userAssigned(s.sub, "elsewhere");
        m.spec.resourceGroup = "other-rg";
        return [m];
      },
    ],
    [
      "an attachment to a resource outside",
      () => [userAssigned(s.sub, "hijack", { attachTo: [vmId(s.sub, "vm-9", "other-rg")] })],
    ],
    [
      "a wildcard custom role (custom roles not allowed)",
      () => [
        {
          apiVersion: "azid.dev/v1alpha1",
          kind: "CustomRole",
          metadata: { name: "god", namespace: "team-a" },
          spec: {
            subscriptionId: s.sub,
            roleName: "God mode",
            permissions: [{ actions: ["*"] }],
            assignableScopes: [rgId(s.sub)],
          },
        },
      ],
    ],
    [
      "a Graph app role not allowed",
      () => {
        const m = userAssigned(s.sub, "mailer");
        (m.spec as Record<string, unknown>).graphAppRoles = [
          { resourceAppId: GRAPH_APP_ID, appRole: "Mail.Send" },
        ];
        return [m];
      },
    ],
    [
      "a namespace no policy selects",
      () => {
        const m = userAssigned(s.sub, "stranger");
        m.metadata.namespace = "team-b";
        return [m];
      },
    ],
  ];

  test("each escalation is refused by name; validate, plan and apply exit 4 with no ARM write", async () => {
    const file = s.writeManifests("refused.yaml", [
      namespace("team-a", { team: "a" }),
      namespace("team-b", { team: "b" }),
      ...refusals.flatMap(([, manifests]) => manifests()),
    ]);
    await s.f.admin("POST", "stats/reset");
    const validate = await run("validate", file, ["--output", "json"]);
    assert.equal(validate.code, 4, validate.stdout);
    const refused: Array<{ resource: string; violations: Array<{ rule: string; message: string }> }> =
      JSON.parse(validate.stdout).refusals;
    for (const [name, manifests] of refusals) {
      const [manifest] = manifests() as Array<{
        kind: string;
        metadata: { name: string; namespace: string };
      }>;
      const key = `${manifest?.kind}/${manifest?.metadata.namespace}/${manifest?.metadata.name}`;
      const found = refused.find((r) => r.resource === key);
      assert.ok(found && found.violations.length > 0, `${name}: not refused (${key})`);
    }
    for (const command of ["plan", "apply"]) {
      const result = await run(command, file);
      assert.equal(result.code, 4, `${command}: ${result.stderr}${result.stdout}`);
      assert.match(result.stderr, /refused by IdentityPolicy, nothing was written/);
    }
    const stats = await s.stats();
    assert.equal(stats.requests.write + stats.requests.delete, 0);
  });

  test("allowed manifests pass the same policy and apply", async () => {
    const allowed = userAssigned(s.sub, "allowed", { attachTo: [vmId(s.sub, "vm-1")], graph: true });
    const file = s.writeManifests("allowed.yaml", [allowed]);
    const valid = await run("validate", file, ["--namespace-labels", "team=a"]);
    assert.equal(valid.code, 0, valid.stdout);
    assert.match(valid.stdout, /allowed by IdentityPolicy\/team-a/);
    const applied = await run("apply", file, ["--namespace-labels", "team=a"]);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
  });

  test("serviceAccounts[] gets its credential with the issuer given by --service-account-issuer", async () => {
    const m = userAssigned(s.sub, "wired");
    m.spec.federatedCredentials = [];
    (m.spec as Record<string, unknown>).serviceAccounts = [{ name: "app" }];
    const file = s.writeManifests("wired.yaml", [m]);
    const applied = await run("apply", file, ["--namespace-labels", "team=a"]);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const identity = `${rgId(s.sub)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/wired`;
    const listed = await s.f.request(
      "GET",
      `${identity}/federatedIdentityCredentials?api-version=2024-11-30`,
    );
    assert.deepEqual(
      listed.body.value.map(
        (c: { name: string; properties: { issuer: string; subject: string; audiences: string[] } }) => [
          c.name,
          c.properties.issuer,
          c.properties.subject,
          c.properties.audiences,
        ],
      ),
      [
        [
          serviceAccountCredentialName("app"),
          CLUSTER_ISSUER,
          "system:serviceaccount:team-a:app",
          ["api://AzureADTokenExchange"],
        ],
      ],
    );
  });

  test("without any policy the CLI says it enforces none", async () => {
    const file = s.writeManifests("plain.yaml", [userAssigned(s.sub, "plain")]);
    const result = await s.azid(["validate", "-f", file]);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /enforces none/);
  });

  const crafted: Array<[string, (m: ReturnType<typeof userAssigned>) => void]> = [
    [
      "a resource group with ../",
      (m) => {
        m.spec.resourceGroup = `${RG}/../../../subscriptions/${victim}/resourceGroups/victim-rg`;
      },
    ],
    [
      "an identity name with ?api-version=",
      (m) => {
        (m.spec as Record<string, unknown>).name = "x?api-version=2018-11-30";
      },
    ],
    [
      "a scope climbing with ..",
      (m) => {
        m.spec.roleAssignments = [{ role: "Reader", scope: `${rgId(s.sub)}/../../${victim}` }];
      },
    ],
    [
      "a scope with an encoded ..",
      (m) => {
        m.spec.roleAssignments = [{ role: "Reader", scope: `${rgId(s.sub)}/%2e%2e/victim-rg` }];
      },
    ],
    [
      "an attach target with a query",
      (m) => {
        m.spec.attachTo = [`${vmId(s.sub, "vm-1")}?api-version=2024-11-01&x=/subscriptions/${victim}`];
      },
    ],
    [
      "a subscription id that is not a GUID",
      (m) => {
        m.spec.subscriptionId = `${s.sub}/resourceGroups/x`;
      },
    ],
    [
      "a location with a path",
      (m) => {
        m.spec.location = `${LOCATION}/../x`;
      },
    ],
  ];

  test("crafted ids are invalid, by file, document and field; exit 3 before any ARM call", async () => {
    const manifests = crafted.map(([, craft], index) => {
      const manifest = userAssigned(s.sub, `crafted-${index}`);
      craft(manifest);
      return manifest;
    });
    const file = s.writeManifests("crafted.yaml", manifests);
    await s.f.admin("POST", "stats/reset");
    const validate = await s.azid(["validate", "-f", file, "--output", "json"]);
    assert.equal(validate.code, 3, validate.stdout);
    const issues: Array<{ source: { document: number }; field: string }> = JSON.parse(validate.stdout).issues;
    for (const [index, [name]] of crafted.entries()) {
      assert.ok(
        issues.some((issue) => issue.source.document === index + 1 && issue.field.startsWith("spec.")),
        `${name}: no issue for document ${index + 1}`,
      );
    }
    for (const command of ["plan", "apply"]) {
      const result = await s.azid([command, "-f", file, "--sandbox", s.sandboxFile]);
      assert.equal(result.code, 3, `${command}: ${result.stderr}${result.stdout}`);
    }
    const stats = await s.stats();
    assert.equal(stats.requests.read + stats.requests.write + stats.requests.delete, 0);
  });

  test("the other subscription and resource group are untouched", async () => {
    const victimIdentities = await s.f.request(
      "GET",
      `/subscriptions/${victim}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2024-11-30`,
    );
    assert.deepEqual(victimIdentities.body.value, []);
    const otherGroup = await s.f.request(
      "GET",
      `${rgId(s.sub, "other-rg")}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2024-11-30`,
    );
    assert.deepEqual(otherGroup.body.value, []);
    const vm9 = await s.f.request("GET", `${vmId(s.sub, "vm-9", "other-rg")}?api-version=2024-11-01`);
    assert.equal(vm9.body.identity, undefined);
  });
});
