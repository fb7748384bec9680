// The workload-wiring planner: what it writes, and above all what it does not write (the steady
// state, a fight, a restart already done).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CLIENT_ID_ANNOTATION,
  type ObservedServiceAccount,
  planWiring,
  RESTARTED_FOR_ANNOTATION,
  TENANT_ID_ANNOTATION,
  USE_LABEL,
  type WiringInput,
  wiringCondition,
  workloadsToRestart,
} from "../../src/plan/workload-wiring.js";

const OLD = "11111111-1111-1111-1111-111111111111";
const NEW = "22222222-2222-2222-2222-222222222222";
const TENANT = "33333333-3333-3333-3333-333333333333";
const wired = (clientId: string): ObservedServiceAccount => ({
  annotations: { [CLIENT_ID_ANNOTATION]: clientId, [TENANT_ID_ANNOTATION]: TENANT },
});

function input(
  overrides: Partial<WiringInput> & { accounts?: Record<string, ObservedServiceAccount | undefined> },
): WiringInput {
  const { accounts, ...rest } = overrides;
  return {
    ids: { clientId: NEW, tenantId: TENANT, principalId: "p", resourceId: "/r" },
    fields: ["clientId", "principalId", "tenantId", "resourceId"],
    serviceAccounts: [{ name: "app" }],
    exports: undefined,
    previous: undefined,
    observed: { serviceAccounts: new Map(Object.entries(accounts ?? { app: wired(NEW) })), exports: {} },
    ...rest,
  };
}

describe("planWiring: ServiceAccounts", () => {
  test("steady state: nothing to write, Ready", () => {
    const plan = planWiring(input({ previous: [{ name: "app", state: "Ready", clientId: NEW }] }));
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.serviceAccounts[0]?.entry.state, "Ready");
    assert.equal(wiringCondition(plan.serviceAccounts).status, "True");
  });

  test("first wiring: the two annotations applied, no restart", () => {
    const plan = planWiring(input({ accounts: { app: { annotations: { team: "x" } } } }));
    assert.deepEqual(plan.actions, [
      {
        kind: "ApplyServiceAccount",
        name: "app",
        restartOwed: false,
        annotations: { [CLIENT_ID_ANNOTATION]: NEW, [TENANT_ID_ANNOTATION]: TENANT },
      },
    ]);
  });

  test("a missing ServiceAccount: reported, nothing written", () => {
    const plan = planWiring(input({ accounts: { app: undefined } }));
    assert.deepEqual(plan.actions, []);
    assert.equal(wiringCondition(plan.serviceAccounts).reason, "ServiceAccountNotFound");
  });

  test("a new client id: applied with the old one, and one restart owed", () => {
    const plan = planWiring(
      input({ accounts: { app: wired(OLD) }, previous: [{ name: "app", state: "Ready", clientId: OLD }] }),
    );
    assert.deepEqual(
      plan.actions.map((action) => [action.kind, "from" in action ? action.from : undefined]),
      [
        ["ApplyServiceAccount", OLD],
        ["RestartWorkloads", OLD],
      ],
    );
  });

  test("restartWorkloads false: applied, never restarted", () => {
    const plan = planWiring(
      input({
        serviceAccounts: [{ name: "app", restartWorkloads: false }],
        accounts: { app: wired(OLD) },
        previous: [{ name: "app", state: "Ready", clientId: OLD }],
      }),
    );
    assert.deepEqual(
      plan.actions.map((action) => action.kind),
      ["ApplyServiceAccount"],
    );
  });

  test("a restart still owed after the annotation was written is planned; once done, never again", () => {
    const owed = planWiring(
      input({ previous: [{ name: "app", state: "Pending", clientId: NEW, restartPendingFrom: OLD }] }),
    );
    assert.deepEqual(owed.actions, [{ kind: "RestartWorkloads", serviceAccount: "app", from: OLD, to: NEW }]);
    const done = planWiring(
      input({ previous: [{ name: "app", state: "Ready", clientId: NEW, restartedFor: NEW }] }),
    );
    assert.deepEqual(done.actions, []);
  });

  test("a fight: the value azid set was set back by another manager; reported, not written", () => {
    const plan = planWiring(
      input({
        accounts: { app: { ...wired(OLD), clientIdManager: "argocd" } },
        previous: [{ name: "app", state: "Ready", clientId: NEW, restartedFor: NEW }],
      }),
    );
    assert.deepEqual(plan.actions, []);
    const condition = wiringCondition(plan.serviceAccounts);
    assert.equal(condition.reason, "ServiceAccountConflict");
    assert.match(condition.message, /field manager argocd/);
  });

  test("dropped from spec.serviceAccounts: azid's annotations removed, only if it set the value there", () => {
    const plan = planWiring(
      input({
        serviceAccounts: [],
        accounts: { old: wired(NEW), moved: wired(OLD) },
        previous: [
          { name: "old", state: "Ready", clientId: NEW },
          { name: "moved", state: "Ready", clientId: NEW },
        ],
      }),
    );
    assert.deepEqual(plan.actions, [{ kind: "UnwireServiceAccount", name: "old" }]);
    assert.equal(
      wiringCondition(plan.serviceAccounts).status,
      "True",
      "an item being removed is not a failure",
    );
  });

  test("no client id yet: waits", () => {
    const plan = planWiring(input({ ids: {} }));
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.serviceAccounts[0]?.reason, "Waiting");
  });
});

