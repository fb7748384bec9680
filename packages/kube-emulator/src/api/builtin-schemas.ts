// The OpenAPI v3 schemas of the built-in kinds (generated from @kubernetes/client-node's
// models by test/support/builtin-schemas-generator.ts) and their types.
import schemas from "../builtin/schemas.json" with { type: "json" };
import type { Schema } from "../typed.js";
import { TypeNode } from "../typed.js";

export const BUILTIN_COMPONENTS = schemas as unknown as Record<string, Schema>;

export function componentRef(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

export function componentType(name: string): TypeNode {
  if (!BUILTIN_COMPONENTS[name]) throw new Error(`no built-in schema ${name}`);
  return new TypeNode(BUILTIN_COMPONENTS, componentRef(name));
}

/** The type of a custom resource: its CRD schema, with the standard apiVersion, kind and metadata. */
export function customResourceType(schema: Schema | undefined): TypeNode {
  const properties = { ...((schema?.properties as Record<string, Schema> | undefined) ?? {}) };
  properties.apiVersion = { type: "string" };
  properties.kind = { type: "string" };
  properties.metadata = componentRef("V1ObjectMeta");
  return new TypeNode(BUILTIN_COMPONENTS, { ...(schema ?? {}), type: "object", properties });
}
