// OpenAPI v3 documents (/openapi/v3 and /openapi/v3/{api/v1 | apis/group/version}): what
// kubectl reads to learn that the server validates fields itself (a fieldValidation query
// parameter on PATCH operations carrying x-kubernetes-group-version-kind) and, for built-in
// kinds, the list merge keys that its strategic merge patches need.
import { createHash } from "node:crypto";
import { BUILTIN_COMPONENTS, componentRef } from "../api/builtin-schemas.js";
import type { Registry, ServedVersion } from "../api/registry.js";
import type { JsonObject } from "../json.js";
import { isObject } from "../json.js";
import { APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH } from "../rest/patch.js";
import { KUBERNETES_VERSION } from "./discovery.js";

function gvPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

function queryParameter(name: string, description: string, type = "string"): JsonObject {
  return { name, in: "query", description, schema: { type, uniqueItems: true } };
}

const WRITE_PARAMETERS = [
  queryParameter("dryRun", "When present, indicates that modifications should not be persisted."),
  queryParameter(
    "fieldManager",
    "fieldManager is a name associated with the actor or entity that is making these changes.",
  ),
  queryParameter(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default), Strict.",
  ),
];

/** The component a served version's objects are described by. */
function componentName({ type, version }: ServedVersion): string {
  if (version.openApiComponent) return version.openApiComponent;
  const reversed = type.group.split(".").reverse().join(".");
  return `${reversed}.${version.name}.${type.kind}`;
}

function customResourceComponent(served: ServedVersion): JsonObject {
  const { type, version } = served;
  const schema = structuredClone(version.schema ?? { type: "object" }) as JsonObject;
  const properties = isObject(schema.properties) ? schema.properties : {};
  properties.apiVersion = { type: "string" };
  properties.kind = { type: "string" };
  properties.metadata = componentRef("V1ObjectMeta");
  schema.properties = properties;
  schema["x-kubernetes-group-version-kind"] = [{ group: type.group, version: version.name, kind: type.kind }];
  return schema;
}

function operation(
  served: ServedVersion,
  action: string,
  options: { body?: string[]; patch?: boolean } = {},
): JsonObject {
  const { type, version } = served;
  const ref = componentRef(componentName(served));
  const op: JsonObject = {
    operationId: `${action}${type.kind}`,
    responses: { "200": { description: "OK", content: { "application/json": { schema: ref } } } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": { group: type.group, version: version.name, kind: type.kind },
  };
  if (options.body) {
    const content: JsonObject = {};
    for (const mediaType of options.body)
      content[mediaType] = { schema: options.patch ? { type: "object" } : ref };
    op.requestBody = { content, required: true };
    op.parameters = options.patch
      ? [...WRITE_PARAMETERS, queryParameter("force", 'Force is going to "force" Apply requests.', "boolean")]
      : WRITE_PARAMETERS;
  }
  return op;
}

function pathsFor(served: ServedVersion): [string, JsonObject][] {
  const { type, version } = served;
  const base = `/${gvPath(type.group, version.name)}`;
  const collection = type.namespaced
    ? `${base}/namespaces/{namespace}/${type.resource}`
    : `${base}/${type.resource}`;
  const patchTypes =
    type.crdName === undefined
      ? [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH]
      : [JSON_PATCH, MERGE_PATCH, APPLY_PATCH];
  const paths: [string, JsonObject][] = [
    [
      collection,
      {
        get: operation(served, "list"),
        post: operation(served, "post", { body: ["application/json", "application/yaml"] }),
        delete: operation(served, "deletecollection"),
      },
    ],
    [
      `${collection}/{name}`,
      {
        get: operation(served, "get"),
        put: operation(served, "put", { body: ["application/json", "application/yaml"] }),
        patch: operation(served, "patch", { body: patchTypes, patch: true }),
        delete: operation(served, "delete"),
      },
    ],
  ];
  if (type.statusSubresource) {
    paths.push([
      `${collection}/{name}/status`,
      {
        get: operation(served, "get"),
        put: operation(served, "put", { body: ["application/json", "application/yaml"] }),
        patch: operation(served, "patch", { body: patchTypes, patch: true }),
      },
    ]);
  }
  if (type.namespaced) paths.push([`${base}/${type.resource}`, { get: operation(served, "list") }]);
  return paths;
}

/** The OpenAPI v3 document of one group-version; undefined when nothing is served there. */
export function openApiDocument(registry: Registry, group: string, version: string): JsonObject | undefined {
  const served = registry.resourcesIn(group, version);
  if (served.length === 0) return undefined;
  const schemas: JsonObject = { ...(BUILTIN_COMPONENTS as unknown as JsonObject) };
  const paths: JsonObject = {};
  for (const entry of served) {
    if (entry.type.crdName !== undefined) schemas[componentName(entry)] = customResourceComponent(entry);
    for (const [path, item] of pathsFor(entry)) paths[path] = item;
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: KUBERNETES_VERSION.gitVersion },
    paths,
    components: { schemas },
  };
}

/** The /openapi/v3 index: one entry per group-version, with a hash that changes with the document. */
export function openApiIndex(
  registry: Registry,
  documentHash: (group: string, version: string) => string,
): JsonObject {
  const paths: JsonObject = {};
  for (const { group, versions } of registry.groups()) {
    for (const version of versions) {
      const path = gvPath(group, version);
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${documentHash(group, version)}` };
    }
  }
  return { paths };
}

export function hashOf(text: string): string {
  return createHash("sha512").update(text).digest("hex").slice(0, 128).toUpperCase();
}
