import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { PACKAGE_ROOT } from "../util/paths.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";
import { checkRequiredFlags } from "./flags.js";

const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as {
  version: string;
};

/**
 * Each command's module, loaded only when that command runs (the Azure SDK and the schema
 * compiler take a moment to load, and `azid validate` needs neither the SDK nor the sandbox).
 */
const COMMANDS: Record<string, () => Promise<{ register(program: Command): void }>> = {
  validate: async () => ({ register: (await import("./commands/validate.js")).registerValidateCommand }),
  plan: async () => ({ register: (await import("./commands/plan.js")).registerPlanCommand }),
  apply: async () => ({ register: (await import("./commands/apply.js")).registerApplyCommand }),
  remediate: async () => ({ register: (await import("./commands/remediate.js")).registerRemediateCommand }),
  export: async () => ({ register: (await import("./commands/export.js")).registerExportCommand }),
  preflight: async () => ({ register: (await import("./commands/preflight.js")).registerPreflightCommand }),
  sandbox: async () => ({ register: (await import("./commands/sandbox.js")).registerSandboxCommand }),
  demo: async () => ({ register: (await import("./commands/demo.js")).registerDemoCommand }),
  controller: async () => ({
    register: (await import("./commands/controller.js")).registerControllerCommand,
  }),
};

const program = new Command()
  .name("azid")
  .description(
    "keeps Azure managed identities, their attachments and role grants as declared, " +
      "and repairs them after a subscription moves to another Microsoft Entra tenant",
  )
  .version(version, "--version", "print azid's version")
  .showHelpAfterError()
  .hook("preAction", (_program, command) => checkRequiredFlags(command))
  .addHelpText("after", EXIT_CODES_HELP);

const first = process.argv[2];
const named = first ? COMMANDS[first] : undefined;
const versionOnly = first === "--version";
for (const load of named ? [named] : versionOnly ? [] : Object.values(COMMANDS))
  (await load()).register(program);

await program.parseAsync(process.argv);
