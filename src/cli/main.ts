import { Command } from "commander";
import { registerControllerCommand } from "./commands/controller.js";
import { registerSandboxCommand } from "./commands/sandbox.js";

const program = new Command()
  .name("azid")
  .description(
    "keeps Azure managed identities, their attachments and role grants as declared, " +
      "and repairs them after a subscription moves to another Microsoft Entra tenant",
  )
  .showHelpAfterError();

registerControllerCommand(program);
registerSandboxCommand(program);

await program.parseAsync(process.argv);
