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

/** An error the CLI reports as one message and an exit code (no stack trace). */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message);
  }
}
