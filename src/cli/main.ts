import { Command } from "commander";
import { registerApplyCommand } from "./commands/apply.js";
import { registerExportCommand } from "./commands/export.js";
import { registerPlanCommand } from "./commands/plan.js";
import { registerPreflightCommand } from "./commands/preflight.js";
import { registerRemediateCommand } from "./commands/remediate.js";
import { registerSandboxCommand } from "./commands/sandbox.js";
import { registerValidateCommand } from "./commands/validate.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";

const program = new Command()
  .name("azid")
  .description(
    "keeps Azure managed identities, their attachments and role grants as declared, " +
      "and repairs them after a subscription moves to another Microsoft Entra tenant",
  )
  .showHelpAfterError()
  .addHelpText("after", EXIT_CODES_HELP);

registerValidateCommand(program);
registerPlanCommand(program);
registerApplyCommand(program);
registerRemediateCommand(program);
registerExportCommand(program);
registerPreflightCommand(program);
registerSandboxCommand(program);

await program.parseAsync(process.argv);
