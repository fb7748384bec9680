// OpenAPI value validation as the API server runs it on a custom resource: kube-openapi's
// SchemaValidator (validate/{schema,type,validator,object_validator,slice_validator,schema_props}.go)
// with its messages, the conversion of its results into field errors
// (apiextensions-apiserver pkg/apiserver/validation/validation.go kubeOpenAPIResultToFieldErrors),
// and validation ratcheting on update (ratcheting.go): errors under a value that an update left
// unchanged are dropped.
import { type FieldPath, fieldError } from "./field-errors.js";
import { checkFormat, effectiveFormat } from "./formats.js";
import { goFloat, goQuote, isGoInteger } from "./go-format.js";
import { deepEqual, isJsonObject, type JsonObject } from "./json.js";
import { compileRe2, RegexSyntaxError } from "./regex.js";
import {
  additionalProperties,
  enumValues,
  isIntOrString,
  isNullable,
  items,
  listMapKeys,
  listType,
  notSchema,
  numeric,
  properties,
  requiredFields,
  schemaFormat,
  schemaList,
  schemaPattern,
  schemaType,
} from "./schema-model.js";
import type { JsonSchemaProps, SchemaCause } from "./types.js";

type Code =
  | "invalidType"
  | "required"
  | "tooLong"
  | "tooShort"
  | "pattern"
  | "enum"
  | "multipleOf"
  | "max"
  | "min"
  | "maxItems"
  | "minItems"
  | "tooFewProperties"
  | "tooManyProperties"
  | "unallowedProperty"
  | "composite";

interface OpenApiError {
  code: Code;
  /** The validator path ("spec.list[0].name"); a composite error has none and lands on the base path. */
  name: string;
  value?: unknown;
  /** The limit a TooLong / MaxItems / TooManyProperties error reports. */
  valid?: number;
  values?: unknown[];
  message: string;
}

const IN = "body";

function invalidType(name: string, typeName: string, value: string | null): OpenApiError {
  const message =
    typeof value === "string"
      ? `${name} in ${IN} must be of type ${typeName}: ${goQuote(value)}`
      : `${name} in ${IN} must be of type ${typeName}`;
  return { code: "invalidType", name, value, message };
}

/** The JSON type name kube-openapi infers for a decoded value. */
function jsonType(data: unknown): string {
  if (typeof data === "string") return "string";
  if (typeof data === "boolean") return "boolean";
  if (typeof data === "number") return isGoInteger(data) ? "integer" : "number";
  if (Array.isArray(data)) return "array";
  return "object";
}

/** A correlated old value, when validating an update (ratcheting). */
interface Correlation {
  old: unknown;
}

interface NodeResult {
  errors: OpenApiError[];
  /** For a correlated node: whether new deep-equals old, computed from the visited children. */
  equal: boolean;
}

/** The schema with the post-processing the API server applies before validating (int-or-string types, stripped formats). */
function typesOf(s: JsonSchemaProps): string[] {
  if (isIntOrString(s)) return ["integer", "string"];
  const type = schemaType(s);
  return type === "" ? [] : [type];
}

function validateNode(
  s: JsonSchemaProps,
  data: unknown,
  path: string,
  correlation?: Correlation,
): NodeResult {
  const errors: OpenApiError[] = [];
  const children = new Map<string | number, boolean>();
  const types = typesOf(s);
  const format = effectiveFormat(types.length === 1 ? (types[0] as string) : "", schemaFormat(s));

  if (data === null || data === undefined) {
    if (types.length > 0 && !isNullable(s)) errors.push(invalidType(path, types.join(","), "null"));
    const enums = enumValues(s);
    if (enums) errors.push(enumError(path, null, enums));
  } else {
    if (types.length > 0 || format !== "") {
      const error = typeError(types, format, data, path);
      if (error) errors.push(error);
    }
    errors.push(...schemaProps(s, data, path, correlation));
    if (typeof data === "string") {
      const error = stringError(s, data, path);
      if (error) errors.push(error);
      if (format !== "" && checkFormat(format, data) === "invalid")
        errors.push(invalidType(path, format, data));
    }
    if (typeof data === "number") errors.push(...numberErrors(s, data, path));
    if (Array.isArray(data)) errors.push(...sliceErrors(s, data, path, correlation, children));
    const enums = enumValues(s);
    if (enums && !enums.some((candidate) => enumMatches(data, candidate)))
      errors.push(enumError(path, data, enums));
    if (isJsonObject(data)) errors.push(...objectErrors(s, data, path, correlation, children));
  }

  if (!correlation) return { errors, equal: false };
  const equal = cachedDeepEqual(correlation.old, data, children);
  // Ratcheting: errors under a value the update did not change are not reported.
  return { errors: equal ? [] : errors, equal };
}

