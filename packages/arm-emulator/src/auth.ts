// Who is calling: the bearer token's tenant (`tid`) and object id (`oid`), checked as ARM checks them.
import { type Caller, DEFAULT_CALLER_OID, type Emulator } from "./emulator.js";
import { ArmError, GraphError } from "./errors.js";
import { key } from "./ids.js";
import { decodeJwt } from "./jwt.js";

export const ARM_AUDIENCES = ["https://management.azure.com", "https://management.core.windows.net"];
export const GRAPH_AUDIENCES = ["https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"];

const trimSlash = (s: string) => s.replace(/\/+$/, "").toLowerCase();

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function challenge(em: Emulator, tenantId: string, description: string): Record<string, string> {
  return {
    "WWW-Authenticate": `Bearer authorization_uri="${em.baseUrl}/${tenantId}", error="invalid_token", error_description="${description}"`,
  };
}

type Verdict = { ok: true; caller: Caller } | { ok: false; code: string; message: string };

function verify(
  em: Emulator,
  header: string | undefined,
  audiences: string[],
  defaultTenant: string,
): Verdict {
  if (header === undefined)
    return {
      ok: false,
      code: "AuthenticationFailed",
      message: "Authentication failed. The 'Authorization' header is missing.",
    };
  const token = bearer(header);
  if (!token)
    return {
      ok: false,
      code: "AuthenticationFailedInvalidHeader",
      message: "Authentication failed. The 'Authorization' header is provided in an invalid format.",
    };
  if (!decodeJwt(token))
    return { ok: true, caller: { oid: DEFAULT_CALLER_OID, tid: defaultTenant, opaque: true } };
  const claims = em.signer.verify(token);
  if (!claims || typeof claims.tid !== "string" || typeof claims.oid !== "string")
    return { ok: false, code: "InvalidAuthenticationToken", message: "The access token is invalid." };
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === "number" && claims.exp < now)
    return {
      ok: false,
      code: "ExpiredAuthenticationToken",
      message: `The access token expiry UTC time '${new Date(claims.exp * 1000).toUTCString()}' is earlier than current UTC time '${new Date().toUTCString()}'.`,
    };
  const aud = trimSlash(String(claims.aud ?? ""));
  if (![...audiences, em.baseUrl].some((a) => trimSlash(a) === aud))
    return {
      ok: false,
      code: "InvalidAuthenticationToken",
      message: `The access token has been obtained for wrong audience or resource '${claims.aud}'. It should exactly match with one of the allowed audiences '${audiences.join("','")}'.`,
    };
  return {
    ok: true,
    caller: {
      oid: claims.oid,
      tid: claims.tid,
      appid: typeof claims.appid === "string" ? claims.appid : undefined,
      opaque: false,
    },
  };
}

/**
 * The ARM caller. `tenantId` is the subscription's current tenant when the path names one
 * (an opaque token acts in it; a JWT from another tenant gets 401 InvalidAuthenticationTokenTenant).
 */
export function armCaller(em: Emulator, header: string | undefined, tenantId: string): Caller {
  const verdict = verify(em, header, ARM_AUDIENCES, tenantId);
  if (!verdict.ok)
    throw new ArmError(401, verdict.code, verdict.message, {}, challenge(em, tenantId, verdict.message));
  return verdict.caller;
}

export function checkTenant(em: Emulator, caller: Caller, subscriptionTenant: string): void {
  if (caller.opaque || key(caller.tid) === key(subscriptionTenant)) return;
  const message =
    `The access token is from the wrong issuer '${em.baseUrl}/${caller.tid}/'. It must match the tenant ` +
    `'${em.baseUrl}/${subscriptionTenant}/' associated with this subscription. Please use the authority (URL) ` +
    `'${em.baseUrl}/${subscriptionTenant}' to get the token. Note, if the subscription is transferred to another ` +
    "tenant there is no impact to the services, but information about new tenant could take time to propagate " +
    "(up to an hour). If you just transferred your subscription and see this error message, please try back later.";
  throw new ArmError(
    401,
    "InvalidAuthenticationTokenTenant",
    message,
    {},
    challenge(em, subscriptionTenant, "The access token is from the wrong issuer."),
  );
}

export function graphCaller(em: Emulator, header: string | undefined, defaultTenant: string): Caller {
  const verdict = verify(em, header, GRAPH_AUDIENCES, defaultTenant);
  if (!verdict.ok) {
    const message = header === undefined ? "Access token is empty." : verdict.message;
    throw new GraphError(401, "InvalidAuthenticationToken", message);
  }
  return verdict.caller;
}
