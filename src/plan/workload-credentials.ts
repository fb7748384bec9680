// The federated credentials an identity should hold: the explicit `spec.federatedCredentials[]`
// and one per `spec.serviceAccounts[]` entry (the cluster's issuer, the ServiceAccount's subject,
// Azure Workload Identity's audience), each with what stops it (a policy refusal, an unknown
// issuer, an issuer and subject declared twice). Pure: the issuer is an input.
import { Reason } from "../api/conditions.js";
import { DEFAULT_FEDERATED_AUDIENCE } from "../api/schemas/common.js";
import type { UserAssignedIdentity } from "../api/schemas/user-assigned-identity.js";
import {
  type ClusterIssuer,
  serviceAccountCredentialName,
  serviceAccountSubject,
  WORKLOAD_IDENTITY_AUDIENCE,
} from "../api/workload-identity.js";
import type { ItemOutcome } from "./conditions.js";
import { itemViolation, type PolicyDecision } from "./policy.js";

export interface DesiredCredential {
  name: string;
  /** Where it is declared: `spec.federatedCredentials[0]` or `spec.serviceAccounts[1]`. */
  field: string;
  /** What Azure should hold; absent when `blocked` (the issuer is unknown). */
  credential?: { issuer: string; subject: string; audiences: string[] };
  /** Why nothing is written for it (it is neither put nor removed). */
  blocked?: ItemOutcome;
}

export function desiredCredentials(
  resource: UserAssignedIdentity,
  issuer: ClusterIssuer | undefined,
  policy: PolicyDecision,
): DesiredCredential[] {
  const namespace = resource.metadata.namespace ?? "default";
  const desired: DesiredCredential[] = [];
  for (const [index, fic] of (resource.spec.federatedCredentials ?? []).entries()) {
    const refusal = itemViolation(policy, "federatedCredentials", index);
    desired.push({
      name: fic.name,
      field: `spec.federatedCredentials[${index}]`,
      credential: {
        issuer: fic.issuer,
        subject: fic.subject,
        audiences: fic.audiences ?? [DEFAULT_FEDERATED_AUDIENCE],
      },
      ...(refusal
        ? {
            blocked: {
              state: "Refused",
              reason: Reason.PolicyDenied,
              message: `${refusal.rule}: ${refusal.message}`,
            },
          }
        : {}),
    });
  }
  for (const [index, account] of (resource.spec.serviceAccounts ?? []).entries()) {
    const field = `spec.serviceAccounts[${index}]`;
    const name = serviceAccountCredentialName(account.name);
    if (issuer?.url === undefined) {
      const why = issuer?.problem ?? "the cluster's service-account issuer is not known yet";
      desired.push({
        name,
        field,
        blocked: {
          state: "Failed",
          reason: Reason.IssuerUnknown,
          message: `${why}; set the controller's --service-account-issuer (chart value serviceAccountIssuer)`,
        },
      });
      continue;
    }
    const subject = serviceAccountSubject(namespace, account.name);
    const twin = desired.find(
      (other) => other.credential?.issuer === issuer.url && other.credential.subject === subject,
    );
    desired.push({
      name,
      field,
      credential: { issuer: issuer.url, subject, audiences: [WORKLOAD_IDENTITY_AUDIENCE] },
      ...(twin
        ? {
            blocked: {
              state: "Failed",
              reason: Reason.InvalidSpec,
              message: `${twin.field} (${twin.name}) already trusts ${subject} from ${issuer.url}: remove it, azid keeps this one for the ServiceAccount`,
            },
          }
        : {}),
    });
  }
  return desired;
}
