// The CRD-level checks of an openAPIV3Schema (apiextensions validation.go
// ValidateCustomResourceDefinitionOpenAPISchema): supported keywords and types, defaults where they
// are allowed, the x-kubernetes-* extension rules, and the x-kubernetes-validations entries,
// whose CEL is compiled when the schema is otherwise valid.

import { validFieldPath } from "./cel/field-path.js";
import { compileSchemaRules, type RuleNode, ruleLiteral } from "./cel/rules.js";
import { type FieldPath, fieldError } from "./field-errors.js";
import { GoLiteral, goQuote } from "./go-format.js";
import {
  additionalProperties,
  has,
  hasDefault,
  isEmbeddedResource,
  isNullable,
  isObject,
  listMapKeys,
  listType,
  mapType,
  metaFields,
  properties,
  property,
  requiredFields,
  schemaList,
  schemaType,
  validationRules,
} from "./schema-model.js";
import type { JsonSchemaProps, SchemaCause } from "./types.js";

const openapiV3Types = ["array", "boolean", "integer", "number", "object", "string"];
const supportedReasons = [
  "FieldValueDuplicate",
  "FieldValueForbidden",
  "FieldValueInvalid",
  "FieldValueRequired",
];

interface Context {
  allowDefaults: boolean;
  disallowDefaultsReason: string;
  insideResourceMeta: boolean;
  /** The first ancestor that cannot be correlated between revisions (oldSelf is forbidden below it). */
  uncorrelatablePath: FieldPath | undefined;
}

export interface OpenAPISchemaErrors {
  schemaErrors: SchemaCause[];
  celErrors: SchemaCause[];
}

/** Validates a CRD version's openAPIV3Schema; `cel` compiles the rules (only for a structural schema). */
export function validateOpenAPISchema(
  schema: JsonSchemaProps,
  path: FieldPath,
  cel: boolean,
): OpenAPISchemaErrors {
  const nodes = cel ? compileSchemaRules(schema).nodes : undefined;
  return validate(
    schema,
    path,
    {
      allowDefaults: true,
      disallowDefaultsReason: "",
      insideResourceMeta: false,
      uncorrelatablePath: undefined,
    },
    true,
    nodes,
  );
}

function strList(values: string[]): GoLiteral {
  return new GoLiteral(`[]string{${values.map(goQuote).join(", ")}}`);
}

function standardChecks(s: JsonSchemaProps, path: FieldPath, ctx: Context): SchemaCause[] {
  const errors: SchemaCause[] = [];
  const type = schemaType(s);
  if (type !== "" && !openapiV3Types.includes(type)) {
    errors.push(fieldError.notSupported(path.child("type"), type, openapiV3Types));
  }
  if (hasDefault(s) && !ctx.allowDefaults) {
    const reason = ctx.disallowDefaultsReason === "" ? "" : ` ${ctx.disallowDefaultsReason}`;
    errors.push(fieldError.forbidden(path.child("default"), `must not be set${reason}`));
  }
  if (typeof s.id === "string" && s.id !== "")
    errors.push(fieldError.forbidden(path.child("id"), "id is not supported"));
  if (has(s, "additionalItems")) {
    errors.push(fieldError.forbidden(path.child("additionalItems"), "additionalItems is not supported"));
  }
  if (isObject(s.patternProperties) && Object.keys(s.patternProperties).length > 0) {
    errors.push(fieldError.forbidden(path.child("patternProperties"), "patternProperties is not supported"));
  }
  if (isObject(s.definitions) && Object.keys(s.definitions).length > 0) {
    errors.push(fieldError.forbidden(path.child("definitions"), "definitions is not supported"));
  }
  if (has(s, "dependencies"))
    errors.push(fieldError.forbidden(path.child("dependencies"), "dependencies is not supported"));
  if (has(s, "$ref")) errors.push(fieldError.forbidden(path.child("$ref"), "$ref is not supported"));
  if (type === "null") {
    errors.push(
      fieldError.forbidden(path.child("type"), "type cannot be set to null, use nullable as an alternative"),
    );
  }
  if (Array.isArray(s.items)) {
    errors.push(fieldError.forbidden(path.child("items"), "items must be a schema object and not an array"));
  }
  if (ctx.insideResourceMeta && isEmbeddedResource(s)) {
    errors.push(
      fieldError.forbidden(
        path.child("x-kubernetes-embedded-resource"),
        "must not be used inside of resource meta",
      ),
    );
  }
  return errors;
}

