// CustomResourceDefinitions from the TypeBox schemas: the only source of crds/*.yaml.

import type { TSchema } from "typebox";
import { AzidError } from "../util/errors.js";
import { KINDS, type KindDefinition } from "./kinds.js";
import { GROUP, VERSION } from "./schemas/common.js";
import type { CelRule } from "./schemas/helpers.js";

export type JsonSchemaProps = Record<string, unknown>;

/** Keywords a structural schema may carry, copied as they are. */
const COPIED = new Set([
  "type",
  "description",
  "default",
  "enum",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "required",
  "nullable",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-embedded-resource",
]);

export class CrdSchemaError extends AzidError {
  override readonly name = "CrdSchemaError";
  readonly errorCode = "api.NonStructuralSchema";
  readonly code = "NonStructuralSchema";
}

/**
 * Turns a TypeBox schema into a structural OpenAPI v3 schema: every node typed, no anyOf/oneOf,
 * `additionalProperties: false` dropped (the API server prunes instead), string maps as
 * `additionalProperties`, CEL rules without their TypeScript mirrors. Anything else is a
 * generator error, so a schema that Kubernetes would refuse never reaches crds/.
 */
export function structuralSchema(schema: TSchema, path = "<root>"): JsonSchemaProps {
  const source = schema as Record<string, unknown>;
  const out: JsonSchemaProps = {};
  for (const [key, value] of Object.entries(source)) {
    if (COPIED.has(key)) {
      out[key] = structuredClone(value);
    } else if (key === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, TSchema>).map(([name, child]) => [
          name,
          structuralSchema(child, `${path}.${name}`),
        ]),
      );
    } else if (key === "items") {
      out.items = structuralSchema(value as TSchema, `${path}[]`);
    } else if (key === "patternProperties") {
      const entries = Object.entries(value as Record<string, TSchema>);
      if (entries.length !== 1 || entries[0]?.[0] !== "^.*$") {
        throw new CrdSchemaError(`${path}: only string-keyed maps can become additionalProperties`);
      }
      out.additionalProperties = structuralSchema(entries[0][1], `${path}{}`);
    } else if (key === "additionalProperties") {
      if (value !== false) throw new CrdSchemaError(`${path}: additionalProperties must be a string map`);
    } else if (key === "x-kubernetes-validations") {
      out[key] = (value as CelRule[]).map(({ check: _mirror, ...rule }) => rule);
    } else {
      throw new CrdSchemaError(`${path}: keyword ${key} has no structural equivalent`);
    }
  }
  if (typeof out.type !== "string") throw new CrdSchemaError(`${path}: every node needs a type`);
  return out;
}

/** The CRD's root schema: the standard apiVersion/kind/metadata and the kind's spec and status. */
function rootSchema(definition: KindDefinition): JsonSchemaProps {
  const { spec, status } = definition.schema.properties as Record<string, TSchema>;
  const rules = (definition.schema as { "x-kubernetes-validations"?: CelRule[] })["x-kubernetes-validations"];
  const root: JsonSchemaProps = {
    type: "object",
    description: (definition.schema as { description?: string }).description,
    required: ["spec"],
    properties: {
      apiVersion: {
        type: "string",
        description: "APIVersion defines the versioned schema of this representation of an object.",
      },
      kind: { type: "string", description: "Kind is a string value representing the REST resource." },
      // The API server forbids anything but the type here (name and generateName aside).
      metadata: { type: "object" },
      spec: structuralSchema(spec as TSchema, "spec"),
      ...(status ? { status: structuralSchema(status, "status") } : {}),
    },
  };
  if (rules) root["x-kubernetes-validations"] = rules.map(({ check: _mirror, ...rule }) => rule);
  return root;
}

export function customResourceDefinition(definition: KindDefinition): JsonSchemaProps {
  const hasStatus = "status" in (definition.schema.properties as object);
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${definition.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "azid", "app.kubernetes.io/component": "crd" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: definition.shortNames,
        categories: ["azid"],
      },
      scope: definition.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          ...(hasStatus ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: definition.printerColumns,
          schema: { openAPIV3Schema: rootSchema(definition) },
        },
      ],
    },
  };
}

export interface CrdFile {
  /** File name inside crds/, `<group>_<plural>.yaml` as controller-gen names them. */
  file: string;
  crd: JsonSchemaProps;
}

export function crdFiles(): CrdFile[] {
  return KINDS.map((definition) => ({
    file: `${GROUP}_${definition.plural}.yaml`,
    crd: customResourceDefinition(definition),
  }));
}

/** What crds/*.yaml start with; the script appends the YAML of the CRD. */
export const CRD_FILE_HEADER =
  "# Generated by `npm run gen:crds` from src/api (TypeBox schemas). Do not edit.\n";
