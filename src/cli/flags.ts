// The flags several commands share, declared once so that they read the same everywhere.
import { type Command, InvalidArgumentError, Option } from "commander";
import type { AzureFlags } from "./azure-session.js";

export type OutputFormat = "text" | "json";

export interface OutputFlags {
  output: OutputFormat;
  logLevel: string;
}

export interface ManifestFlags {
  filename: string[];
}

export interface PolicyFlags {
  policy: string[];
  namespaceLabels?: string;
  serviceAccountIssuer?: string;
  kubeconfig?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`not a positive integer: ${value}`);
  return parsed;
}

/**
 * Options a command cannot run without. Commander checks its own mandatory options before it
 * looks for unknown ones, so a mistyped flag was reported as a missing `-f`; these are checked
 * after (`checkRequiredFlags`, from the program's preAction hook), with commander's message.
 */
const requiredFlags = new WeakMap<Command, Option[]>();

export function withRequiredFlag(
  command: Command,
  flags: string,
  description: string,
  parse?: (value: string, previous: string[]) => string[],
): Command {
  const option = new Option(flags, `${description} (required)`);
  if (parse) option.argParser(parse);
  requiredFlags.set(command, [...(requiredFlags.get(command) ?? []), option]);
  return command.addOption(option);
}

export function checkRequiredFlags(command: Command): void {
  for (const option of requiredFlags.get(command) ?? []) {
    if (command.getOptionValue(option.attributeName()) === undefined) {
      command.error(`error: required option '${option.flags}' not specified`, {
        code: "commander.missingMandatoryOptionValue",
      });
    }
  }
}

export function withManifestFlags(command: Command, what = "manifests"): Command {
  return withRequiredFlag(
    command,
    "-f, --filename <path>",
    `${what}: a YAML/JSON file or a folder (read recursively); repeatable`,
    collect,
  );
}

export function withPolicyFlags(command: Command): Command {
  return command
    .option(
      "--policy <path>",
      "IdentityPolicy manifests to enforce (file or folder), on top of those in -f; repeatable",
      collect,
      [],
    )
    .option(
      "--namespace-labels <k=v,...>",
      "labels of the namespaces that have no Namespace manifest in -f, for the policies' namespaceSelector",
    )
    .option(
      "--service-account-issuer <url>",
      "the cluster's service-account issuer: the issuer of the serviceAccounts' federated credentials, " +
        "and the one the policies trust by default",
    )
    .option(
      "--kubeconfig <file>",
      "the cluster: without --service-account-issuer, its issuer is discovered from its " +
        "/.well-known/openid-configuration; apply and remediate also wire it (the ServiceAccount annotations, " +
        "the exports, a restart of the workloads after a client id change; without it: printed)",
    );
}

export function withAzureFlags(command: Command): Command {
  return command
    .option(
      "--sandbox <file>",
      "the sandbox file `azid sandbox` printed: endpoints, CA, credential and time scale of the emulators",
    )
    .option("--arm-endpoint <url>", "Azure Resource Manager endpoint (default https://management.azure.com)")
    .option("--graph-endpoint <url>", "Microsoft Graph endpoint (default https://graph.microsoft.com)")
    .option("--authority-host <url>", "Microsoft Entra authority for tokens")
    .option("--ca-file <path>", "extra CA certificates (PEM) to trust for the endpoints above")
    .option(
      "--credentials-file <path>",
      "per-subscription credentials (YAML: default / subscriptions.<id>: tenantId, clientId, " +
        "clientSecretFile | federatedTokenFile); DefaultAzureCredential otherwise",
    );
}

export function withOutputFlags(command: Command): Command {
  return command
    .addOption(
      new Option("--output <format>", "result format on stdout").choices(["text", "json"]).default("text"),
    )
    .addOption(
      new Option("--log-level <level>", "JSON logs on stderr from this level")
        .choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
        .default(process.env.AZID_LOG_LEVEL ?? "warn"),
    );
}

export function azureFlagsOf(options: AzureFlags): AzureFlags {
  const { sandbox, armEndpoint, graphEndpoint, authorityHost, caFile, credentialsFile } = options;
  return { sandbox, armEndpoint, graphEndpoint, authorityHost, caFile, credentialsFile };
}

export function withStateFlag(command: Command): Command {
  return command.option(
    "--state <file>",
    "keep each resource's status in this JSON file between runs: what azid created and owns " +
      "(credentials, attachments, grants, Graph app roles) and the tenant it saw; without it only " +
      "deterministic-name ownership is known",
  );
}