function validate(
  s: JsonSchemaProps,
  path: FieldPath,
  ctx: Context,
  isRoot: boolean,
  nodes: Map<JsonSchemaProps, RuleNode> | undefined,
): OpenAPISchemaErrors {
  const out: OpenAPISchemaErrors = { schemaErrors: standardChecks(s, path, ctx), celErrors: [] };
  const append = (child: OpenAPISchemaErrors) => {
    out.schemaErrors.push(...child.schemaErrors);
    out.celErrors.push(...child.celErrors);
  };
  const type = schemaType(s);
  if (s.uniqueItems === true) {
    out.schemaErrors.push(
      fieldError.forbidden(
        path.child("uniqueItems"),
        "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
      ),
    );
  }
  const additional = additionalProperties(s);
  if (additional) {
    if (properties(s).length > 0 && (!additional.allows || additional.schema)) {
      out.schemaErrors.push(
        fieldError.forbidden(
          path.child("additionalProperties"),
          "additionalProperties and properties are mutual exclusive",
        ),
      );
    }
    if (additional.schema) {
      const sub = ctx.insideResourceMeta
        ? {
            ...ctx,
            allowDefaults: false,
            disallowDefaultsReason: "inside additionalProperties applying to object metadata",
          }
        : ctx;
      append(validate(additional.schema, path.child("additionalProperties"), sub, false, nodes));
    }
  }
  for (const [name, prop] of properties(s)) {
    let sub = ctx;
    if (mapType(s) === "atomic" && !sub.uncorrelatablePath) sub = { ...sub, uncorrelatablePath: path };
    if ((isRoot || isEmbeddedResource(s)) && metaFields.has(name)) {
      sub = { ...sub, insideResourceMeta: true };
      if (isRoot) sub = { ...sub, allowDefaults: false, disallowDefaultsReason: `in top-level ${name}` };
    }
    append(validate(prop, path.child("properties").key(name), sub, false, nodes));
  }
  const nested = (child: JsonSchemaProps, childPath: FieldPath) =>
    append(validate(child, childPath, ctx, false, undefined));
  if (isObject(s.not)) nested(s.not, path.child("not"));
  for (const key of ["allOf", "oneOf", "anyOf"] as const) {
    schemaList(s, key).forEach((entry, i) => {
      nested(entry, path.child(key).index(i));
    });
  }
  if (isObject(s.definitions)) {
    for (const [name, entry] of Object.entries(s.definitions)) {
      if (isObject(entry)) nested(entry, path.child("definitions").key(name));
    }
  }
  if (s.items !== undefined && s.items !== null) {
    let sub = ctx;
    if (listType(s) !== "map" && !sub.uncorrelatablePath) sub = { ...sub, uncorrelatablePath: path };
    if (isObject(s.items)) append(validate(s.items, path.child("items"), sub, false, nodes));
    else if (Array.isArray(s.items)) {
      s.items.forEach((entry, i) => {
        if (isObject(entry)) append(validate(entry, path.child("items").index(i), sub, false, undefined));
      });
    }
  }
  if (s["x-kubernetes-preserve-unknown-fields"] === false) {
    out.schemaErrors.push(
      fieldError.invalid(
        path.child("x-kubernetes-preserve-unknown-fields"),
        false,
        "must be true or undefined",
      ),
    );
  }
  out.schemaErrors.push(...extensionChecks(s, type, path));
  out.schemaErrors.push(...ruleEntryChecks(s, path));
  if (out.schemaErrors.length === 0 && nodes && validationRules(s).length > 0) {
    out.celErrors.push(...celChecks(s, path, ctx, nodes.get(s)));
  }
  return out;
}

