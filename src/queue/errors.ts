import { AzidError, type CodesOf, type ErrorCode } from "../util/errors.js";

/** Why the queue refused an input or could not do its job (the codes in src/util/errors.ts). */
export type QueueErrorCode = CodesOf<"queue">;

export class QueueError extends AzidError {
  override readonly name = "QueueError";
  readonly errorCode: ErrorCode;
  constructor(
    /** Stable for callers and tests; `errorCode` is the same with the layer, "queue.<code>". */
    readonly code: QueueErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.errorCode = `queue.${code}`;
  }
}
