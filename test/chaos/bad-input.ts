// Bad input: 1,000 generated invalid or hostile resources (bad GUIDs, scopes and role names,
// oversized or unicode names, other subscriptions and tenants, classic cloud services targets,
// duplicate items, 21 federated credentials...) applied with kubectl next to a small valid
// estate. Each must be refused at `kubectl apply` (CRD schema, admission) or get a terminal
// condition with a clear reason; the controller must not crash and must make no ARM write for
// them; the valid estate stays exact.
import { randomUUID } from "node:crypto";
import { GRAPH, rg, teamNamespace, vm } from "../e2e/fixtures.js";
import type { Stack } from "../e2e/stack.js";
import { armWrites, conditionOf, type WorldSize, waitUntil } from "../e2e/tenant-move-world.js";
import { describeSize, readyEstate, settle } from "./estate.js";
import type { Verdict } from "./verdict.js";

const SIZE: WorldSize = { customRoles: 1, userAssigned: 4, systemAssigned: 2, sharedVms: 2 };
const NAMESPACE = "hostile";
const COUNT = 1000;
const BATCH = 100;
/** Reasons that end a reconcile without touching Azure until the spec or policy changes. */
const TERMINAL = new Set([
  "InvalidSpec",
  "PolicyDenied",
  "TargetNotFound",
  "UnsupportedTarget",
  "RoleNotFound",
  "CustomRoleNotFound",
  "AppRoleNotFound",
  "IdentityNotFound",
  "LocationMismatch",
]);

type Spec = Record<string, unknown>;
interface Hostile {
  kind: "UserAssignedIdentity" | "SystemAssignedIdentity" | "CustomRole";
  name: string;
  spec: Spec;
  /** What is wrong with it, for the report. */
  flaw: string;
}

const pad = (i: number) => String(i).padStart(4, "0");

