import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RestError } from "@azure/core-rest-pipeline";
import {
  ConflictError,
  CredentialTenantError,
  InvalidRequestError,
  NotFoundError,
  OperationInProgressError,
  PermissionError,
  PolicyDeniedError,
  PrincipalNotFoundError,
  ThrottledError,
  TransientError,
  toAzureError,
} from "../../src/azure/errors.js";
import {
  classify,
  judge,
  judgeAll,
  judgeSync,
  NOT_READY_RECHECK_MS,
  nextFor,
  RECHECK,
  type SyncFacts,
  UNSETTLED_REQUEUE_MS,
  type Verdict,
} from "../../src/engine/error-policy.js";

describe("error policy: one verdict per failure", () => {
  const cases: Array<[string, unknown, Record<string, unknown>]> = [
    [
      "ARM 429",
      new ThrottledError("slow down", 7000, "arm"),
      { kind: "throttled", retryAfterMs: 7000, reason: "Throttled" },
    ],
    ["azid's own gate", new ThrottledError("budget", 250, "gate"), { kind: "throttled", retryAfterMs: 250 }],
    ["a running LRO", new OperationInProgressError("busy", 3000), { kind: "throttled", retryAfterMs: 3000 }],
    ["5xx", new TransientError("boom", "InternalServerError", 500), { kind: "retry", reason: "AzureError" }],
    [
      "a resource group that does not exist yet",
      new NotFoundError("no group", "ResourceGroupNotFound", 404),
      { kind: "retry", reason: "ResourceGroupNotFound" },
    ],
    ["a concurrent FIC write", new ConflictError("409", "Conflict", 409), { kind: "retry" }],
    [
      "a principal still replicating",
      new PrincipalNotFoundError("pnf", "PrincipalNotFound", 400),
      { kind: "retry", reason: "PrincipalNotFound" },
    ],
    [
      "Azure Policy",
      new PolicyDeniedError("denied by 'no-identities'", "no-identities"),
      { kind: "terminal", reason: "AzurePolicyDenied", recheckAfterMs: RECHECK.azurePolicy },
    ],
    [
      "a missing permission",
      new PermissionError(
        "no",
        "AuthorizationFailed",
        "Microsoft.ManagedIdentity/userAssignedIdentities/write",
        "/s",
      ),
      { kind: "terminal", reason: "MissingPermission", recheckAfterMs: RECHECK.permission },
    ],
    [
      "a credential from the old tenant",
      new CredentialTenantError("wrong tenant", "InvalidAuthenticationTokenTenant", 401),
      { kind: "terminal", reason: "CredentialTenantMismatch", recheckAfterMs: RECHECK.credential },
    ],
    [
      "the role assignment limit",
      new InvalidRequestError("limit", "RoleAssignmentLimitExceeded", 400),
      { kind: "terminal", reason: "RoleAssignmentLimitExceeded" },
    ],
    [
      "a Kubernetes 409",
      Object.assign(new Error("conflict"), { code: 409 }),
      { kind: "retry", reason: "Conflict" },
    ],
    ["a bug", new TypeError("x is undefined"), { kind: "retry", reason: "ReconcileError" }],
    ["a thrown string", "oops", { kind: "retry", reason: "ReconcileError" }],
  ];
  for (const [name, error, expected] of cases) {
    test(name, () => {
      const verdict = judge(error) as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(expected))
        assert.equal(verdict[key], value, `${name}: ${key}`);
    });
  }

  test("the credential verdict says what to configure", () => {
    const verdict = judge(new CredentialTenantError("x", "InvalidAuthenticationTokenTenant", 401));
    assert.match(verdict.message, /credential from the new tenant/);
  });

  test("ARM error bodies become typed errors", () => {
    const rest = (status: number, code: string, message = "m", headers: Record<string, string> = {}) => {
      const error = new RestError(message, { statusCode: status, code });
      (error as { details?: unknown }).details = { error: { code, message } };
      (error as { response?: unknown }).response = { headers: new Map(Object.entries(headers)), status };
      return error;
    };
    assert.ok(
      toAzureError(rest(429, "TooManyRequests", "t", { "retry-after": "3" })) instanceof ThrottledError,
    );
    assert.equal(
      (toAzureError(rest(429, "TooManyRequests", "t", { "retry-after": "3" })) as ThrottledError)
        .retryAfterMs,
      3000,
    );
    assert.ok(toAzureError(rest(401, "InvalidAuthenticationTokenTenant")) instanceof CredentialTenantError);
    assert.ok(toAzureError(rest(403, "RequestDisallowedByPolicy")) instanceof PolicyDeniedError);
    const denied = toAzureError(
      rest(
        403,
        "LinkedAuthorizationFailed",
        "The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' over scope '/subscriptions/s/resourceGroups/g' or the scope is invalid.",
      ),
    ) as PermissionError;
    assert.equal(denied.action, "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action");
    assert.equal(denied.scope, "/subscriptions/s/resourceGroups/g");
    assert.ok(toAzureError(rest(400, "PrincipalNotFound")) instanceof PrincipalNotFoundError);
    assert.ok(toAzureError(rest(503, "ServiceUnavailable")) instanceof TransientError);
  });
});

