// What admission is told about one write (apiserver/pkg/admission.Attributes): the operation,
// the object as it will be stored and the one it replaces, the resource, and who asks.
import type { JsonObject } from "../json.js";
import type { RequestScope, WriteOptions } from "../rest/scope.js";

/** CONNECT exists in rules; the emulator serves no connect subresource, so no request has it. */
export type AdmissionOperation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface AdmissionAttributes {
  operation: AdmissionOperation;
  /** The request's resource, version and subresource. */
  scope: RequestScope;
  /** The object's name (generated already for generateName). */
  name: string;
  /** The object's namespace, "" when cluster-scoped. */
  namespace: string;
  /** The object in stored form; absent for DELETE. */
  object?: JsonObject;
  /** The stored object it replaces; absent for CREATE. */
  oldObject?: JsonObject;
  /** The write options: dry run, the user, the request's *Options; warnings are added to them. */
  options: WriteOptions;
}

/** Validating admission: throws the ApiError that refuses the write, or adds warnings and returns. */
export interface ValidatingAdmission {
  validate(attributes: AdmissionAttributes): void;
}