/** ratchetingValueValidator.CachedDeepEqual: equality judged from the children the validation visited. */
function cachedDeepEqual(old: unknown, data: unknown, children: Map<string | number, boolean>): boolean {
  if ((old === null || old === undefined) && (data === null || data === undefined)) return true;
  if (old === null || old === undefined || data === null || data === undefined) return false;
  if (Array.isArray(old) !== Array.isArray(data)) return false;
  if (Array.isArray(old) && Array.isArray(data)) {
    if (old.length !== data.length || children.size !== old.length) return false;
    return data.every((_, i) => children.get(i) === true);
  }
  if (isJsonObject(old) !== isJsonObject(data)) return false;
  if (isJsonObject(old) && isJsonObject(data)) {
    const keys = Object.keys(old);
    if (keys.length !== Object.keys(data).length) return false;
    if (keys.length === 0) return true;
    if (children.size !== keys.length) return false;
    return keys.every((key) => children.get(key) === true);
  }
  return deepEqual(old, data);
}

function typeError(types: string[], format: string, data: unknown, path: string): OpenApiError | undefined {
  const dataType = jsonType(data);
  const isString = typeof data === "string";
  const isSlice = Array.isArray(data);
  const numericFormat = dataType === "integer" ? "int64" : dataType === "number" ? "double" : "";
  const isIntFloat = dataType === "integer" && types.includes("number");
  const isFloatInt = false; // integral floats already decode as integers
  if (
    !isString &&
    !isSlice &&
    format !== "" &&
    !(types.includes(dataType) || numericFormat === format || isIntFloat || isFloatInt)
  ) {
    return invalidType(path, format, numericFormat);
  }
  if (!(types.includes("number") || types.includes("integer")) && format !== "" && (isString || isSlice)) {
    return undefined;
  }
  if (!(types.includes(dataType) || isIntFloat)) return invalidType(path, types.join(","), dataType);
  return undefined;
}

function runeLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

function stringError(s: JsonSchemaProps, data: string, path: string): OpenApiError | undefined {
  const maxLength = numeric.maxLength(s);
  if (maxLength !== undefined && runeLength(data) > maxLength) {
    return {
      code: "tooLong",
      name: path,
      value: data,
      valid: maxLength,
      message: `${path} in ${IN} should be at most ${maxLength} chars long`,
    };
  }
  const minLength = numeric.minLength(s);
  if (minLength !== undefined && runeLength(data) < minLength) {
    return {
      code: "tooShort",
      name: path,
      value: data,
      message: `${path} in ${IN} should be at least ${minLength} chars long`,
    };
  }
  const pattern = schemaPattern(s);
  if (pattern !== "") {
    let shown = pattern;
    let matches = false;
    try {
      matches = compileRe2(pattern).test(data);
    } catch (error) {
      if (!(error instanceof RegexSyntaxError)) throw error;
      shown = `${pattern}, but pattern is invalid: ${error.message}`;
    }
    if (!matches) {
      return {
        code: "pattern",
        name: path,
        value: data,
        message: `${path} in ${IN} should match '${shown}'`,
      };
    }
  }
  return undefined;
}

/** Go's float64 -> int64 conversion (truncation toward zero). */
function toInt64(value: number): number {
  return Math.trunc(value);
}

function numberErrors(s: JsonSchemaProps, data: number, path: string): OpenApiError[] {
  const integer = isGoInteger(data);
  const show = (value: number) => (integer ? String(toInt64(value)) : goFloat(value));
  const errors: OpenApiError[] = [];
  const multipleOf = numeric.multipleOf(s);
  if (multipleOf !== undefined) {
    if (multipleOf < 0) {
      errors.push({
        code: "multipleOf",
        name: path,
        value: multipleOf,
        message: `factor MultipleOf declared for ${path} must be positive: ${show(multipleOf)}`,
      });
    } else {
      const factor = integer ? toInt64(multipleOf) : multipleOf;
      const multiple = integer
        ? factor !== 0 && data % factor === 0
        : Number.isInteger(multipleOf < 1 ? (1 / multipleOf) * data : data / multipleOf);
      if (!multiple) {
        errors.push({
          code: "multipleOf",
          name: path,
          value: data,
          message: `${path} in ${IN} should be a multiple of ${show(multipleOf)}`,
        });
      }
    }
  }
  const minimum = numeric.minimum(s);
  if (minimum !== undefined) {
    const exclusive = s.exclusiveMinimum === true;
    const min = integer ? toInt64(minimum) : minimum;
    if ((!exclusive && data < min) || (exclusive && data <= min)) {
      const relation = exclusive ? "greater than" : "greater than or equal to";
      errors.push({
        code: "min",
        name: path,
        value: data,
        message: `${path} in ${IN} should be ${relation} ${show(min)}`,
      });
    }
  }
  const maximum = numeric.maximum(s);
  if (maximum !== undefined) {
    const exclusive = s.exclusiveMaximum === true;
    const max = integer ? toInt64(maximum) : maximum;
    if ((!exclusive && data > max) || (exclusive && data >= max)) {
      const relation = exclusive ? "less than" : "less than or equal to";
      errors.push({
        code: "max",
        name: path,
        value: data,
        message: `${path} in ${IN} should be ${relation} ${show(max)}`,
      });
    }
  }
  return errors;
}

