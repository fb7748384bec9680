// RS256 JWTs, as Entra issues them, signed with the sandbox's own key (published as a JWKS).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type JwtClaims = Record<string, unknown> & { tid?: string; oid?: string; exp?: number };

export class JwtSigner {
  readonly kid: string;
  private readonly publicKey: KeyObject;

  constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    this.kid = createHash("sha256")
      .update(this.publicKey.export({ type: "spki", format: "der" }))
      .digest("base64url")
      .slice(0, 27);
  }

  static loadOrCreate(dir: string | undefined): JwtSigner {
    const file = dir ? join(dir, "token-signing-key.pem") : undefined;
    if (file && existsSync(file)) return new JwtSigner(createPrivateKey(readFileSync(file, "utf8")));
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    if (dir && file) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    }
    return new JwtSigner(privateKey);
  }

  sign(claims: JwtClaims): string {
    const header = { typ: "JWT", alg: "RS256", kid: this.kid };
    const head = `${encode(header)}.${encode(claims)}`;
    const signature = sign("sha256", Buffer.from(head), this.privateKey).toString("base64url");
    return `${head}.${signature}`;
  }

  /** The claims of a token this signer issued, or undefined when the signature does not verify. */
  verify(token: string): JwtClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const ok = verify(
      "sha256",
      Buffer.from(`${parts[0]}.${parts[1]}`),
      this.publicKey,
      Buffer.from(parts[2]!, "base64url"),
    );
    return ok ? decodeJwt(token) : undefined;
  }

  jwks(): unknown {
    const jwk = this.publicKey.export({ format: "jwk" });
    return { keys: [{ kty: "RSA", use: "sig", kid: this.kid, n: jwk.n, e: jwk.e }] };
  }
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** The payload of a JWT without verifying it, or undefined when the text is not a JWT. */
export function decodeJwt(token: string): JwtClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    return claims && typeof claims === "object" && !Array.isArray(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}
