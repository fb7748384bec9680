import type { Informer } from "../kube/informer.js";
import { AZID_GROUP } from "../kube/resources.js";
import { ControllerError } from "./errors.js";

/**
 * The error of a cache sync that timed out, naming what is missing: an azid CRD the API server
 * does not serve (404 on its list) is the common cause, and the fix is to install the CRDs.
 */
export function cacheSyncTimeoutError(informers: readonly Informer[], timeoutMs: number): ControllerError {
  const unsynced = informers.filter((informer) => !informer.hasSynced());
  const missingCrds = unsynced
    .filter((informer) => informer.resource.group === AZID_GROUP && statusOf(informer.syncFailure()) === 404)
    .map((informer) => `${informer.resource.plural}.${informer.resource.group}`);
  const others = unsynced
    .filter((informer) => !missingCrds.includes(`${informer.resource.plural}.${informer.resource.group}`))
    .map((informer) => {
      const failure = informer.syncFailure();
      const why =
        failure === undefined
          ? "no answer yet"
          : failure instanceof Error
            ? failure.message
            : String(failure);
      return `${informer.resource.plural}${informer.resource.group ? `.${informer.resource.group}` : ""} (${why})`;
    });
  const parts = [`the caches did not sync within ${timeoutMs} ms`];
  if (missingCrds.length > 0) {
    parts.push(
      `the API server does not serve the CRDs ${missingCrds.join(", ")}: install them ` +
        "(helm install with crds.install=true, or kubectl apply -f crds/)",
    );
  }
  if (others.length > 0) {
    parts.push(`not listed yet: ${others.join(", ")}; is the API server reachable, and may azid list these?`);
  }
  return new ControllerError("CacheSyncTimeout", parts.join("; "));
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  return typeof code === "number" ? code : typeof statusCode === "number" ? statusCode : undefined;
}
