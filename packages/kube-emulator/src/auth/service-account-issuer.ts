// The API server's service-account token issuer: signs TokenRequest tokens (RS256 JWTs) with its
// own key and publishes what a relying party (Entra's workload identity federation) needs to
// trust them: `/.well-known/openid-configuration` and `/openid/v1/jwks`, as kube-apiserver
// serves them (pkg/serviceaccount/openidmetadata.go).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
} from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** kubeadm's and kind's default `--service-account-issuer`. */
export const DEFAULT_SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

const KEY_FILE = "sa-signing-key.pem";

export interface ServiceAccountRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface BoundObjectRef {
  kind: string;
  name: string;
  uid: string;
}

export class ServiceAccountIssuer {
  private readonly publicKey: KeyObject;
  /** kube-apiserver's key id: the base64url SHA-256 of the public key's DER encoding. */
  readonly kid: string;

  constructor(
    readonly issuer: string,
    private readonly privateKey: KeyObject,
  ) {
    this.publicKey = createPublicKey(privateKey);
    this.kid = createHash("sha256")
      .update(this.publicKey.export({ type: "spki", format: "der" }))
      .digest("base64url");
  }

  /** The key is kept in `dir` (when given) so that tokens stay valid across restarts. */
  static loadOrCreate(issuer: string, dir: string | undefined): ServiceAccountIssuer {
    const file = dir ? join(dir, KEY_FILE) : undefined;
    if (file && existsSync(file))
      return new ServiceAccountIssuer(issuer, createPrivateKey(readFileSync(file, "utf8")));
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    if (file) writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    return new ServiceAccountIssuer(issuer, privateKey);
  }

  /** A token for the service account, as the TokenRequest API issues it. */
  issue(
    account: ServiceAccountRef,
    audiences: string[],
    expirationSeconds: number,
    now: Date,
    bound?: BoundObjectRef,
  ): { token: string; expiresAt: Date } {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + expirationSeconds;
    const kubernetes: Record<string, unknown> = {
      namespace: account.namespace,
      serviceaccount: { name: account.name, uid: account.uid },
    };
    if (bound) kubernetes[bound.kind.toLowerCase()] = { name: bound.name, uid: bound.uid };
    const claims = {
      aud: audiences,
      exp,
      iat,
      iss: this.issuer,
      jti: randomUUID(),
      "kubernetes.io": kubernetes,
      nbf: iat,
      sub: `system:serviceaccount:${account.namespace}:${account.name}`,
    };
    const head = `${encode({ alg: "RS256", kid: this.kid })}.${encode(claims)}`;
    const signature = sign("sha256", Buffer.from(head), this.privateKey).toString("base64url");
    return { token: `${head}.${signature}`, expiresAt: new Date(exp * 1000) };
  }

  /** The OpenID discovery document; `jwksUri` is where this server serves the keys. */
  discovery(jwksUri: string): unknown {
    return {
      issuer: this.issuer,
      jwks_uri: jwksUri,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
    };
  }

  jwks(): unknown {
    const jwk = this.publicKey.export({ format: "jwk" });
    return { keys: [{ use: "sig", kty: "RSA", kid: this.kid, alg: "RS256", n: jwk.n, e: jwk.e }] };
  }
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
