/** Why the queue refused an input or could not do its job; `code` is stable for callers and tests. */
export type QueueErrorCode =
  | "InvalidOption"
  | "InvalidKey"
  | "InvalidRedisUrl"
  | "RedisUnavailable"
  | "BucketRequestTooLarge"
  | "KeyBusy"
  | "QueueClosed"
  | "LockBusy";

export class QueueError extends Error {
  override readonly name = "QueueError";
  constructor(
    readonly code: QueueErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
