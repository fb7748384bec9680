import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger };

/**
 * Paths whose values never reach a log line: credentials in headers, request options
 * and errors, at any depth pino can address. Values that slip through as free text are
 * caught by `scrubSecrets` where errors are logged.
 */
export const REDACTED_PATHS = [
  "authorization",
  "Authorization",
  "*.authorization",
  "*.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "*.*.headers.authorization",
  "*.*.headers.Authorization",
  "clientSecret",
  "*.clientSecret",
  "client_secret",
  "*.client_secret",
  "client_assertion",
  "*.client_assertion",
  "accessToken",
  "*.accessToken",
  "access_token",
  "*.access_token",
  "token",
  "*.token",
  "password",
  "*.password",
  "redisPassword",
  "*.redisPassword",
];

const BEARER = /\b(Bearer\s+)[A-Za-z0-9\-_.~+/=]+/gi;
const JWT = /\beyJ[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*/g;
const SECRET_PARAM = /\b(client_secret|client_assertion|access_token|password)=([^&\s"]+)/gi;

/** Removes bearer tokens, JWTs and secret form parameters from free text (error messages). */
export function scrubSecrets(text: string): string {
  return text
    .replace(BEARER, "$1[Redacted]")
    .replace(JWT, "[Redacted]")
    .replace(SECRET_PARAM, "$1=[Redacted]");
}

export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: pino.DestinationStream,
) {
  const config: LoggerOptions = {
    name: options.name ?? "azid",
    level: options.level ?? process.env.AZID_LOG_LEVEL ?? "info",
    redact: { paths: REDACTED_PATHS, censor: "[Redacted]" },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      err: (err: unknown) => {
        const serialized = pino.stdSerializers.err(err as Error);
        if (serialized?.message) serialized.message = scrubSecrets(serialized.message);
        if (serialized?.stack) serialized.stack = scrubSecrets(serialized.stack);
        return serialized;
      },
    },
  };
  return destination ? pino(config, destination) : pino(config);
}
