// The sandbox's own certificate authority and a server certificate for 127.0.0.1 and localhost,
// built with node:crypto alone: a small DER encoder is all X.509 needs here.
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);

function integer(b: Buffer): Buffer {
  const trimmed = b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
  return tlv(0x02, trimmed);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return tlv(0x18, Buffer.from(`${iso}Z`, "ascii"));
}

const name = (cn: string) => seq(set(seq(oid("2.5.4.3"), utf8(cn))));
const ecdsaWithSha256 = seq(oid("1.2.840.10045.4.3.2"));
const extension = (id: string, critical: boolean, value: Buffer) =>
  critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));

/**
 * A positive serial in minimal DER form. A random first byte of 0 would be illegal padding, which
 * OpenSSL refuses (for a CA in a client's trust list, silently: "unable to verify the first certificate").
 */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

function keyId(publicKey: KeyObject): Buffer {
  return createHash("sha1")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest();
}

interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  issuerPublicKey: KeyObject;
  ca: boolean;
}

function certificate(spec: CertSpec): string {
  const now = Date.now();
  const extensions: Buffer[] = [
    extension("2.5.29.19", true, spec.ca ? seq(bool(true)) : seq()),
    // keyUsage: keyCertSign|cRLSign for the CA, digitalSignature for the server
    extension("2.5.29.15", true, spec.ca ? bits(Buffer.from([0x06])) : bits(Buffer.from([0x80]))),
    extension("2.5.29.14", false, octets(keyId(spec.publicKey))),
    extension("2.5.29.35", false, seq(tlv(0x80, keyId(spec.issuerPublicKey)))),
  ];
  if (!spec.ca) {
    extensions.push(extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))));
    const ip = tlv(0x87, Buffer.from([127, 0, 0, 1]));
    const dns = tlv(0x82, Buffer.from("localhost", "ascii"));
    extensions.push(extension("2.5.29.17", false, seq(ip, dns)));
  }
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serialNumber()),
    ecdsaWithSha256,
    name(spec.issuer),
    seq(time(new Date(now - 3600_000)), time(new Date(now + 5 * 365 * 86400_000))),
    name(spec.subject),
    spec.publicKey.export({ type: "spki", format: "der" }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign("sha256", tbs, { key: spec.signingKey, dsaEncoding: "der" });
  const der = seq(tbs, ecdsaWithSha256, bits(signature));
  return `-----BEGIN CERTIFICATE-----\n${der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** A fresh CA and a server certificate signed by it, for 127.0.0.1 and localhost. */
export function generateTlsMaterial(): TlsMaterial {
  const ca = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const server = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const caPem = certificate({
    subject: "azid sandbox CA (not for production)",
    issuer: "azid sandbox CA (not for production)",
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    issuerPublicKey: ca.publicKey,
    ca: true,
  });
  const certPem = certificate({
    subject: "127.0.0.1",
    issuer: "azid sandbox CA (not for production)",
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    issuerPublicKey: ca.publicKey,
    ca: false,
  });
  const keyPem = server.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return { caPem, certPem, keyPem };
}

/** Loads the TLS material kept in `dir`, or generates it and keeps it there. */
export function loadOrCreateTlsMaterial(dir: string): TlsMaterial {
  const files = { caPem: "ca.pem", certPem: "server.pem", keyPem: "server-key.pem" } as const;
  if (Object.values(files).every((file) => existsSync(join(dir, file)))) {
    const material = {
      caPem: readFileSync(join(dir, files.caPem), "utf8"),
      certPem: readFileSync(join(dir, files.certPem), "utf8"),
      keyPem: readFileSync(join(dir, files.keyPem), "utf8"),
    };
    createPrivateKey(material.keyPem); // fails loudly on a damaged key file
    return material;
  }
  const material = generateTlsMaterial();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, files.caPem), material.caPem);
  writeFileSync(join(dir, files.certPem), material.certPem);
  writeFileSync(join(dir, files.keyPem), material.keyPem, { mode: 0o600 });
  return material;
}
