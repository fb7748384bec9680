// How every command runs: a pino logger on stderr (JSON, secrets redacted), results on stdout,
// one clear message for an error, and the documented exit code.
import { pino } from "pino";
import { AuthenticationError, CredentialTenantError } from "../azure/errors.js";
import { createLogger, type Logger, scrubSecrets } from "../observability/logger.js";
import { CliError, type ExitCode, exitCodeFor } from "./exit-codes.js";
import type { OutputFlags, OutputFormat } from "./flags.js";

export interface CommandContext {
  logger: Logger;
  output: OutputFormat;
  /** Writes a result line (or block) to stdout. */
  print(text: string): void;
  /** Writes the result as one JSON document to stdout. */
  printJson(value: unknown): void;
  /** A message for people on stderr (plans, warnings, prompts), whatever the output format. */
  say(text: string): void;
}

export function commandContext(flags: OutputFlags): CommandContext {
  const logger = createLogger({ level: flags.logLevel }, pino.destination({ dest: 2, sync: true }));
  return {
    logger,
    output: flags.output,
    print: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    printJson: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    say: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  };
}

/** Wraps a command's body: runs it, reports a failure plainly, and exits with its code. */
export function runAction<Flags extends OutputFlags>(
  body: (flags: Flags, context: CommandContext) => Promise<ExitCode>,
): (flags: Flags) => Promise<void> {
  return async (flags) => {
    const context = commandContext(flags);
    let code: ExitCode;
    try {
      code = await body(flags, context);
    } catch (error) {
      code = report(error, context);
    }
    await drain(process.stdout);
    process.exit(code);
  };
}

function report(error: unknown, context: CommandContext): ExitCode {
  const { message, code } = explain(error);
  context.say(`azid: ${message}`);
  if (!(error instanceof CliError)) context.logger.debug({ err: error }, "command failed");
  if (context.output === "json") context.printJson({ ok: false, exitCode: code, error: message });
  return code;
}

function explain(error: unknown): { message: string; code: ExitCode } {
  const code = exitCodeFor(error);
  if (error instanceof CredentialTenantError || error instanceof AuthenticationError) {
    return { message: credentialMessage(error), code };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: scrubSecrets(message), code };
}

/**
 * What to do when ARM refuses azid's token. After a tenant move ARM names the subscription's
 * new tenant in its message; say so, and what to configure.
 */
export function credentialMessage(
  error: CredentialTenantError | AuthenticationError,
  subscriptionId?: string,
): string {
  const subscription = subscriptionId ? `subscription ${subscriptionId}` : "the subscription";
  if (error instanceof CredentialTenantError) {
    const tenant =
      /must match the tenant '[^']*?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i.exec(
        error.message,
      )?.[1];
    const where = tenant ? `tenant ${tenant}` : "its new tenant";
    return (
      `azid's credential comes from another tenant than the subscription's (ARM answered 401 ` +
      `InvalidAuthenticationTokenTenant): ${subscription} has moved to ${where}. Configure a ` +
      `credential in ${where} for it, e.g. --credentials-file with subscriptions.${subscriptionId ?? "<id>"}: { tenantId: ` +
      `${tenant ?? "<new tenant>"}, clientId, clientSecretFile | federatedTokenFile }, and run again`
    );
  }
  return `Azure refused azid's credential (${error.code}): ${error.message}`;
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writableNeedDrain) resolve();
    else stream.once("drain", () => resolve());
  });
}
