import { type Static, Type } from "typebox";
import { API_VERSION, Conditions, guid, ObjectMeta } from "./common.js";
import { bool, immutable, int, list, map, Optional, obj, oneOf, str } from "./helpers.js";
import { VaultRepair } from "./key-vault.js";

export const MAX_PLAN_ACTIONS = 5000;
export const MAX_FAILURES = 500;

const actionKind = str("An action kind, e.g. CreateIdentity or PutRoleAssignment.", { maxLength: 64 });
const resourceRef = str("The azid resource the action belongs to, as Kind/namespace/name.", {
  maxLength: 512,
});
const count = (description: string) => int(description, { minimum: 0 });
const time = (description: string) => str(description, { format: "date-time" });

export const TenantMigrationSpec = obj(
  {
    subscriptionId: guid("The subscription that moved to another tenant.", {
      "x-kubernetes-validations": [immutable("subscriptionId")],
    }),
    mode: Optional(
      oneOf(["Plan", "Apply"], "Plan computes and shows the repair; Apply also performs it once approved.", {
        default: "Plan",
      }),
    ),
    approved: Optional(
      bool("Set to true to let an Apply run start (the plan is shown first).", { default: false }),
    ),
  },
  "One repair run for one subscription after a tenant move.",
);
export type TenantMigrationSpec = Static<typeof TenantMigrationSpec>;

export const PlannedAction = obj(
  {
    kind: actionKind,
    resource: resourceRef,
    target: str("What the action touches in Azure (an ARM id, or a Graph object).", { maxLength: 1024 }),
    description: str("What the action does, in words.", { maxLength: 2048 }),
  },
  "One action of the plan.",
);
export type PlannedAction = Static<typeof PlannedAction>;

export const ActionCount = obj({ kind: actionKind, count: count("How many.") }, "Actions of one kind.");

export const ClassFloor = obj(
  {
    class: str("The ARM limit class: read, write, delete, identityCreate or ficWrite.", { maxLength: 32 }),
    calls: count("Calls of this class in the plan."),
    floorSeconds: Type.Number({
      description: "The least time ARM's bucket for this class allows.",
      minimum: 0,
    }),
  },
  "What one ARM limit class costs the plan.",
);

export const WiringStep = obj(
  {
    resource: resourceRef,
    action: oneOf(
      ["AnnotateServiceAccount", "WriteExport", "RestartWorkloads"],
      "AnnotateServiceAccount: the new client and tenant ids on a ServiceAccount. WriteExport: the " +
        "new ids in a ConfigMap or Secret. RestartWorkloads: the workload-identity Deployments, " +
        "StatefulSets and DaemonSets running as that ServiceAccount.",
    ),
    target: str("The ServiceAccount, ConfigMap or Secret, as Kind/name in the resource's namespace.", {
      maxLength: 300,
    }),
  },
  "One change the repair makes in the cluster.",
);
export type WiringStep = Static<typeof WiringStep>;

export const MigrationPlan = obj(
  {
    generatedAt: time("When the plan was computed."),
    counts: map(ActionCount, ["kind"], "Number of actions per kind.", { maxItems: 64 }),
    total: count("Number of actions."),
    actions: list(PlannedAction, "The actions in order (the first 5000).", { maxItems: MAX_PLAN_ACTIONS }),
    truncated: Optional(bool("True when the plan has more actions than the list holds.")),
    wiring: Optional(
      list(WiringStep, "What the repair changes in the cluster once the identities are re-created.", {
        maxItems: MAX_PLAN_ACTIONS,
      }),
    ),
    floorSeconds: Type.Number({
      description: "The least time ARM's throttling buckets allow for the whole plan.",
      minimum: 0,
    }),
    floorByClass: list(ClassFloor, "The floor per ARM limit class.", { maxItems: 16 }),
    // Key Vaults (issue 14).
    keyVaults: Optional(
      list(VaultRepair, "Key Vaults whose tenant the repair resets, with the entries of others it removes.", {
        maxItems: 500,
      }),
    ),
  },
  "What the repair will do.",
);
export type MigrationPlan = Static<typeof MigrationPlan>;

