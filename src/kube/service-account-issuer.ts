// The cluster's service-account issuer, resolved once at start: the configured one (flag, env,
// chart value), else the `issuer` of the API server's discovery document. A failure is
// returned as the problem identities report (IssuerUnknown), never thrown: identities that do
// not need the issuer go on.
import type { ClusterIssuer } from "../api/workload-identity.js";
import type { KubeClient } from "./client.js";

const DISCOVERY_TIMEOUT_MS = 10_000;
const NO_ANSWER = Symbol("no answer");
const HTTPS_URL = /^https:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/;

export async function resolveClusterIssuer(
  configured: string | undefined,
  client: Pick<KubeClient, "serviceAccountIssuerDiscovery"> | undefined,
): Promise<ClusterIssuer> {
  if (configured) return { url: configured, source: "configuration" };
  if (!client) {
    return { problem: "no service-account issuer is configured and there is no cluster to discover it from" };
  }
  let document: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    // An API server that does not answer must not hold the controller's start.
    const timeout = new Promise<typeof NO_ANSWER>((resolve) => {
      timer = setTimeout(() => resolve(NO_ANSWER), DISCOVERY_TIMEOUT_MS);
    });
    document = await Promise.race([client.serviceAccountIssuerDiscovery(), timeout]);
    if (document === NO_ANSWER) {
      return {
        problem: `the API server's service-account issuer discovery (GET /.well-known/openid-configuration) gave no answer in ${DISCOVERY_TIMEOUT_MS / 1000} s`,
      };
    }
  } catch (error) {
    return {
      problem: `the API server's service-account issuer discovery (GET /.well-known/openid-configuration) failed: ${(error as Error).message}`,
    };
  } finally {
    clearTimeout(timer);
  }
  const issuer = (document as { issuer?: unknown } | null)?.issuer;
  if (typeof issuer !== "string" || !HTTPS_URL.test(issuer)) {
    return {
      problem: `the API server's /.well-known/openid-configuration names no https issuer (issuer: ${JSON.stringify(issuer)})`,
    };
  }
  return { url: issuer, source: "discovery" };
}

/** Checks a configured issuer as Azure will: an https URL. Returns the problem, if any. */
export function issuerProblem(url: string): string | undefined {
  return HTTPS_URL.test(url) ? undefined : `${url} is not an https URL`;
}