/** ratchetingValueValidator.correlateOldValueForChildAtNewIndex */
function correlateItem(
  s: JsonSchemaProps,
  data: unknown[],
  index: number,
  correlation?: Correlation,
): Correlation | undefined {
  if (!correlation || !Array.isArray(correlation.old)) return undefined;
  const old = correlation.old;
  switch (listType(s)) {
    case "map": {
      const keys = listMapKeys(s);
      const element = data[index];
      if (!isJsonObject(element)) return undefined;
      const match = old.find(
        (candidate) =>
          isJsonObject(candidate) && keys.every((key) => deepEqual(candidate[key], element[key])),
      );
      return match === undefined ? undefined : { old: match };
    }
    case "set":
    case "atomic":
      return undefined;
    default:
      return index < old.length ? { old: old[index] } : undefined;
  }
}

function sliceErrors(
  s: JsonSchemaProps,
  data: unknown[],
  path: string,
  correlation: Correlation | undefined,
  children: Map<string | number, boolean>,
): OpenApiError[] {
  const errors: OpenApiError[] = [];
  const itemSchema = items(s);
  if (itemSchema) {
    data.forEach((item, i) => {
      const itemCorrelation = correlateItem(s, data, i, correlation);
      const result = validateNode(itemSchema, item, `${path}[${i}]`, itemCorrelation);
      if (itemCorrelation) children.set(i, result.equal);
      errors.push(...result.errors);
    });
  }
  const minItems = numeric.minItems(s);
  if (minItems !== undefined && data.length < minItems) {
    errors.push({
      code: "minItems",
      name: path,
      value: data.length,
      message: `${path} in ${IN} should have at least ${minItems} items`,
    });
  }
  const maxItems = numeric.maxItems(s);
  if (maxItems !== undefined && data.length > maxItems) {
    errors.push({
      code: "maxItems",
      name: path,
      value: data.length,
      valid: maxItems,
      message: `${path} in ${IN} should have at most ${maxItems} items`,
    });
  }
  if (
    s.uniqueItems === true &&
    data.some((item, i) => data.slice(0, i).some((other) => deepEqual(item, other)))
  ) {
    errors.push({ code: "composite", name: path, message: `${path} in ${IN} shouldn't contain duplicates` });
  }
  return errors;
}