/** The flaws, each a generator of one hostile resource from an index. */
function flaws(stack: Stack): Array<(i: number) => Hostile> {
  const sub = stack.subscriptionId;
  const other = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333";
  const uai = (flaw: string, i: number, spec: Spec, name = `${flaw}-${pad(i)}`): Hostile => ({
    kind: "UserAssignedIdentity",
    name,
    flaw,
    spec: { subscriptionId: sub, resourceGroup: "app-rg", location: "westeurope", ...spec },
  });
  const reader = (scope: string) => [{ role: "Reader", scope }];
  return [
    (i) => uai("bad-guid", i, { subscriptionId: `not-a-guid-${i}` }),
    (i) => uai("guid-braces", i, { subscriptionId: `{${randomUUID()}}` }),
    (i) => uai("scope-relative", i, { roleAssignments: reader(`subscriptions/${sub}`) }),
    (i) => uai("scope-dot-dot", i, { roleAssignments: reader(`${rg(stack)}/../../${i}`) }),
    (i) => uai("scope-query", i, { roleAssignments: reader(`${rg(stack)}?api-version=${i}`) }),
    (i) => uai("role-empty", i, { roleAssignments: [{ role: "", scope: rg(stack) }] }),
    (i) => uai("role-unknown", i, { roleAssignments: [{ role: `No Such Role ${i}`, scope: rg(stack) }] }),
    (i) => uai("role-owner", i, { roleAssignments: [{ role: "Owner", scope: `/subscriptions/${sub}` }] }),
    (i) =>
      uai("role-both", i, {
        roleAssignments: [{ role: "Reader", roleDefinitionId: randomUUID(), scope: rg(stack) }],
      }),
    (i) => uai("name-oversized", i, {}, `n${"x".repeat(250)}${pad(i)}`),
    (i) => uai("name-unicode", i, {}, `identität-${pad(i)}`),
    (i) => uai("azure-name-unicode", i, { name: `ïdentité-${pad(i)}` }),
    (i) => uai("azure-name-oversized", i, { name: `n${"x".repeat(130)}${i}` }),
    (i) => uai("location-hostile", i, { location: `west europe; rm -rf /${i}` }),
    (i) => uai("tag-oversized", i, { tags: { big: "v".repeat(300 + i) } }),
    (i) => uai("other-subscription", i, { subscriptionId: randomUUID() }),
    (i) => uai("scope-other-subscription", i, { roleAssignments: reader(`${other}/resourceGroups/x${i}`) }),
    (i) =>
      uai("attach-other-subscription", i, {
        attachTo: [`${other}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm${i}`],
      }),
    (i) =>
      uai("attach-classic", i, {
        attachTo: [`${rg(stack)}/providers/Microsoft.ClassicCompute/domainNames/classic-${i}`],
      }),
    (i) => uai("attach-not-an-id", i, { attachTo: [`vm-${i}`] }),
    (i) => uai("attach-duplicate", i, { attachTo: [vm(stack, "vm-00"), vm(stack, "vm-00")] }),
    (i) =>
      uai("app-role-duplicate", i, {
        graphAppRoles: [{ appRole: "User.Read.All" }, { appRole: "User.Read.All", resourceAppId: GRAPH }],
      }),
    (i) =>
      uai("grant-duplicate", i, {
        roleAssignments: [
          { role: "Reader", scope: rg(stack) },
          { roleDefinitionId: "acdd72a7-3385-48ef-bd42-f606fba81ae7", scope: rg(stack), description: `${i}` },
        ],
      }),
    (i) =>
      uai("credentials-21", i, {
        federatedCredentials: Array.from({ length: 21 }, (_, c) => ({
          name: `c-${c}`,
          issuer: "https://oidc.example.com",
          subject: `system:serviceaccount:${NAMESPACE}:s${i}-${c}`,
        })),
      }),
    (i) =>
      uai("credential-duplicate", i, {
        federatedCredentials: [0, 1].map(() => ({
          name: "same",
          issuer: "https://oidc.example.com",
          subject: `system:serviceaccount:${NAMESPACE}:s${i}`,
        })),
      }),
    (i) =>
      uai("credential-http-issuer", i, {
        federatedCredentials: [{ name: "c1", issuer: "http://oidc.example.com", subject: `s${i}` }],
      }),
    (i) => uai("app-role-unknown", i, { graphAppRoles: [{ appRole: `Nope.${i}.All` }] }),
    (i) =>
      uai("app-role-other-api", i, {
        graphAppRoles: [{ resourceAppId: randomUUID(), appRole: "User.Read.All" }],
      }),
    (i) =>
      uai("scope-tenant-root", i, {
        roleAssignments: reader(`/providers/Microsoft.Management/managementGroups/root-${i}`),
      }),
    (i) => ({
      kind: "SystemAssignedIdentity",
      name: `sai-classic-${pad(i)}`,
      flaw: "sai-classic",
      spec: { resourceId: `${rg(stack)}/providers/Microsoft.ClassicCompute/domainNames/classic-${i}` },
    }),
    (i) => ({
      kind: "SystemAssignedIdentity",
      name: `sai-other-sub-${pad(i)}`,
      flaw: "sai-other-subscription",
      spec: { resourceId: `${other}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm${i}` },
    }),
    (i) => ({
      kind: "SystemAssignedIdentity",
      name: `sai-missing-${pad(i)}`,
      flaw: "sai-target-missing",
      spec: { resourceId: vm(stack, `missing-vm-${i}`) },
    }),
    (i) => ({
      kind: "CustomRole",
      name: `role-no-actions-${pad(i)}`,
      flaw: "custom-role-no-actions",
      spec: {
        subscriptionId: sub,
        roleName: `Nothing ${i}`,
        permissions: [{ notActions: ["Microsoft.Storage/storageAccounts/read"] }],
        assignableScopes: [`/subscriptions/${sub}`],
      },
    }),
    (i) => ({
      kind: "CustomRole",
      name: `role-other-scope-${pad(i)}`,
      flaw: "custom-role-other-subscription",
      spec: {
        subscriptionId: sub,
        roleName: `Elsewhere ${i}`,
        permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read"] }],
        assignableScopes: [other],
      },
    }),
  ];
}

export function hostileResources(stack: Stack): Hostile[] {
  const makers = flaws(stack);
  return Array.from({ length: COUNT }, (_, i) => (makers[i % makers.length] as (i: number) => Hostile)(i));
}

const manifest = (h: Hostile) => ({
  apiVersion: "azid.dev/v1alpha1",
  kind: h.kind,
  metadata: { name: h.name, namespace: NAMESPACE },
  spec: h.spec,
});

interface Outcome {
  refused: Map<string, string>;
  terminal: Map<string, string>;
  other: Map<string, string>;
}

