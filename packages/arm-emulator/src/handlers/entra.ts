// The sandbox's Microsoft Entra token endpoint, as MSAL (behind @azure/identity) uses it:
// OpenID metadata, signing keys, and client-credentials tokens by secret or federated assertion.
import type { Ctx, Handler, Reply } from "../context.js";
import { OAuthError } from "../errors.js";
import { guidFrom, isGuid, key } from "../ids.js";
import { decodeJwt } from "../jwt.js";
import type { Router } from "../router.js";
import type { DirectoryObject, Tenant } from "../store.js";

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TOKEN_LIFETIME_SECONDS = 3599;
const ADFS = "adfs";

function metadata(ctx: Ctx, v2: boolean): Reply {
  const tenant = ctx.params.tenant!;
  const base = ctx.em.baseUrl;
  const issuerTenant = isGuid(tenant) ? tenant : "{tenantid}";
  const version = v2 ? "/v2.0" : "";
  return {
    status: 200,
    body: {
      token_endpoint: `${base}/${tenant}/oauth2${version}/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${base}/${tenant}/discovery${version}/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: `${base}/${issuerTenant}${version}`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/${tenant}/oauth2${version}/authorize`,
      device_authorization_endpoint: `${base}/${tenant}/oauth2${version}/devicecode`,
      end_session_endpoint: `${base}/${tenant}/oauth2${version}/logout`,
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
      tenant_region_scope: "NA",
      cloud_instance_name: "azid.sandbox",
    },
  };
}

const keys: Handler = (ctx) => ({ status: 200, body: ctx.em.signer.jwks() });

function form(ctx: Ctx): URLSearchParams {
  return ctx.body instanceof URLSearchParams ? ctx.body : new URLSearchParams();
}

/** The tenant an authority names. `adfs` (an ADFS-style authority, `<base>/adfs`, which MSAL uses
 *  without instance discovery) is single-tenant: the tenant that holds the first subscription now. */
function requireTenant(ctx: Ctx): Tenant {
  const id = ctx.params.tenant!;
  const tenant =
    id.toLowerCase() === ADFS ? adfsTenant(ctx) : isGuid(id) ? ctx.em.store.tenant(id) : undefined;
  if (!tenant)
    throw new OAuthError(
      400,
      "invalid_request",
      90002,
      `Tenant '${id}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  return tenant;
}

function adfsTenant(ctx: Ctx): Tenant | undefined {
  const first = ctx.em.store.subscriptions.values().next().value;
  return first ? ctx.em.store.tenant(first.tenantId) : ctx.em.store.tenants.values().next().value;
}

function audienceOf(scope: string | null): string {
  const scopes = (scope ?? "").split(" ").filter(Boolean);
  if (scopes.length !== 1 || !scopes[0]!.endsWith("/.default"))
    throw new OAuthError(
      400,
      "invalid_scope",
      1002012,
      `The provided value for scope '${scope ?? ""}' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  return scopes[0]!.slice(0, -"/.default".length);
}

/** Finds the client by secret: a registered app must present its secret; an unknown app is registered on the fly. */
function bySecret(ctx: Ctx, tenant: Tenant, clientId: string, secret: string): DirectoryObject {
  const sp = tenant.byAppId.get(key(clientId));
  if (!sp) {
    if (!isGuid(clientId))
      throw new OAuthError(
        400,
        "unauthorized_client",
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant.id}'.`,
      );
    return ctx.em.addPrincipal(tenant.id, guidFrom(`app:${key(tenant.id)}:${key(clientId)}`), {
      kind: "ServicePrincipal",
      appId: clientId,
      displayName: `sandbox-app-${clientId.slice(0, 8)}`,
    });
  }
  if (
    sp.servicePrincipalType === "ManagedIdentity" ||
    (sp.clientSecret !== undefined && sp.clientSecret !== secret)
  )
    throw new OAuthError(
      401,
      "invalid_client",
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    );
  return sp;
}

/** Workload identity federation: the assertion's issuer, subject and audience must match a federated credential. */
function byAssertion(ctx: Ctx, tenant: Tenant, clientId: string, assertion: string): DirectoryObject {
  const claims = decodeJwt(assertion);
  if (!claims) throw new OAuthError(400, "invalid_client", 50027, "JWT token is invalid or malformed.");
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === "number" && claims.exp < now)
    throw new OAuthError(
      400,
      "invalid_client",
      700024,
      "Client assertion is not within its valid time range.",
    );
  const sp = tenant.byAppId.get(key(clientId));
  if (sp?.servicePrincipalType !== "ManagedIdentity")
    throw new OAuthError(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant.id}'.`,
    );
  const identity = ctx.em.store.identities.get(key(sp.alternativeNames?.[1] ?? ""));
  const audiences = Array.isArray(claims.aud) ? claims.aud.map(String) : [String(claims.aud ?? "")];
  const match = identity?.fics.find(
    (f) => f.issuer === claims.iss && f.subject === claims.sub && audiences.includes(f.audiences[0] ?? ""),
  );
  if (!match)
    throw new OAuthError(
      400,
      "invalid_client",
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(claims.iss)}'. Assertion Subject: '${String(claims.sub)}'. Assertion Audience: '${audiences.join(",")}'.`,
    );
  return sp;
}

const token: Handler = (ctx) => {
  const tenant = requireTenant(ctx);
  const params = form(ctx);
  if (params.get("grant_type") !== "client_credentials")
    throw new OAuthError(
      400,
      "unsupported_grant_type",
      70003,
      `The app requested an unsupported grant type '${params.get("grant_type") ?? ""}'.`,
    );
  const clientId = params.get("client_id");
  if (!clientId)
    throw new OAuthError(
      400,
      "invalid_request",
      900144,
      "The request body must contain the following parameter: 'client_id'.",
    );
  const audience = audienceOf(params.get("scope"));
  const secret = params.get("client_secret");
  const assertion = params.get("client_assertion");
  let principal: DirectoryObject;
  if (secret !== null) principal = bySecret(ctx, tenant, clientId, secret);
  else if (assertion !== null && params.get("client_assertion_type") === ASSERTION_TYPE)
    principal = byAssertion(ctx, tenant, clientId, assertion);
  else
    throw new OAuthError(
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  const issued = ctx.em.issueToken({
    tenantId: tenant.id,
    oid: principal.id,
    appId: clientId,
    audience,
    lifetimeSeconds: TOKEN_LIFETIME_SECONDS + 1,
  });
  return {
    status: 200,
    body: {
      token_type: "Bearer",
      expires_in: TOKEN_LIFETIME_SECONDS,
      ext_expires_in: TOKEN_LIFETIME_SECONDS,
      access_token: issued.token,
    },
  };
};

export function registerEntra(router: Router<Handler>): void {
  router
    .add("GET", "/{tenant}/v2.0/.well-known/openid-configuration", (ctx) => metadata(ctx, true))
    .add("GET", "/{tenant}/.well-known/openid-configuration", (ctx) => metadata(ctx, false))
    .add("GET", "/{tenant}/discovery/v2.0/keys", keys)
    .add("GET", "/{tenant}/discovery/keys", keys)
    .add("POST", "/{tenant}/oauth2/v2.0/token", token)
    .add("POST", "/{tenant}/oauth2/token", token);
}