function childPath(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function objectErrors(
  s: JsonSchemaProps,
  data: JsonObject,
  path: string,
  correlation: Correlation | undefined,
  children: Map<string | number, boolean>,
): OpenApiError[] {
  const size = Object.keys(data).length;
  const minProperties = numeric.minProperties(s);
  if (minProperties !== undefined && size < minProperties) {
    return [
      {
        code: "tooFewProperties",
        name: path,
        value: size,
        message: `${path} in ${IN} should have at least ${minProperties} properties`,
      },
    ];
  }
  const maxProperties = numeric.maxProperties(s);
  if (maxProperties !== undefined && size > maxProperties) {
    return [
      {
        code: "tooManyProperties",
        name: path,
        value: size,
        valid: maxProperties,
        message: `${path} in ${IN} should have at most ${maxProperties} properties`,
      },
    ];
  }
  const errors: OpenApiError[] = [];
  const declared = new Map(properties(s));
  const old = correlation && isJsonObject(correlation.old) ? correlation.old : undefined;
  const visit = (key: string, schema: JsonSchemaProps, name: string) => {
    const fieldCorrelation = old && Object.hasOwn(old, key) ? { old: old[key] } : undefined;
    const result = validateNode(schema, data[key], name, fieldCorrelation);
    if (fieldCorrelation) children.set(key, result.equal);
    errors.push(...result.errors);
  };
  const additional = additionalProperties(s);
  for (const key of Object.keys(data)) {
    if (declared.has(key)) continue;
    if (additional && !additional.allows) {
      errors.push({
        code: "unallowedProperty",
        name: path,
        value: key,
        message: `${path}.${key} in ${IN} is a forbidden property`,
      });
    } else if (additional?.schema) {
      visit(key, additional.schema, `${path}.${key}`);
    }
  }
  for (const [name, schema] of declared) {
    if (Object.hasOwn(data, name)) visit(name, schema, childPath(path, name));
  }
  for (const name of requiredFields(s)) {
    if (!Object.hasOwn(data, name)) {
      errors.push({
        code: "required",
        name: `${path}.${name}`,
        message: `${path}.${name} in ${IN} is required`,
      });
    }
  }
  return errors;
}

/** basicCommonValidator: reflect.DeepEqual after Go's type conversion of the value to the enum value's type. */
function enumMatches(data: unknown, candidate: unknown): boolean {
  if (candidate === null || candidate === undefined) return false;
  if (typeof candidate === "number" && typeof data === "number") {
    return isGoInteger(candidate) ? toInt64(data) === candidate : data === candidate;
  }
  if (typeof candidate === "string" && typeof data === "number" && isGoInteger(data)) {
    return (data >= 0 && data <= 0x10ffff ? String.fromCodePoint(data) : "\ufffd") === candidate;
  }
  return deepEqual(data, candidate);
}

function enumError(path: string, data: unknown, values: unknown[]): OpenApiError {
  const listed = values.map((value) => (typeof value === "string" ? value : JSON.stringify(value)));
  return {
    code: "enum",
    name: path,
    value: data,
    values,
    message: `${path} in ${IN} should be one of [${listed.join(" ")}]`,
  };
}

function schemaProps(
  s: JsonSchemaProps,
  data: unknown,
  path: string,
  correlation?: Correlation,
): OpenApiError[] {
  const errors: OpenApiError[] = [];
  const best = (results: OpenApiError[][]) =>
    results.reduce((a, b) => (b.length < a.length ? b : a), results[0] ?? []);
  const anyOf = schemaList(s, "anyOf");
  if (anyOf.length > 0) {
    const results = anyOf.map((entry) => validateNode(entry, data, path, correlation).errors);
    if (!results.some((result) => result.length === 0)) {
      errors.push({
        code: "composite",
        name: "",
        message: `${path} must validate at least one schema (anyOf)`,
      });
      errors.push(...best(results));
    }
  }
  const oneOf = schemaList(s, "oneOf");
  if (oneOf.length > 0) {
    const results = oneOf.map((entry) => validateNode(entry, data, path, correlation).errors);
    const valid = results.filter((result) => result.length === 0).length;
    if (valid !== 1) {
      const found = valid === 0 ? "Found none valid" : `Found ${valid} valid alternatives`;
      errors.push({
        code: "composite",
        name: "",
        message: `${path} must validate one and only one schema (oneOf). ${found}`,
      });
      if (valid === 0) errors.push(...best(results));
    }
  }
  const allOf = schemaList(s, "allOf");
  if (allOf.length > 0) {
    let validated = 0;
    for (const entry of allOf) {
      const result = validateNode(entry, data, path, correlation).errors;
      if (result.length === 0) validated++;
      errors.push(...result);
    }
    if (validated !== allOf.length) {
      const none = validated === 0 ? ". None validated" : "";
      errors.push({
        code: "composite",
        name: "",
        message: `${path} must validate all the schemas (allOf)${none}`,
      });
    }
  }
  const not = notSchema(s);
  if (not && validateNode(not, data, path).errors.length === 0) {
    errors.push({ code: "composite", name: "", message: `${path} must not validate the schema (not)` });
  }
  return errors;
}

/** kubeOpenAPIResultToFieldErrors */
function toCauses(base: FieldPath, errors: OpenApiError[]): SchemaCause[] {
  return errors.map((error) => {
    if (error.code === "composite" && error.name === "") return fieldError.invalid(base, "", error.message);
    const path = error.name !== "" && error.name !== "." ? base.child(error.name.replace(/^\./, "")) : base;
    const value = error.value ?? "";
    switch (error.code) {
      case "required":
        return fieldError.required(path, "");
      case "enum":
        return fieldError.notSupported(
          path,
          error.value,
          (error.values ?? []).map((allowed) =>
            typeof allowed === "string" ? allowed : JSON.stringify(allowed),
          ),
        );
      case "tooLong":
        return fieldError.tooLong(path, value, error.valid ?? -1);
      case "maxItems":
      case "tooManyProperties":
        return fieldError.tooMany(
          path,
          typeof error.value === "number" ? error.value : -1,
          error.valid ?? -1,
        );
      case "invalidType":
        return fieldError.typeInvalid(path, value, error.message);
      default:
        return fieldError.invalid(path, value, error.message);
    }
  });
}

/**
 * ValidateCustomResource / ValidateCustomResourceUpdate: the schema's value validation of `value`,
 * reported under `base`. With `old` (an update), errors under unchanged values are ratcheted away.
 */
export function validateValue(
  schema: JsonSchemaProps,
  value: unknown,
  base: FieldPath,
  old?: { value: unknown },
): SchemaCause[] {
  const result = validateNode(schema, value, "", old ? { old: old.value } : undefined);
  return toCauses(base, result.errors);
}