export async function badInput(): Promise<Verdict> {
  const started = Date.now();
  const estate = await readyEstate("valid", SIZE);
  const { stack } = estate;
  const controller = stack.controllers[0];
  try {
    await stack.apply(...teamNamespace(stack, NAMESPACE));
    const hostile = hostileResources(stack);
    stack.arm.arm.resetStats();
    const outcome: Outcome = { refused: new Map(), terminal: new Map(), other: new Map() };
    for (let first = 0; first < hostile.length; first += BATCH) {
      const batch = hostile.slice(first, first + BATCH);
      const result = await stack.kubectl.run(["apply", "-f", "-"], {
        input: JSON.stringify({ apiVersion: "v1", kind: "List", items: batch.map(manifest) }),
        timeoutMs: 120_000,
      });
      for (const h of batch) {
        const line = result.stderr
          .split("\n")
          .find((l) => l.includes(`"${h.name}"`) || l.includes(` ${h.name} `));
        if (line) outcome.refused.set(h.name, line);
      }
    }
    const accepted = hostile.filter((h) => !outcome.refused.has(h.name));
    await waitUntil(
      `a terminal condition on each of ${accepted.length} accepted hostile resources`,
      async () => {
        const items = JSON.parse(
          await stack.must([
            "get",
            "userassignedidentities.azid.dev,systemassignedidentities.azid.dev,customroles.azid.dev",
            "-n",
            NAMESPACE,
            "-o",
            "json",
          ]),
        ).items as Array<{
          metadata: { name: string; generation: number };
          status?: { observedGeneration?: number };
        }>;
        const byName = new Map(items.map((item) => [item.metadata.name, item]));
        outcome.terminal.clear();
        outcome.other.clear();
        for (const h of accepted) {
          const item = byName.get(h.name);
          const ready = item && conditionOf(item as never, "Ready");
          const said = `${ready?.status ?? "no"} ${ready?.reason ?? "condition"}: ${ready?.message ?? ""}`;
          if (ready?.status === "False" && TERMINAL.has(ready.reason) && ready.message.length > 0)
            outcome.terminal.set(h.name, said);
          else outcome.other.set(h.name, `${h.flaw}: ${said}`);
        }
        if (outcome.other.size > 0) throw new Error(`${outcome.other.size} not terminal yet`);
      },
      240_000,
      2000,
    ).catch(() => undefined);
    const writes = armWrites(stack);
    const writeCalls = Object.entries(stack.arm.arm.stats().byOperation).filter(
      ([operation]) => !operation.startsWith("GET ") && !operation.startsWith("HEAD "),
    );
    const alive = controller?.child.exitCode === null && controller.child.signalCode === null;
    const valid = await settle(estate, "bad-input", started);
    const byFlaw = new Map<string, string>();
    for (const h of hostile) {
      const how = outcome.refused.has(h.name)
        ? "refused at apply"
        : (outcome.terminal.get(h.name)?.split(":")[0] ?? "NOT TERMINAL");
      byFlaw.set(h.flaw, [...new Set([...(byFlaw.get(h.flaw)?.split(", ") ?? []), how])].join(", "));
    }
    return {
      scenario: "bad-input",
      runs: hostile.length,
      converged: outcome.refused.size + outcome.terminal.size,
      duplicates: valid.duplicates,
      lost: valid.lost,
      mismatches: [
        ...valid.mismatches,
        ...(writes === 0
          ? []
          : [`${writes} ARM writes while only hostile resources changed: ${JSON.stringify(writeCalls)}`]),
        ...(valid.converged === valid.runs
          ? []
          : [`${valid.runs - valid.converged} valid resources not exact`]),
        ...(alive ? [] : ["the controller exited"]),
        ...[...outcome.other.values()].slice(0, 20),
      ],
      notes: [
        `size: ${hostile.length} hostile resources (${byFlaw.size} flaws) next to ${describeSize(SIZE)}`,
        `${outcome.refused.size} refused at kubectl apply, ${outcome.terminal.size} given a terminal condition, ` +
          `${outcome.other.size} neither; ARM writes while they were handled: ${writes}; the controller ${alive ? "kept running" : "EXITED"}`,
        ...[...byFlaw].map(([flaw, how]) => `${flaw}: ${how}`),
        ...valid.notes,
      ],
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    await stack.close();
  }
}