export const ActionProgress = obj(
  { kind: actionKind, done: count("Actions done."), total: count("Actions planned.") },
  "Progress of one action kind.",
);
export type ActionProgress = Static<typeof ActionProgress>;

export const MigrationFailure = obj(
  {
    kind: actionKind,
    resource: resourceRef,
    target: str("What the action touches in Azure.", { maxLength: 1024 }),
    reason: str("A stable reason, e.g. AuthorizationFailed.", { maxLength: 128 }),
    message: str("What Azure said.", { maxLength: 4096 }),
  },
  "An action that failed.",
);
export type MigrationFailure = Static<typeof MigrationFailure>;

export const PrincipalChange = obj(
  {
    resource: resourceRef,
    oldPrincipalId: Optional(str("The principal before the move.", { maxLength: 36 })),
    newPrincipalId: Optional(str("The principal after the repair.", { maxLength: 36 })),
    oldClientId: Optional(
      str("The client id before the move (user-assigned identities).", { maxLength: 36 }),
    ),
    newClientId: Optional(
      str("The client id after the repair (user-assigned identities).", { maxLength: 36 }),
    ),
    restarted: Optional(
      list(
        str("Kind/name of a workload.", { maxLength: 300 }),
        "The workloads restarted for the new client id (Kind/name, in the identity's namespace).",
        { maxItems: 100 },
      ),
    ),
  },
  "How an identity's principal (and client id) changed, and the workloads restarted for it.",
);

export const MigrationReport = obj(
  {
    startedAt: Optional(time("When the repair started.")),
    completedAt: Optional(time("When the repair ended.")),
    actionsDone: count("Actions that succeeded."),
    actionsFailed: count("Actions that failed."),
    principals: list(
      PrincipalChange,
      "New principals of the repaired identities, user- and system-assigned.",
      {
        maxItems: MAX_PLAN_ACTIONS,
      },
    ),
    summary: str("The outcome in a sentence.", { maxLength: 4096 }),
    // Key Vaults (issue 14).
    grantAgainByHand: Optional(
      list(
        VaultRepair,
        "Key Vaults whose tenant the repair reset, with the entries of principals azid does not manage " +
          "that went with the old tenant: grant them again by hand, with these permissions.",
        { maxItems: 500 },
      ),
    ),
  },
  "The outcome of the repair.",
);
export type MigrationReport = Static<typeof MigrationReport>;

export const MigrationPhase = oneOf(
  ["Pending", "Planned", "AwaitingApproval", "Applying", "Succeeded", "Failed", "NotNeeded"],
  "Pending: not yet planned. Planned: the plan is ready (mode Plan). AwaitingApproval: mode Apply, " +
    "waiting for approved: true. Applying, Succeeded, Failed: the run. NotNeeded: the subscription " +
    "has not moved.",
);
export type MigrationPhase = Static<typeof MigrationPhase>;

export const TenantMigrationStatus = obj(
  {
    observedGeneration: Optional(
      int("The generation this status describes.", { minimum: 0, format: "int64" }),
    ),
    conditions: Optional(Conditions),
    phase: Optional(MigrationPhase),
    fromTenantId: Optional(str("The tenant the identities still belong to.", { maxLength: 36 })),
    toTenantId: Optional(str("The subscription's tenant now.", { maxLength: 36 })),
    plan: Optional(MigrationPlan),
    progress: Optional(list(ActionProgress, "Done and total per action kind.", { maxItems: 64 })),
    failures: Optional(list(MigrationFailure, "Failed actions (the first 500).", { maxItems: MAX_FAILURES })),
    report: Optional(MigrationReport),
  },
  "Plan, progress and outcome of the repair.",
);
export type TenantMigrationStatus = Static<typeof TenantMigrationStatus>;

export const TenantMigration = obj(
  {
    apiVersion: Type.Literal(API_VERSION, { description: "azid.dev/v1alpha1" }),
    kind: Type.Literal("TenantMigration", { description: "TenantMigration" }),
    metadata: ObjectMeta,
    spec: TenantMigrationSpec,
    status: Optional(TenantMigrationStatus),
  },
  "A repair run after a subscription moved to another Microsoft Entra tenant.",
);
export type TenantMigration = Static<typeof TenantMigration>;
