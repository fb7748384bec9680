import { AzidError, type CodesOf, type ErrorCode, errorCodeOf } from "../util/errors.js";

// The CLI's exit codes: stable, documented (`azid --help`), so that pipelines can branch on them.
export const EXIT = {
  /** Done; for `plan`, the plan was made (with --detailed-exitcode: nothing would change). */
  ok: 0,
  /** An error: Azure refused or failed, a resource did not converge. */
  error: 1,
  /** Bad usage, in every command: an unknown, missing or malformed flag (commander's own code too). */
  usage: 1,
  /** `plan --detailed-exitcode` only: Azure differs from the manifests. */
  changes: 2,
  /** A manifest (or a file given to a flag) is invalid. */
  invalid: 3,
  /** An IdentityPolicy refuses part of the manifests; nothing refused was written. */
  refused: 4,
  /** `preflight`: azid's credential lacks permissions the manifests need. */
  missingPermissions: 5,
  /** Azure refused azid's credential (wrong tenant after a move, bad secret). */
  credential: 6,
  /** A confirmation was not given: `remediate` without a terminal and --yes, or declined at a prompt. */
  notConfirmed: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (plan: planned; with --detailed-exitcode, no change)
  1  error (Azure failed or refused, a resource did not converge) or bad usage (an unknown,
     missing or malformed flag)
  2  plan --detailed-exitcode: changes pending
  3  invalid manifests or input files
  4  refused by an IdentityPolicy (nothing refused was written)
  5  preflight: permissions missing
  6  azid's Azure credential was refused (e.g. from the old tenant after a move)
  7  not confirmed: remediate without a terminal and without --yes, or declined at the prompt
     of remediate or apply`;

/**
 * The exit code of every error code (src/util/errors.ts): the CLI maps codes, never messages.
 * A code added to the registry without a row here does not compile.
 */
export const EXIT_FOR_ERROR: Record<ErrorCode, ExitCode> = {
  "api.InvalidArmId": EXIT.invalid,
  "api.NonStructuralSchema": EXIT.error,
  "plan.NoFixpoint": EXIT.error,
  "plan.IncompleteActionResult": EXIT.error,
  "azure.Failed": EXIT.error,
  "azure.Throttled": EXIT.error,
  "azure.Transient": EXIT.error,
  "azure.OperationInProgress": EXIT.error,
  "azure.NotFound": EXIT.error,
  "azure.PermissionDenied": EXIT.error,
  "azure.PolicyDenied": EXIT.error,
  "azure.CredentialTenantMismatch": EXIT.credential,
  "azure.AuthenticationFailed": EXIT.credential,
  "azure.PrincipalNotFound": EXIT.error,
  "azure.RoleAssignmentExists": EXIT.error,
  "azure.Conflict": EXIT.error,
  "azure.InvalidRequest": EXIT.error,
  "azure.InvalidCredentialsFile": EXIT.invalid,
  "kube.ApiError": EXIT.error,
  "kube.InvalidConfig": EXIT.error,
  "kube.InvalidKey": EXIT.error,
  "kube.ObjectBeingDeleted": EXIT.error,
  "kube.WatchClosed": EXIT.error,
  "kube.LeadershipLost": EXIT.error,
  "queue.InvalidOption": EXIT.usage,
  "queue.InvalidKey": EXIT.error,
  "queue.InvalidRedisUrl": EXIT.usage,
  "queue.RedisUnavailable": EXIT.error,
  "queue.BucketRequestTooLarge": EXIT.error,
  "queue.KeyBusy": EXIT.error,
  "queue.QueueClosed": EXIT.error,
  "queue.LockBusy": EXIT.error,
  "queue.LockLost": EXIT.error,
  "config.InvalidConfiguration": EXIT.usage,
  "config.InvalidDuration": EXIT.usage,
  "config.InvalidSandboxFile": EXIT.invalid,
  "controller.DuplicateController": EXIT.error,
  "controller.AlreadyStarted": EXIT.error,
  "controller.StoppedWhileStarting": EXIT.error,
  "controller.Stopping": EXIT.error,
  "controller.CacheSyncTimeout": EXIT.error,
  "controller.NotCached": EXIT.error,
  "controller.DuplicateIndex": EXIT.error,
  "controller.InvalidAddress": EXIT.usage,
  "controller.Unhealthy": EXIT.error,
  "cli.Failed": EXIT.error,
  "cli.Usage": EXIT.usage,
  "cli.InvalidInput": EXIT.invalid,
  "cli.Refused": EXIT.refused,
  "cli.MissingPermissions": EXIT.missingPermissions,
  "cli.CredentialRefused": EXIT.credential,
  "cli.NotConfirmed": EXIT.notConfirmed,
  "cli.DemoKubeApi": EXIT.error,
};

/** The exit code of any error: its code's, or 1 for an error azid did not raise on purpose. */
export function exitCodeFor(error: unknown): ExitCode {
  const code = errorCodeOf(error);
  return code ? EXIT_FOR_ERROR[code] : EXIT.error;
}

export type CliErrorCode = CodesOf<"cli">;

/** An error the CLI reports as one message and the exit code of its code (no stack trace). */
export class CliError extends AzidError {
  override readonly name = "CliError";
  readonly errorCode: ErrorCode;
  constructor(
    message: string,
    readonly code: CliErrorCode = "Failed",
  ) {
    super(message);
    this.errorCode = `cli.${code}`;
  }

  get exitCode(): ExitCode {
    return EXIT_FOR_ERROR[this.errorCode];
  }
}
