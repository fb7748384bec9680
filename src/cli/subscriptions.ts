// The first call of every online command: read each subscription the manifests touch. It gives
// each one's current tenant (what a tenant move changes) and finds a credential problem before
// anything else is attempted, with a message that says what to configure.
import { AuthenticationError, CredentialTenantError, NotFoundError } from "../azure/errors.js";
import type { Inventory } from "../azure/inventory.js";
import type { ObservedSubscription } from "../plan/observed.js";
import { CliError } from "./exit-codes.js";
import { credentialMessage } from "./run.js";

export async function readSubscriptions(
  inventory: Inventory,
  subscriptionIds: Iterable<string>,
): Promise<Map<string, ObservedSubscription>> {
  const found = new Map<string, ObservedSubscription>();
  for (const id of new Set([...subscriptionIds].map((s) => s.toLowerCase()))) {
    found.set(id, await readSubscription(inventory, id));
  }
  return found;
}

export async function readSubscription(
  inventory: Inventory,
  subscriptionId: string,
): Promise<ObservedSubscription> {
  try {
    return await inventory.subscription(subscriptionId);
  } catch (error) {
    if (error instanceof CredentialTenantError || error instanceof AuthenticationError) {
      throw new CliError(credentialMessage(error, subscriptionId), "CredentialRefused");
    }
    if (error instanceof NotFoundError) {
      throw new CliError(
        `subscription ${subscriptionId} does not exist or azid's credential cannot see it (${error.code})`,
      );
    }
    throw error;
  }
}
