// Protobuf request bodies. kubectl's typed clients (`kubectl create namespace | configmap |
// secret | serviceaccount | token`) send core kinds as Kubernetes protobuf: the "k8s\0" magic and a
// runtime.Unknown wrapping the object's message. These few messages are decoded into the
// JSON form the rest of the server reads; every other kind still answers 415, and answers
// are always JSON (the clients accept it).
import { badRequest } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { rfc3339 } from "../time.js";

export const PROTOBUF = "application/vnd.kubernetes.protobuf";

type FieldKind = "string" | "bytes" | "int" | "bool" | "time" | "map" | "bytesMap" | Message;

interface FieldSpec {
  name: string;
  kind: FieldKind;
  repeated?: boolean;
}

type Message = Record<number, FieldSpec>;

const TIME: Message = { 1: { name: "seconds", kind: "int" }, 2: { name: "nanos", kind: "int" } };
const OWNER_REFERENCE: Message = {
  1: { name: "kind", kind: "string" },
  3: { name: "name", kind: "string" },
  4: { name: "uid", kind: "string" },
  5: { name: "apiVersion", kind: "string" },
  6: { name: "controller", kind: "bool" },
  7: { name: "blockOwnerDeletion", kind: "bool" },
};
const OBJECT_META: Message = {
  1: { name: "name", kind: "string" },
  2: { name: "generateName", kind: "string" },
  3: { name: "namespace", kind: "string" },
  5: { name: "uid", kind: "string" },
  6: { name: "resourceVersion", kind: "string" },
  7: { name: "generation", kind: "int" },
  8: { name: "creationTimestamp", kind: "time" },
  9: { name: "deletionTimestamp", kind: "time" },
  10: { name: "deletionGracePeriodSeconds", kind: "int" },
  11: { name: "labels", kind: "map" },
  12: { name: "annotations", kind: "map" },
  13: { name: "ownerReferences", kind: OWNER_REFERENCE, repeated: true },
  14: { name: "finalizers", kind: "string", repeated: true },
};
const OBJECT_REFERENCE: Message = {
  1: { name: "kind", kind: "string" },
  2: { name: "namespace", kind: "string" },
  3: { name: "name", kind: "string" },
  4: { name: "uid", kind: "string" },
  5: { name: "apiVersion", kind: "string" },
  6: { name: "resourceVersion", kind: "string" },
  7: { name: "fieldPath", kind: "string" },
};

/** The core/v1 kinds kubectl creates with protobuf (and the TokenRequest of `kubectl create token`), by kind. */
const KINDS: Record<string, Message> = {
  TokenRequest: {
    1: { name: "metadata", kind: OBJECT_META },
    2: {
      name: "spec",
      kind: {
        1: { name: "audiences", kind: "string", repeated: true },
        3: {
          name: "boundObjectRef",
          kind: {
            1: { name: "kind", kind: "string" },
            2: { name: "apiVersion", kind: "string" },
            3: { name: "name", kind: "string" },
            4: { name: "uid", kind: "string" },
          },
        },
        4: { name: "expirationSeconds", kind: "int" },
      },
    },
  },
  Namespace: {
    1: { name: "metadata", kind: OBJECT_META },
    2: { name: "spec", kind: { 1: { name: "finalizers", kind: "string", repeated: true } } },
  },
  ConfigMap: {
    1: { name: "metadata", kind: OBJECT_META },
    2: { name: "data", kind: "map" },
    3: { name: "binaryData", kind: "bytesMap" },
    4: { name: "immutable", kind: "bool" },
  },
  Secret: {
    1: { name: "metadata", kind: OBJECT_META },
    2: { name: "data", kind: "bytesMap" },
    3: { name: "type", kind: "string" },
    4: { name: "stringData", kind: "map" },
    5: { name: "immutable", kind: "bool" },
  },
  ServiceAccount: {
    1: { name: "metadata", kind: OBJECT_META },
    2: { name: "secrets", kind: OBJECT_REFERENCE, repeated: true },
    3: { name: "imagePullSecrets", kind: { 1: { name: "name", kind: "string" } }, repeated: true },
    4: { name: "automountServiceAccountToken", kind: "bool" },
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}

  get done(): boolean {
    return this.at >= this.buffer.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (this.at >= this.buffer.length) throw badRequest("truncated protobuf body");
      const byte = this.buffer[this.at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  }

  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.at + length > this.buffer.length) throw badRequest("truncated protobuf body");
    const out = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  /** Reads one field: its number, wire type and raw value. */
  field(): { number: number; wire: number; value: bigint | Buffer } {
    const tag = Number(this.varint());
    const wire = tag & 7;
    const number = tag >>> 3;
    switch (wire) {
      case 0:
        return { number, wire, value: this.varint() };
      case 2:
        return { number, wire, value: this.bytes() };
      case 1:
        this.at += 8;
        return { number, wire, value: 0n };
      case 5:
        this.at += 4;
        return { number, wire, value: 0n };
      default:
        throw badRequest(`unsupported protobuf wire type ${wire}`);
    }
  }
}

