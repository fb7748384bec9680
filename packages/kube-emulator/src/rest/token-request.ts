// serviceaccounts/{name}/token (TokenRequest, authentication.k8s.io/v1): a JWT for the service
// account, signed by the server's issuer, as kube-apiserver's token REST issues it.
import type { BoundObjectRef, ServiceAccountIssuer } from "../auth/service-account-issuer.js";
import { badRequest, type FieldError, fieldErrors, invalid, notFound } from "../errors.js";
import { isObject, type JsonObject, type JsonValue } from "../json.js";
import { metaOf, objectKey } from "../objects.js";
import type { RequestScope } from "./scope.js";
import type { GenericStore } from "./store.js";

const TOKEN_REQUEST = { group: "authentication.k8s.io", kind: "TokenRequest" };
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
/** The kinds a token can be bound to, and where they are stored. */
const BINDABLE: Record<string, { store: string; resource: string; group: string }> = {
  Pod: { store: "/pods", resource: "pods", group: "" },
  Secret: { store: "/secrets", resource: "secrets", group: "" },
  Node: { store: "/nodes", resource: "nodes", group: "" },
};

/** Answers POST .../serviceaccounts/{name}/token with a TokenRequest carrying the token. */
export function createToken(
  store: GenericStore,
  scope: RequestScope,
  issuer: ServiceAccountIssuer,
  name: string,
  request: JsonValue,
): JsonObject {
  if (!isObject(request)) throw badRequest("the TokenRequest must be a JSON object");
  const spec = isObject(request.spec) ? request.spec : {};
  const errors: FieldError[] = [];
  const audiences =
    spec.audiences === undefined || (Array.isArray(spec.audiences) && spec.audiences.length === 0)
      ? [issuer.issuer]
      : spec.audiences;
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== "string" || a === ""))
    errors.push(fieldErrors.invalid("spec.audiences", spec.audiences, "must be a list of non-empty strings"));
  const expiration = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (typeof expiration !== "number" || !Number.isInteger(expiration))
    errors.push(fieldErrors.invalid("spec.expirationSeconds", expiration, "must be an integer"));
  else if (expiration < MIN_EXPIRATION_SECONDS)
    errors.push(
      fieldErrors.invalid(
        "spec.expirationSeconds",
        expiration,
        "may not specify a duration less than 10 minutes",
      ),
    );
  else if (expiration > MAX_EXPIRATION_SECONDS)
    errors.push(
      fieldErrors.invalid(
        "spec.expirationSeconds",
        expiration,
        "may not specify a duration larger than 2^32 seconds",
      ),
    );
  const ref = isObject(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
  if (ref && !(typeof ref.kind === "string" && ref.kind in BINDABLE))
    errors.push(fieldErrors.notSupported("spec.boundObjectRef.kind", ref.kind, Object.keys(BINDABLE)));
  if (errors.length > 0) throw invalid(TOKEN_REQUEST, name, errors);

  const account = store.live(scope, name);
  const bound = ref ? boundObject(scope, ref) : undefined;
  const now = scope.ctx.now();
  const issued = issuer.issue(
    { namespace: scope.namespace, name, uid: String(metaOf(account.object).uid ?? "") },
    audiences as string[],
    expiration as number,
    now,
    bound,
  );
  return {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name, namespace: scope.namespace, creationTimestamp: null },
    spec: {
      audiences: audiences as string[],
      expirationSeconds: expiration as number,
      boundObjectRef: ref ?? null,
    },
    status: {
      token: issued.token,
      expirationTimestamp: issued.expiresAt.toISOString().replace(/\.\d+Z$/, "Z"),
    },
  };
}

/** The object a token is bound to must exist (and have the uid given, when given). */
function boundObject(scope: RequestScope, ref: JsonObject): BoundObjectRef {
  const kind = String(ref.kind);
  const where = BINDABLE[kind]!;
  const refName = typeof ref.name === "string" ? ref.name : "";
  const namespaced = kind !== "Node";
  const stored = scope.ctx.storage
    .existingStore(where.store)
    ?.get(objectKey(namespaced ? scope.namespace : "", refName));
  if (!stored) throw notFound({ group: where.group, resource: where.resource }, refName);
  const uid = String(metaOf(stored.object).uid ?? "");
  if (typeof ref.uid === "string" && ref.uid !== "" && ref.uid !== uid)
    throw invalid(TOKEN_REQUEST, refName, [
      fieldErrors.invalid("spec.boundObjectRef.uid", ref.uid, `the ${kind} has uid ${uid}`),
    ]);
  return { kind, name: refName, uid };
}
