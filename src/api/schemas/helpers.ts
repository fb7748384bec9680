// Small builders over TypeBox so that every field carries a description and the Kubernetes
// extensions read as what they mean.
import { type TArray, type TEnum, type TObject, type TProperties, type TSchema, Type } from "typebox";

type Options = Record<string, unknown>;

// biome-ignore lint/suspicious/noExplicitAny: a rule's mirror reads the JSON value it validates
type Json = any;

/**
 * One CEL rule of `x-kubernetes-validations`, with `check`: the same rule in TypeScript, which
 * the CLI runs (src/api/validate.ts) and the CRD generator strips. Rules that mention `oldSelf`
 * are transition rules: they run on update only, as in the API server.
 */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  check: (self: Json, oldSelf?: Json) => boolean;
}

export const cel = (
  rule: string,
  message: string,
  check: CelRule["check"],
  extra: Pick<CelRule, "fieldPath" | "reason"> = {},
): CelRule => ({ rule, message, ...extra, check });

/** `self == oldSelf`: the field can be set once and never changed. */
export const immutable = (field: string): CelRule =>
  cel(
    "self == oldSelf",
    `${field} is immutable`,
    (self, oldSelf) => JSON.stringify(self) === JSON.stringify(oldSelf),
  );

/** `[a, b, c].count(has) == 1` for the mirrors. */
export const countDefined = (...values: unknown[]) => values.filter((value) => value !== undefined).length;

export function str(description: string, options: Options = {}) {
  return Type.String({ description, ...options });
}

export function bool(description: string, options: Options = {}) {
  return Type.Boolean({ description, ...options });
}

export function int(description: string, options: Options = {}) {
  return Type.Integer({ description, ...options });
}

/** A closed object: unknown fields are errors in the CLI (and pruned by the API server). */
export function obj<P extends TProperties>(
  properties: P,
  description: string,
  options: Options = {},
): TObject<P> {
  return Type.Object(properties, { description, additionalProperties: false, ...options });
}

export function list<T extends TSchema>(items: T, description: string, options: Options = {}): TArray<T> {
  return Type.Array(items, { description, ...options });
}

/** An array whose items are unique (`x-kubernetes-list-type: set`). */
export function set<T extends TSchema>(items: T, description: string, options: Options = {}): TArray<T> {
  return Type.Array(items, { description, "x-kubernetes-list-type": "set", ...options });
}

/** An array of objects identified by `keys` (`x-kubernetes-list-type: map`). */
export function map<T extends TSchema>(
  items: T,
  keys: readonly string[],
  description: string,
  options: Options = {},
): TArray<T> {
  return Type.Array(items, {
    description,
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": [...keys],
    ...options,
  });
}

/** A string enum rendered as `type: string` + `enum` (structural, no anyOf). */
export function oneOf<const V extends string[]>(
  values: readonly [...V],
  description: string,
  options: Options = {},
): TEnum<V> {
  return Type.Enum(values, { type: "string", description, ...options });
}

/** A string-to-string map (`additionalProperties` in the CRD). */
export function stringMap<V extends TSchema>(description: string, value: V, options: Options = {}) {
  return Type.Record(Type.String(), value, { description, ...options });
}

export const { Optional } = Type;
