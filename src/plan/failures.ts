// From an Azure error code to the condition reason that explains it.
import { Reason } from "../api/conditions.js";
import type { ActionFailure } from "./observed.js";

const REASONS: Record<string, Reason> = {
  RequestDisallowedByPolicy: Reason.AzurePolicyDenied,
  AuthorizationFailed: Reason.MissingPermission,
  LinkedAuthorizationFailed: Reason.MissingPermission,
  Authorization_RequestDenied: Reason.MissingPermission,
  InvalidAuthenticationTokenTenant: Reason.CredentialTenantMismatch,
  PrincipalNotFound: Reason.PrincipalNotFound,
  RoleAssignmentLimitExceeded: Reason.RoleAssignmentLimitExceeded,
  TooManyRequests: Reason.Throttled,
  ResourceGroupNotFound: Reason.ResourceGroupNotFound,
  RoleDefinitionDoesNotExist: Reason.RoleNotFound,
};

export function reasonForFailure(failure: ActionFailure): Reason {
  return REASONS[failure.code] ?? Reason.AzureError;
}

export function describeFailure(failure: ActionFailure): string {
  return `${failure.code}: ${failure.message}`;
}