describe("error policy: several failures in one reconcile", () => {
  test("throttling wins, with the longest wait", () => {
    const verdict = judgeAll([
      new PolicyDeniedError("p", undefined),
      new ThrottledError("a", 1000, "arm"),
      new ThrottledError("b", 4000, "gate"),
      new TransientError("t", "x", 500),
    ]);
    assert.deepEqual(
      [verdict?.kind, verdict?.kind === "throttled" && verdict.retryAfterMs],
      ["throttled", 4000],
    );
  });
  test("a retryable failure beats a terminal one", () => {
    assert.equal(
      judgeAll([new PolicyDeniedError("p", undefined), new TransientError("t", "x", 500)])?.kind,
      "retry",
    );
  });
  test("no failure, no verdict", () => {
    assert.equal(judgeAll([]), undefined);
  });
});

describe("error policy: the queue's decision", () => {
  const retry: Verdict = { kind: "retry", reason: "AzureError", message: "503" };
  const throttled: Verdict = { kind: "throttled", reason: "Throttled", message: "429", retryAfterMs: 7000 };
  const terminal: Verdict = {
    kind: "terminal",
    reason: "MissingPermission",
    message: "no",
    recheckAfterMs: RECHECK.permission,
  };

  const verdicts: Array<[string, Verdict, number, Record<string, unknown>]> = [
    ["retry: backoff", retry, 1, { failure: { kind: "retry" }, message: "AzureError: 503" }],
    [
      "throttled: parked for Retry-After",
      throttled,
      20,
      { failure: { kind: "throttled", retryAfterMs: 7000 }, message: "Throttled: 429" },
    ],
    ["terminal: recheck after its delay", terminal, 1, { requeueAfterMs: RECHECK.permission }],
    ["terminal: on ARM's clock", terminal, 20, { requeueAfterMs: RECHECK.permission / 20 }],
  ];
  for (const [name, verdict, timeScale, expected] of verdicts) {
    test(name, () => assert.deepEqual(nextFor(verdict, timeScale), expected));
  }

  const thrown: Array<[string, unknown, Record<string, unknown>]> = [
    ["a thrown 5xx is retried", new TransientError("t", "x", 500), { kind: "retry" }],
    ["a thrown 429 is parked", new ThrottledError("t", 300, "arm"), { kind: "throttled", retryAfterMs: 300 }],
    ["a thrown NotFound is retried", new NotFoundError("n", "ResourceGroupNotFound", 404), { kind: "retry" }],
    [
      "a thrown permission failure nobody reported is not retried",
      new PermissionError("no", "AuthorizationFailed", undefined, undefined),
      { kind: "terminal" },
    ],
    ["a bug is retried", new TypeError("x"), { kind: "retry" }],
  ];
  for (const [name, error, expected] of thrown) {
    test(name, () => assert.deepEqual(classify(error), expected));
  }
});

describe("error policy: after a reconcile of an azid resource", () => {
  const ready = (status: "True" | "False", reason = "Ready") => ({
    observedGeneration: 2,
    conditions: [{ type: "Ready", status, reason, message: `${reason}!`, lastTransitionTime: "t" }],
  });
  const facts = (over: Partial<SyncFacts>): SyncFacts => ({
    writes: 0,
    unsettled: false,
    status: ready("True"),
    previous: { status: ready("True"), generation: 2 },
    deleting: false,
    attempt: 1,
    timeScale: 1,
    ...over,
  });
  const blip: Verdict = { kind: "retry", reason: "AzureError", message: "503" };
  const denied: Verdict = {
    kind: "terminal",
    reason: "AzurePolicyDenied",
    message: "p",
    recheckAfterMs: 600_000,
  };

  const cases: Array<[string, Partial<SyncFacts>, Record<string, unknown>]> = [
    ["Ready and settled: done, status written", {}, { writeStatus: true, next: {} }],
    [
      "not Ready, no failure: looked at again",
      { status: ready("False", "Waiting") },
      { writeStatus: true, next: { requeueAfterMs: NOT_READY_RECHECK_MS } },
    ],
    ["unsettled: soon again", { unsettled: true }, { next: { requeueAfterMs: UNSETTLED_REQUEUE_MS } }],
    [
      "a read blip of a Ready resource: the status is kept, retried",
      { verdict: blip, status: ready("False", "AzureError") },
      {
        writeStatus: false,
        next: { failure: { kind: "retry" }, message: "AzureError: 503" },
        warning: { reason: "AzureError", message: "503" },
      },
    ],
    [
      "a blip past the tolerance: written",
      { verdict: blip, attempt: 4, status: ready("False", "AzureError") },
      { writeStatus: true },
    ],
    ["a blip after a write: written", { verdict: blip, writes: 1 }, { writeStatus: true }],
    [
      "a blip of a resource Ready for an older generation: written",
      { verdict: blip, previous: { status: ready("True"), generation: 3 } },
      { writeStatus: true },
    ],
    ["a blip while deleting: written", { verdict: blip, deleting: true }, { writeStatus: true }],
    [
      "terminal: written, counted, warned, rechecked",
      { verdict: denied, status: ready("False", "AzurePolicyDenied") },
      {
        writeStatus: true,
        stopped: "AzurePolicyDenied",
        warning: { reason: "AzurePolicyDenied", message: "p" },
        next: { requeueAfterMs: 600_000 },
      },
    ],
    [
      "a state only a person fixes: a warning, no stop counted",
      { status: ready("False", "InvalidSpec") },
      { warning: { reason: "InvalidSpec", message: "InvalidSpec!" }, stopped: undefined },
    ],
  ];
  for (const [name, over, expected] of cases) {
    test(name, () => {
      const judgement = judgeSync(facts(over)) as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(judgement[key], value, key);
    });
  }
});
