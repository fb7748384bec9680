import { AzidError } from "../util/errors.js";

/** Go's time.ParseDuration units (the chart's values are Go durations, e.g. `10m`, `1h30m`, `90s`). */
const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;

export class DurationError extends AzidError {
  override readonly name = "DurationError";
  readonly errorCode = "config.InvalidDuration";
  readonly code = "InvalidDuration";
}

/** Milliseconds in a Go duration string; "0" is zero. Negative durations are refused. */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (value === "0") return 0;
  let total = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(value); match; match = PART.exec(value)) {
    total += Number(match[1]) * UNITS[match[2]!]!;
    consumed = PART.lastIndex;
  }
  if (value === "" || consumed !== value.length) {
    throw new DurationError(`not a duration: ${JSON.stringify(text)} (use e.g. 10m, 1h30m, 90s, 500ms)`);
  }
  return total;
}
