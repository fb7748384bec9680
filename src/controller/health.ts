import { ControllerError } from "./errors.js";

/** One named check of /healthz or /readyz. */
export interface HealthCheck {
  name: string;
  /** Throws (or rejects) with the reason when unhealthy. */
  run(): unknown | Promise<unknown>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  reason?: string;
}

export interface HealthReport {
  ok: boolean;
  checks: CheckResult[];
}

/** Runs the checks at once, each cut off after `timeoutMs` (a hung dependency is an unhealthy one). */
export async function runChecks(checks: readonly HealthCheck[], timeoutMs: number): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async (check): Promise<CheckResult> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => check.run()),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new ControllerError("Unhealthy", `no answer within ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
        return { name: check.name, ok: true };
      } catch (error) {
        return {
          name: check.name,
          ok: false,
          reason: error instanceof Error ? error.message : String(error),
        };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ok: results.every((result) => result.ok), checks: results };
}

/** The API server's own verbose format: `[+]name ok` / `[-]name failed: reason`, then a verdict. */
export function formatReport(endpoint: string, report: HealthReport): string {
  const lines = report.checks.map((check) =>
    check.ok ? `[+]${check.name} ok` : `[-]${check.name} failed: ${check.reason ?? "unknown"}`,
  );
  lines.push(`${endpoint} check ${report.ok ? "passed" : "failed"}`);
  return `${lines.join("\n")}\n`;
}

/** A check that fails with `reason` when `healthy` says no. */
export function checkThat(
  name: string,
  healthy: () => boolean | Promise<boolean>,
  reason: () => string,
): HealthCheck {
  return {
    name,
    run: async () => {
      if (!(await healthy())) throw new ControllerError("Unhealthy", reason());
    },
  };
}
