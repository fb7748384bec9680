// The Azure SDK's own log (requests, retries, token acquisition) routed into azid's pino logger
// at debug, scrubbed like every other line. The SDK already replaces Authorization headers and
// unknown query parameters with REDACTED; scrubSecrets catches tokens that slip into messages.
import { format } from "node:util";
import { AzureLogger, type AzureLogLevel, setLogLevel } from "@azure/logger";
import { type Logger, scrubSecrets } from "../observability/logger.js";

/** From `debug` azid logs the SDK's info lines, from `trace` its verbose ones; otherwise none. */
export function routeSdkLogs(logger: Logger): void {
  const level: AzureLogLevel | undefined = logger.isLevelEnabled("trace")
    ? "verbose"
    : logger.isLevelEnabled("debug")
      ? "info"
      : undefined;
  if (!level) return;
  setLogLevel(level);
  AzureLogger.log = (...args: unknown[]) => {
    logger.debug({ source: "azure-sdk" }, scrubSecrets(format(...args)));
  };
}