function extensionChecks(s: JsonSchemaProps, type: string, path: FieldPath): SchemaCause[] {
  const errors: SchemaCause[] = [];
  const map = s["x-kubernetes-map-type"];
  if (map !== undefined && type !== "object") {
    const detail = "must be object if x-kubernetes-map-type is specified";
    errors.push(
      type === ""
        ? fieldError.required(path.child("type"), detail)
        : fieldError.invalid(path.child("type"), type, detail),
    );
  }
  if (map !== undefined && map !== "atomic" && map !== "granular") {
    errors.push(fieldError.notSupported(path.child("x-kubernetes-map-type"), map, ["atomic", "granular"]));
  }
  const list = listType(s);
  const itemSchema = isObject(s.items) ? s.items : undefined;
  if (s["x-kubernetes-list-type"] !== undefined && type !== "array") {
    const detail = "must be array if x-kubernetes-list-type is specified";
    errors.push(
      type === ""
        ? fieldError.required(path.child("type"), detail)
        : fieldError.invalid(path.child("type"), type, detail),
    );
  } else if (list === "set" && itemSchema) {
    const itemType = schemaType(itemSchema);
    if (itemType === "array" && listType(itemSchema) !== undefined && listType(itemSchema) !== "atomic") {
      errors.push(
        fieldError.invalid(
          path.child("items", "x-kubernetes-list-type"),
          listType(itemSchema),
          "must be atomic as item of a list with x-kubernetes-list-type=set",
        ),
      );
    }
    if (itemType === "object" && mapType(itemSchema) !== "atomic") {
      errors.push(
        fieldError.invalid(
          path.child("items", "x-kubernetes-map-type"),
          listType(itemSchema) ?? null,
          "must be atomic as item of a list with x-kubernetes-list-type=set",
        ),
      );
    }
  }
  const rawList = s["x-kubernetes-list-type"];
  if (rawList !== undefined && rawList !== "atomic" && rawList !== "set" && rawList !== "map") {
    errors.push(
      fieldError.notSupported(path.child("x-kubernetes-list-type"), rawList, ["atomic", "set", "map"]),
    );
  }
  const keys = listMapKeys(s);
  if (keys.length > 0) {
    if (rawList === undefined) {
      errors.push(
        fieldError.required(
          path.child("x-kubernetes-list-type"),
          "must be map if x-kubernetes-list-map-keys is non-empty",
        ),
      );
    } else if (rawList !== "map") {
      errors.push(
        fieldError.invalid(
          path.child("x-kubernetes-list-type"),
          rawList,
          "must be map if x-kubernetes-list-map-keys is non-empty",
        ),
      );
    }
  }
  if (list === "map") {
    if (keys.length === 0) {
      errors.push(
        fieldError.required(
          path.child("x-kubernetes-list-map-keys"),
          "must not be empty if x-kubernetes-list-type is map",
        ),
      );
    }
    if (s.items === undefined || s.items === null) {
      errors.push(
        fieldError.required(path.child("items"), "must have a schema if x-kubernetes-list-type is map"),
      );
    }
    if (Array.isArray(s.items)) {
      errors.push(
        fieldError.invalid(
          path.child("items"),
          new GoLiteral("&apiextensions.JSONSchemaPropsOrArray{...}"),
          "must only have a single schema if x-kubernetes-list-type is map",
        ),
      );
    }
    if (itemSchema && schemaType(itemSchema) !== "object") {
      errors.push(
        fieldError.invalid(
          path.child("items", "type"),
          schemaType(itemSchema),
          "must be object if parent array's x-kubernetes-list-type is map",
        ),
      );
    }
    if (itemSchema && schemaType(itemSchema) === "object") {
      const seen = new Set<string>();
      for (const key of keys) {
        const keySchema = property(itemSchema, key);
        if (keySchema) {
          const keyType = schemaType(keySchema);
          if (keyType === "array" || keyType === "object") {
            errors.push(
              fieldError.invalid(
                path.child("items", "properties").key(key).child("type"),
                schemaType(itemSchema),
                "must be a scalar type if parent array's x-kubernetes-list-type is map",
              ),
            );
          }
        } else {
          errors.push(
            fieldError.invalid(
              path.child("x-kubernetes-list-map-keys"),
              strList(keys),
              "entries must all be names of item properties",
            ),
          );
        }
        if (seen.has(key)) {
          errors.push(
            fieldError.invalid(
              path.child("x-kubernetes-list-map-keys"),
              strList(keys),
              "must not contain duplicate entries",
            ),
          );
        }
        seen.add(key);
      }
    }
  }
  if (itemSchema && (list === "set" || list === "map")) {
    if (isNullable(itemSchema)) {
      errors.push(
        fieldError.forbidden(
          path.child("items", "nullable"),
          `cannot be nullable when x-kubernetes-list-type is ${list}`,
        ),
      );
    }
    if (list === "map") {
      const required = new Set(requiredFields(itemSchema));
      for (const key of keys) {
        const keySchema = property(itemSchema, key);
        if (!keySchema) continue;
        if (!required.has(key) && !hasDefault(keySchema)) {
          errors.push(
            fieldError.required(
              path.child("items", "properties").key(key).child("default"),
              "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
            ),
          );
        }
        if (isNullable(keySchema)) {
          errors.push(
            fieldError.forbidden(
              path.child("items", "properties").key(key).child("nullable"),
              "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
            ),
          );
        }
      }
    }
  }
  return errors;
}