describe("planWiring: exports", () => {
  const exports = {
    configMap: { name: "ids", keys: { clientId: "AZURE_CLIENT_ID" } },
    secret: { name: "ids" },
  };
  const data = { AZURE_CLIENT_ID: NEW, principalId: "p", tenantId: TENANT, resourceId: "/r" };

  test("absent: applied with the configured key names", () => {
    const plan = planWiring(
      input({
        serviceAccounts: [],
        exports,
        observed: {
          serviceAccounts: new Map(),
          exports: { ConfigMap: { exists: false }, Secret: { exists: false } },
        },
      }),
    );
    assert.deepEqual(plan.actions, [
      { kind: "ApplyExport", target: "ConfigMap", name: "ids", data },
      {
        kind: "ApplyExport",
        target: "Secret",
        name: "ids",
        data: { clientId: NEW, principalId: "p", tenantId: TENANT, resourceId: "/r" },
      },
    ]);
  });

  test("current: nothing written; someone else's: ExportConflict, nothing written", () => {
    const plan = planWiring(
      input({
        serviceAccounts: [],
        exports,
        observed: {
          serviceAccounts: new Map(),
          exports: {
            ConfigMap: { exists: true, owned: true, data },
            Secret: { exists: true, owned: false, data: {} },
          },
        },
      }),
    );
    assert.deepEqual(plan.actions, []);
    assert.equal(wiringCondition(plan.exports).reason, "ExportConflict");
  });

  test("a system-assigned identity exports its principal and tenant ids only", () => {
    const plan = planWiring(
      input({
        serviceAccounts: [],
        fields: ["principalId", "tenantId"],
        exports: { configMap: { name: "ids" } },
        observed: { serviceAccounts: new Map(), exports: { ConfigMap: { exists: false } } },
      }),
    );
    assert.deepEqual(plan.actions, [
      { kind: "ApplyExport", target: "ConfigMap", name: "ids", data: { principalId: "p", tenantId: TENANT } },
    ]);
  });
});

describe("workloadsToRestart", () => {
  const workload = (
    name: string,
    serviceAccountName: string,
    labels: Record<string, string>,
    annotations = {},
  ) => ({
    kind: "Deployment",
    name,
    serviceAccountName,
    podLabels: labels,
    podAnnotations: annotations,
  });

  test("only workload-identity pods of that ServiceAccount not restarted for this client id yet", () => {
    const chosen = workloadsToRestart(
      [
        workload("web", "app", { [USE_LABEL]: "true" }),
        workload("batch", "app", {}),
        workload("other", "default", { [USE_LABEL]: "true" }),
        workload("done", "app", { [USE_LABEL]: "true" }, { [RESTARTED_FOR_ANNOTATION]: NEW }),
      ],
      "app",
      NEW,
    );
    assert.deepEqual(
      chosen.map((w) => w.name),
      ["web"],
    );
  });
});
