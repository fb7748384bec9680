// Typed, defensive views over a CRD's JSONSchemaProps (as decoded from JSON): a malformed value
// reads as absent instead of throwing, so bad input yields causes, never a crash.
import type { JsonSchemaProps } from "./types.js";

export interface ValidationRule {
  rule: string;
  message: string;
  messageExpression: string;
  reason: string | undefined;
  fieldPath: string;
  optionalOldSelf: boolean | undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function has(schema: JsonSchemaProps, key: string): boolean {
  return Object.hasOwn(schema, key) && schema[key] !== undefined;
}

function str(schema: JsonSchemaProps, key: string): string {
  const value = schema[key];
  return typeof value === "string" ? value : "";
}

function flag(schema: JsonSchemaProps, key: string): boolean {
  return schema[key] === true;
}

function num(schema: JsonSchemaProps, key: string): number | undefined {
  const value = schema[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

export const schemaType = (s: JsonSchemaProps): string => str(s, "type");
export const schemaFormat = (s: JsonSchemaProps): string => str(s, "format");
export const schemaPattern = (s: JsonSchemaProps): string => str(s, "pattern");
export const isNullable = (s: JsonSchemaProps): boolean => flag(s, "nullable");
export const preservesUnknownFields = (s: JsonSchemaProps): boolean =>
  flag(s, "x-kubernetes-preserve-unknown-fields");
export const isEmbeddedResource = (s: JsonSchemaProps): boolean => flag(s, "x-kubernetes-embedded-resource");
export const isIntOrString = (s: JsonSchemaProps): boolean => flag(s, "x-kubernetes-int-or-string");
export const listType = (s: JsonSchemaProps): string | undefined =>
  typeof s["x-kubernetes-list-type"] === "string" ? (s["x-kubernetes-list-type"] as string) : undefined;
export const mapType = (s: JsonSchemaProps): string | undefined =>
  typeof s["x-kubernetes-map-type"] === "string" ? (s["x-kubernetes-map-type"] as string) : undefined;
export const listMapKeys = (s: JsonSchemaProps): string[] => strings(s["x-kubernetes-list-map-keys"]);
export const requiredFields = (s: JsonSchemaProps): string[] => strings(s.required);
export const hasDefault = (s: JsonSchemaProps): boolean => Object.hasOwn(s, "default");

export const numeric = {
  maximum: (s: JsonSchemaProps) => num(s, "maximum"),
  minimum: (s: JsonSchemaProps) => num(s, "minimum"),
  multipleOf: (s: JsonSchemaProps) => num(s, "multipleOf"),
  maxLength: (s: JsonSchemaProps) => num(s, "maxLength"),
  minLength: (s: JsonSchemaProps) => num(s, "minLength"),
  maxItems: (s: JsonSchemaProps) => num(s, "maxItems"),
  minItems: (s: JsonSchemaProps) => num(s, "minItems"),
  maxProperties: (s: JsonSchemaProps) => num(s, "maxProperties"),
  minProperties: (s: JsonSchemaProps) => num(s, "minProperties"),
};

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/** The properties in declaration order (Go iterates a map; a fixed order keeps causes stable). */
export function properties(s: JsonSchemaProps): [string, JsonSchemaProps][] {
  const value = s.properties;
  if (!isObject(value)) return [];
  return Object.entries(value).filter((entry): entry is [string, JsonSchemaProps] => isObject(entry[1]));
}

export function property(s: JsonSchemaProps, name: string): JsonSchemaProps | undefined {
  const value = s.properties;
  if (!isObject(value) || !Object.hasOwn(value, name)) return undefined;
  const prop = value[name];
  return isObject(prop) ? prop : undefined;
}

export function items(s: JsonSchemaProps): JsonSchemaProps | undefined {
  return isObject(s.items) ? s.items : undefined;
}

export interface AdditionalProperties {
  allows: boolean;
  schema: JsonSchemaProps | undefined;
}

export function additionalProperties(s: JsonSchemaProps): AdditionalProperties | undefined {
  const value = s.additionalProperties;
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return { allows: value, schema: undefined };
  if (isObject(value)) return { allows: true, schema: value };
  return undefined;
}

export function schemaList(s: JsonSchemaProps, key: "allOf" | "anyOf" | "oneOf"): JsonSchemaProps[] {
  const value = s[key];
  return Array.isArray(value) ? value.filter(isObject) : [];
}

export function notSchema(s: JsonSchemaProps): JsonSchemaProps | undefined {
  return isObject(s.not) ? s.not : undefined;
}

export function validationRules(s: JsonSchemaProps): ValidationRule[] {
  const value = s["x-kubernetes-validations"];
  if (!Array.isArray(value)) return [];
  return value.map((item) => {
    const rule = isObject(item) ? item : {};
    return {
      rule: typeof rule.rule === "string" ? rule.rule : "",
      message: typeof rule.message === "string" ? rule.message : "",
      messageExpression: typeof rule.messageExpression === "string" ? rule.messageExpression : "",
      reason: typeof rule.reason === "string" ? rule.reason : undefined,
      fieldPath: typeof rule.fieldPath === "string" ? rule.fieldPath : "",
      optionalOldSelf: typeof rule.optionalOldSelf === "boolean" ? rule.optionalOldSelf : undefined,
    };
  });
}

/** The enum values; `null` entries included (they never match, as in kube-openapi). */
export function enumValues(s: JsonSchemaProps): unknown[] | undefined {
  return Array.isArray(s.enum) && s.enum.length > 0 ? s.enum : undefined;
}

/** apiVersion, kind and metadata are kept (not pruned) at the root and in embedded resources. */
export const metaFields = new Set(["apiVersion", "kind", "metadata"]);
