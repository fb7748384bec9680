import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RestError } from "@azure/core-rest-pipeline";
import {
  ConflictError,
  CredentialTenantError,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  PolicyDeniedError,
  PrincipalNotFoundError,
  ThrottledError,
  TransientError,
  toAzureError,
} from "../../src/azure/errors.js";
import { OperationInProgressError } from "../../src/azure/executor.js";
import { judge, judgeAll, RECHECK } from "../../src/engine/error-policy.js";

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
