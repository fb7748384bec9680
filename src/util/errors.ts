// Every error azid raises on purpose, in one registry: a stable code per condition, named
// "<layer>.<Name>", that logs, the controller's error policy (src/engine/error-policy.ts) and the
// CLI's exit codes (src/cli/exit-codes.ts) map, never a message. It lives in util/ because every
// layer may import util/ and util/ imports nothing: each layer keeps its classes (toAzureError
// needs the Azure SDK, toKubeError client-node) and takes its codes from here.
// test/errors.test.ts lists every code and fails on one claimed twice or mapped nowhere.

/** Every code, with what it means to the person who meets it. */
export const ERROR_CODES = {
  // api/: reading the declared resources
  "api.InvalidArmId": "a string that should be an ARM resource id is not one",
  "api.NonStructuralSchema": "a schema Kubernetes would refuse as a CRD (a generator error)",

  // plan/: the pure planners
  "plan.NoFixpoint": "an imagined run of a plan did not settle within its rounds",
  "plan.IncompleteActionResult": "an executor answered an action without the fields the planner needs",

  // azure/: every failure of an ARM or Graph call (AzureError's own `code` is Azure's)
  "azure.Failed": "an Azure call failed in a way no other code names",
  "azure.Throttled": "ARM or Graph answered 429, or azid's own rate gate held the call back",
  "azure.Transient": "5xx, 408 or a dropped connection: worth retrying",
  "azure.OperationInProgress": "a long-running operation Azure accepted has not finished",
  "azure.NotFound": "the Azure resource does not exist",
  "azure.PermissionDenied": "azid's credential lacks an Azure RBAC action at a scope",
  "azure.PolicyDenied": "an Azure Policy assignment denies the request",
  "azure.CredentialTenantMismatch": "azid's credential is from another tenant than the subscription's",
  "azure.AuthenticationFailed": "azid's credential could not get or present a token",
  "azure.PrincipalNotFound": "the principal is not (yet) in the directory",
  "azure.RoleAssignmentExists": "the same role assignment exists under another name",
  "azure.Conflict": "a concurrent write to the same Azure resource",
  "azure.InvalidRequest": "Azure refused the request as such: the spec must change",
  "azure.InvalidCredentialsFile": "the --credentials-file cannot be used",

  // kube/: the Kubernetes API
  "kube.ApiError": "the API server answered other than success (its HTTP status is the error's `code`)",
  "kube.InvalidConfig": "no usable kubeconfig, or a resource the client does not know",
  "kube.InvalidKey": "a string that should be a reconcile key (Kind/namespace/name) is not one",
  "kube.ObjectBeingDeleted": "a finalizer cannot be added to an object being deleted",
  "kube.WatchClosed": "a watch ended as soon as it opened",
  "kube.LeadershipLost": "this replica lost the leader Lease",

  // queue/: the work queue, token buckets and locks in Redis
  "queue.InvalidOption": "a queue option is out of range",
  "queue.InvalidKey": "a key the queue cannot carry",
  "queue.InvalidRedisUrl": "the --redis-url cannot be used",
  "queue.RedisUnavailable": "Redis did not answer",
  "queue.BucketRequestTooLarge": "more tokens asked of a bucket than it holds",
  "queue.KeyBusy": "the key is being processed elsewhere",
  "queue.QueueClosed": "the queue is shutting down",
  "queue.LockBusy": "another replica holds the lock",
  "queue.LockLost": "this replica lost its lock on a key mid-reconcile",

  // config/: the controller's flags and files
  "config.InvalidConfiguration": "a flag or environment variable of the controller is invalid",
  "config.InvalidDuration": "not a Go duration (e.g. 10m, 1h30m)",
  "config.InvalidSandboxFile": "the --sandbox file is not what azid sandbox prints",

  // controller/: the controller's host
  "controller.DuplicateController": "two controllers registered for one kind",
  "controller.AlreadyStarted": "a manager starts once",
  "controller.StoppedWhileStarting": "the manager stopped before its caches synced",
  "controller.Stopping": "the manager is stopping",
  "controller.CacheSyncTimeout": "the informer caches did not sync in time",
  "controller.NotCached": "a read of a kind the manager does not cache",
  "controller.DuplicateIndex": "two indexes registered under one name",
  "controller.InvalidAddress": "an address flag is not host:port",
  "controller.Unhealthy": "a health check failed or did not answer",

  // cli/: what a command reports with an exit code
  "cli.Failed": "the command failed (Azure refused or failed, a resource did not converge)",
  "cli.Usage": "an unknown, missing or malformed flag",
  "cli.InvalidInput": "a manifest or a file given to a flag is invalid",
  "cli.Refused": "an IdentityPolicy refuses part of the manifests",
  "cli.MissingPermissions": "azid's credential lacks permissions the manifests need",
  "cli.CredentialRefused": "Azure refused azid's credential",
  "cli.NotConfirmed": "a confirmation was not given",
  "cli.DemoKubeApi": "the demo's call to the sandbox's API server failed",
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;
export type Layer = ErrorCode extends `${infer L}.${string}` ? L : never;
/** The codes of one layer without their prefix, e.g. CodesOf<"queue"> = "InvalidOption" | ... */
export type CodesOf<L extends Layer> = ErrorCode extends infer C
  ? C extends `${L}.${infer Name}`
    ? Name
    : never
  : never;

/**
 * The base of every error azid raises on purpose. `errorCode` is azid's stable code; `code`, where
 * a subclass has one, is kept for what it always was (Azure's error code, the HTTP status, the
 * layer's own short code).
 */
export abstract class AzidError extends Error {
  abstract readonly errorCode: ErrorCode;
}

/** azid's stable code of an error, if it is one of azid's own. */
export function errorCodeOf(error: unknown): ErrorCode | undefined {
  return error instanceof AzidError ? error.errorCode : undefined;
}