function decodeMessage(buffer: Buffer, message: Message): JsonObject {
  const out: JsonObject = {};
  const reader = new Reader(buffer);
  while (!reader.done) {
    const { number, value } = reader.field();
    const spec = message[number];
    if (!spec) continue;
    const decoded = decodeValue(value, spec.kind);
    if (decoded === undefined) continue;
    if (spec.kind === "map" || spec.kind === "bytesMap") {
      out[spec.name] = { ...((out[spec.name] as JsonObject | undefined) ?? {}), ...(decoded as JsonObject) };
    } else if (spec.repeated) {
      out[spec.name] = [...((out[spec.name] as JsonValue[] | undefined) ?? []), decoded];
    } else {
      out[spec.name] = decoded;
    }
  }
  return out;
}

/** Protobuf writes empty strings and zero numbers; JSON omits them, as the Go types' omitempty does. */
function decodeValue(value: bigint | Buffer, kind: FieldKind): JsonValue | undefined {
  if (typeof kind === "object") return decodeMessage(value as Buffer, kind);
  switch (kind) {
    case "string": {
      const text = (value as Buffer).toString("utf8");
      return text === "" ? undefined : text;
    }
    case "bytes":
      return (value as Buffer).toString("base64");
    case "int":
      return value === 0n ? undefined : Number(BigInt.asIntN(64, value as bigint));
    case "bool":
      return value !== 0n;
    case "time": {
      const seconds = Number(decodeMessage(value as Buffer, TIME).seconds ?? 0);
      return seconds === 0 ? undefined : rfc3339(new Date(seconds * 1000));
    }
    case "map":
    case "bytesMap": {
      const entry = decodeMessage(value as Buffer, {
        1: { name: "key", kind: "string" },
        2: { name: "value", kind: kind === "map" ? "string" : "bytes" },
      });
      return { [String(entry.key ?? "")]: entry.value ?? "" };
    }
  }
}

/** Decodes a Kubernetes protobuf body of one of the supported kinds; undefined for other kinds. */
export function decodeProtobufObject(body: Buffer, expectedKind: string): JsonObject | undefined {
  const message = KINDS[expectedKind];
  if (!message) return undefined;
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw badRequest("the protobuf body does not start with the Kubernetes magic number");
  }
  const unknown = decodeMessage(body.subarray(MAGIC.length), {
    1: {
      name: "typeMeta",
      kind: { 1: { name: "apiVersion", kind: "string" }, 2: { name: "kind", kind: "string" } },
    },
    2: { name: "raw", kind: "bytes" },
  });
  const typeMeta = (unknown.typeMeta as JsonObject | undefined) ?? {};
  const raw = Buffer.from(String(unknown.raw ?? ""), "base64");
  return {
    apiVersion: typeMeta.apiVersion ?? "v1",
    kind: typeMeta.kind ?? expectedKind,
    ...decodeMessage(raw, message),
  };
}