function ruleEntryChecks(s: JsonSchemaProps, path: FieldPath): SchemaCause[] {
  const errors: SchemaCause[] = [];
  const newline = /[\n\r]+/;
  validationRules(s).forEach((rule, i) => {
    const at = path.child("x-kubernetes-validations").index(i);
    const trimmedRule = rule.rule.trim();
    const trimmedMessage = rule.message.trim();
    if (trimmedRule === "") errors.push(fieldError.required(at.child("rule"), "rule is not specified"));
    else if (rule.message.length > 0 && trimmedMessage === "") {
      errors.push(
        fieldError.invalid(at.child("message"), rule.message, "message must be non-empty if specified"),
      );
    } else if (newline.test(trimmedMessage)) {
      errors.push(
        fieldError.invalid(at.child("message"), rule.message, "message must not contain line breaks"),
      );
    } else if (newline.test(trimmedRule) && trimmedMessage === "") {
      errors.push(
        fieldError.required(at.child("message"), "message must be specified if rule contains line breaks"),
      );
    }
    if (rule.messageExpression.length > 0 && rule.messageExpression.trim() === "") {
      errors.push(
        fieldError.required(
          at.child("messageExpression"),
          "messageExpression must be non-empty if specified",
        ),
      );
    }
    if (rule.reason !== undefined && !supportedReasons.includes(rule.reason)) {
      errors.push(fieldError.notSupported(at.child("reason"), rule.reason, supportedReasons));
    }
    if (rule.fieldPath.length > 0 && rule.fieldPath.trim() === "") {
      errors.push(
        fieldError.invalid(at.child("fieldPath"), rule.fieldPath, "fieldPath must be non-empty if specified"),
      );
    }
    if (newline.test(rule.fieldPath)) {
      errors.push(
        fieldError.invalid(at.child("fieldPath"), rule.fieldPath, "fieldPath must not contain line breaks"),
      );
    }
    if (rule.fieldPath.length > 0 && "error" in validFieldPath(rule.fieldPath, s)) {
      errors.push(
        fieldError.invalid(at.child("fieldPath"), rule.fieldPath, "fieldPath must be a valid path"),
      );
    }
  });
  return errors;
}

function celChecks(
  s: JsonSchemaProps,
  path: FieldPath,
  ctx: Context,
  node: RuleNode | undefined,
): SchemaCause[] {
  const at = path.child("x-kubernetes-validations");
  if (!node?.declType) {
    return [
      fieldError.internal(
        at,
        "internal error: failed to retrieve type information for x-kubernetes-validations",
      ),
    ];
  }
  const errors: SchemaCause[] = [];
  node.rules.forEach((compiled, i) => {
    const rulePath = at.index(i);
    if (compiled.error)
      errors.push(fieldError.invalid(rulePath.child("rule"), ruleLiteral(compiled.rule), compiled.error));
    if (compiled.messageError) {
      errors.push(
        fieldError.invalid(
          rulePath.child("messageExpression"),
          ruleLiteral(compiled.rule),
          compiled.messageError,
        ),
      );
    }
    if (compiled.usesOldSelf) {
      if (ctx.uncorrelatablePath) {
        errors.push(
          fieldError.invalid(
            rulePath.child("rule"),
            compiled.rule.rule,
            `oldSelf cannot be used on the uncorrelatable portion of the schema within ${ctx.uncorrelatablePath}`,
          ),
        );
      }
    } else if (compiled.rule.optionalOldSelf !== undefined) {
      errors.push(
        fieldError.invalid(
          rulePath.child("optionalOldSelf"),
          compiled.rule.optionalOldSelf,
          "may not be set if oldSelf is not used in rule",
        ),
      );
    }
  });
  void s;
  return errors;
}
