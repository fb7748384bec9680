import { AzidError, type CodesOf, type ErrorCode } from "../util/errors.js";

/** What went wrong in the controller's host (the codes in src/util/errors.ts). */
export type ControllerErrorCode = CodesOf<"controller">;

/** A failure of the controller's host (starting, caches, serving) that an operator can meet. */
export class ControllerError extends AzidError {
  override readonly name = "ControllerError";
  readonly errorCode: ErrorCode;
  constructor(
    readonly code: ControllerErrorCode,
    message: string,
  ) {
    super(message);
    this.errorCode = `controller.${code}`;
  }
}
