// /openapi/v2: an empty Swagger 2.0 document. kubectl reads it (as gnostic protobuf) only
// for kinds the OpenAPI v3 documents do not describe; finding nothing there, it skips
// client-side validation and reports an unknown kind as "no matches for kind", as it does
// against a real cluster. Schemas are published through OpenAPI v3 only.
import { KUBERNETES_VERSION } from "./discovery.js";

export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/** A length-delimited protobuf field (wire type 2). */
function field(number: number, payload: Buffer): Buffer {
  const header: number[] = [(number << 3) | 2];
  let length = payload.length;
  while (length > 0x7f) {
    header.push((length & 0x7f) | 0x80);
    length >>>= 7;
  }
  header.push(length);
  return Buffer.concat([Buffer.from(header), payload]);
}

/** openapi_v2.Document{swagger: "2.0", info: {title, version}, paths: {}}. */
export function openApiV2Protobuf(): Buffer {
  const info = Buffer.concat([
    field(1, Buffer.from("Kubernetes")),
    field(2, Buffer.from(KUBERNETES_VERSION.gitVersion)),
  ]);
  return Buffer.concat([field(1, Buffer.from("2.0")), field(2, info), field(8, Buffer.alloc(0))]);
}

export function openApiV2Json(): string {
  return JSON.stringify({
    swagger: "2.0",
    info: { title: "Kubernetes", version: KUBERNETES_VERSION.gitVersion },
    paths: {},
    definitions: {},
  });
}
