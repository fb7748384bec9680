import { readFileSync, writeFileSync } from "node:fs";
import type { RequestRecord } from "@azid/arm-emulator";
// The lines a benchmark prints: `name: value`, figures (the names issue 9 fixes) and the notes that
// explain them. One format, so that `npm run bench` can collect them from every benchmark.

/** A figure of issue 9, e.g. `remediation_vs_floor: 1.07`. */
export function figure(name: string, value: number, digits = 2): void {
  console.log(`${name}: ${Number.isFinite(value) ? value.toFixed(digits) : String(value)}`);
}

/** A supporting measurement, printed the same way (numbers with up to 3 decimals). */
export function note(name: string, value: number | string): void {
  const text = typeof value === "number" ? String(Math.round(value * 1000) / 1000) : value;
  console.log(`${name}: ${text}`);
}

/** ARM calls as tab-separated lines (ms since `start`, class, status, method, operation), to study a run. */
export function writeCallLog(file: string, calls: readonly RequestRecord[], start: number): void {
  writeFileSync(
    file,
    calls
      .map((c) =>
        [c.at - start, c.klass, c.status, c.method, c.path.split("/").slice(-3).join("/")].join("\t"),
      )
      .join("\n"),
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
