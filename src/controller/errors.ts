/** What went wrong in the controller's host, as a stable code for logs and tests. */
export type ControllerErrorCode =
  | "DuplicateController"
  | "AlreadyStarted"
  | "StoppedWhileStarting"
  | "CacheSyncTimeout"
  | "NotCached"
  | "DuplicateIndex"
  | "InvalidAddress";

/** A failure of the controller's host (starting, caches, serving) that an operator can meet. */
export class ControllerError extends Error {
  override readonly name = "ControllerError";
  constructor(
    readonly code: ControllerErrorCode,
    message: string,
  ) {
    super(message);
  }
}
