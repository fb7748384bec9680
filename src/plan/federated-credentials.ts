// The federated identity credentials of a user-assigned identity: each desired one (declared,
// or kept for a ServiceAccount: workload-credentials.ts) put as desired, those azid made and no
// longer desired removed, never one azid does not own, and Azure's limits (one issuer and
// subject per identity, at most 20) reported before a write. Pure.
import { sameId } from "../api/arm-id.js";
import { Reason } from "../api/conditions.js";
import { MAX_FEDERATED_CREDENTIALS } from "../api/schemas/common.js";
import type {
  FederatedCredentialStatus,
  UserAssignedIdentity,
} from "../api/schemas/user-assigned-identity.js";
import * as build from "./build.js";
import { type ItemOutcome, pending } from "./conditions.js";
import type { ObservedFederatedCredential, ObservedIdentity } from "./observed.js";
import type { PlanFrame, WriteGate } from "./skeleton.js";
import type { DesiredCredential } from "./workload-credentials.js";

export type CredentialOutcome = FederatedCredentialStatus & ItemOutcome;

export function planFederatedCredentials(
  frame: PlanFrame<UserAssignedIdentity>,
  identity: ObservedIdentity | null | undefined,
  observeOnly: boolean,
  gate: WriteGate,
  declared: readonly DesiredCredential[],
): CredentialOutcome[] {
  const previous = frame.prev.federatedCredentials ?? [];
  const ownedBefore = (name: string) => previous.find((p) => sameId(p.name, name))?.owned ?? false;
  const existing = identity ? frame.obs.federatedCredentials(identity.id) : undefined;
  if (!identity || existing === undefined) {
    // Until the credentials are read, owned ones no longer declared are kept in status
    // (forgetting them would lose the right to remove them); a missing identity has none.
    const why =
      identity === undefined
        ? "reading the identity"
        : identity
          ? "reading federated credentials"
          : "waiting for the identity";
    const undeclared =
      identity === null
        ? []
        : previous.filter((p) => p.owned && !declared.some((d) => sameId(d.name, p.name)));
    return [
      ...declared.map((fic) => ({
        name: fic.name,
        owned: ownedBefore(fic.name),
        ...(fic.blocked ?? pending(why, identity ? Reason.Progressing : Reason.Waiting)),
      })),
      ...undeclared.map((p) => ({
        name: p.name,
        owned: true,
        state: "Removing" as const,
        reason: Reason.Progressing,
        message: why,
      })),
    ];
  }
  const scope: Scope = { frame, identityId: identity.id, observeOnly, gate };
  const outcomes: CredentialOutcome[] = [];
  const declaredNames = new Set(declared.map((fic) => fic.name.toLowerCase()));
  const removed = new Set<string>();
  for (const fic of existing) {
    if (declaredNames.has(fic.name.toLowerCase()) || !ownedBefore(fic.name)) continue;
    if (observeOnly) {
      outcomes.push({
        name: fic.name,
        owned: true,
        state: "Drifted",
        reason: Reason.Drifted,
        message: "no longer declared",
      });
      continue;
    }
    removed.add(fic.name.toLowerCase());
    const outcome = frame.writeItem(
      build.deleteFederatedCredential(frame.owner, identity.id, fic.name),
      gate,
      "no longer declared",
    );
    outcomes.push({
      name: fic.name,
      owned: true,
      ...outcome,
      ...(outcome.state === "Pending" ? { state: "Removing" as const } : {}),
    });
  }
  const others = existing.filter(
    (fic) => !declaredNames.has(fic.name.toLowerCase()) && !removed.has(fic.name.toLowerCase()),
  );
  for (const fic of declared) {
    const current = existing.find((candidate) => sameId(candidate.name, fic.name));
    const owned = current ? ownedBefore(fic.name) : !fic.blocked;
    const outcome =
      fic.blocked ?? declaredOutcome(scope, fic.name, fic.credential!, current, others, declared.length);
    outcomes.push({ name: fic.name, owned, ...outcome });
  }
  return outcomes;
}

/** What every credential of one plan is planned in. */
interface Scope {
  frame: PlanFrame<UserAssignedIdentity>;
  identityId: string;
  observeOnly: boolean;
  gate: WriteGate;
}

/** One declared credential: refused by Azure's limits, as declared, drifted, or put. */
function declaredOutcome(
  { frame, identityId, observeOnly, gate }: Scope,
  name: string,
  fic: NonNullable<DesiredCredential["credential"]>,
  current: ObservedFederatedCredential | undefined,
  others: readonly ObservedFederatedCredential[],
  declaredCount: number,
): ItemOutcome {
  const { audiences } = fic;
  const clash = others.find((other) => other.issuer === fic.issuer && other.subject === fic.subject);
  if (clash) {
    return {
      state: "Failed",
      reason: Reason.AzureError,
      message: `issuer and subject are already used by federated credential ${clash.name}, which azid does not manage`,
    };
  }
  if (!current && others.length + declaredCount > MAX_FEDERATED_CREDENTIALS) {
    return {
      state: "Failed",
      reason: Reason.AzureError,
      message: `an identity holds at most ${MAX_FEDERATED_CREDENTIALS} federated credentials; ${others.length} others exist`,
    };
  }
  const same =
    current &&
    current.issuer === fic.issuer &&
    current.subject === fic.subject &&
    current.audiences.length === audiences.length &&
    current.audiences.every((audience, i) => audience === audiences[i]);
  if (same) return { state: "Ready", reason: Reason.Reconciled };
  const drift = current ? "differs" : "missing";
  if (observeOnly) return { state: "Drifted", reason: Reason.Drifted, message: drift };
  const action = build.putFederatedCredential(frame.owner, identityId, {
    name,
    issuer: fic.issuer,
    subject: fic.subject,
    audiences,
  });
  return frame.writeItem(action, gate, drift);
}
