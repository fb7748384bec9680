// Asking a person before a run that deletes things. Only a terminal can answer; a pipeline says
// --yes, and without it nothing is done.
import { createInterface } from "node:readline/promises";
import { CliError } from "./exit-codes.js";

export async function confirm(question: string, options: { yes: boolean }): Promise<void> {
  if (options.yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError(
      "no terminal to confirm on: nothing was done; pass --yes to apply the plan",
      "NotConfirmed",
    );
  }
  const reader = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await reader.question(`${question} Type "yes" to go on: `)).trim().toLowerCase();
    if (answer !== "yes") throw new CliError("not confirmed: nothing was done", "NotConfirmed");
  } finally {
    reader.close();
  }
}
