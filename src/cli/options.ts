import { InvalidArgumentError } from "commander";

export function parseNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new InvalidArgumentError(`not a non-negative number: ${value}`);
  return parsed;
}
