// Validation of azid manifests without a cluster (azid validate / plan / apply): the same
// schema the CRDs carry, the list-type uniqueness the API server enforces, and every CEL rule
// through its TypeScript mirror. Defaults are applied as the API server would apply them.

import type { TSchema } from "typebox";
import { Compile, type Validator } from "typebox/compile";
import { ArmIdError, armIdKey, parseResourceId, parseScope, roleDefinitionGuid } from "./arm-id.js";
import { builtinRoleByName } from "./builtin-roles.js";
import { kindDefinition } from "./kinds.js";
import { PATTERNS } from "./patterns.js";
import { API_VERSION, type RoleAssignmentSpec } from "./schemas/common.js";
import type { CustomRole } from "./schemas/custom-role.js";
import type { CelRule } from "./schemas/helpers.js";
import type { IdentityPolicy } from "./schemas/identity-policy.js";
import type { SystemAssignedIdentity } from "./schemas/system-assigned-identity.js";
import type { TenantMigration } from "./schemas/tenant-migration.js";
import type { UserAssignedIdentity } from "./schemas/user-assigned-identity.js";
import { serviceAccountCredentialName } from "./workload-identity.js";

export type AzidResource =
  | UserAssignedIdentity
  | SystemAssignedIdentity
  | CustomRole
  | IdentityPolicy
  | TenantMigration;

export interface ValidationIssue {
  /** Where, as Kubernetes prints field paths: `spec.roleAssignments[0].scope`. */
  field: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; resource: AzidResource }
  | { ok: false; kind?: string; issues: ValidationIssue[] };

const PATTERN_LABELS = new Map<string, string>([
  [PATTERNS.guid, "a GUID"],
  [PATTERNS.resourceGroup, "a resource group name: 1-90 letters, digits, - _ . ( ), not ending with ."],
  [PATTERNS.identityName, "an identity name: 3-128 letters, digits, - or _, starting with a letter or digit"],
  [
    PATTERNS.federatedCredentialName,
    "a federated credential name: 3-120 letters, digits, - or _, starting with a letter or digit",
  ],
  [PATTERNS.roleDefinitionId, "a role definition GUID or id"],
  [PATTERNS.location, "an Azure region such as westeurope"],
  [PATTERNS.httpsUrl, "an https URL"],
]);

/** Validates one manifest; on success returns it with defaults applied. */
export function validateResource(input: unknown, old?: unknown): ValidationResult {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ field: "", message: "a manifest must be an object" }] };
  }
  const { apiVersion, kind } = input as { apiVersion?: unknown; kind?: unknown };
  if (apiVersion !== API_VERSION) {
    return { ok: false, issues: [{ field: "apiVersion", message: `must be ${API_VERSION}` }] };
  }
  const definition = typeof kind === "string" ? kindDefinition(kind) : undefined;
  if (!definition) {
    return { ok: false, issues: [{ field: "kind", message: `unknown kind ${JSON.stringify(kind)}` }] };
  }
  const validator = validatorOf(definition.kind, definition.schema);
  const resource = validator.Default(structuredClone(input)) as AzidResource;
  const issues = validator.Check(resource) ? [] : schemaIssues(validator, resource);
  if (issues.length === 0) {
    // As in the API server, CEL rules only run on an object that passed the schema.
    walk(definition.schema, resource, old, [], issues);
    issues.push(...duplicateRoleAssignments(resource));
    issues.push(...credentialNameClashes(resource));
  }
  return issues.length === 0 ? { ok: true, resource } : { ok: false, kind: definition.kind, issues };
}

function fieldOf(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

const validators = new Map<string, Validator>();

/** Compiled once per kind (TypeBox generates the checking code). */
function validatorOf(kind: string, schema: TSchema): Validator {
  let validator = validators.get(kind);
  if (!validator) {
    validator = Compile(schema) as Validator;
    validators.set(kind, validator);
  }
  return validator;
}

function schemaIssues(validator: Validator, value: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of validator.Errors(value)) {
    const field = fieldOf(error.instancePath);
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case "boolean":
        // "schema is false" for each unknown property; reported once below as an unknown field.
        break;
      case "additionalProperties":
        for (const name of (params.additionalProperties as string[]) ?? []) {
          issues.push({ field: field ? `${field}.${name}` : name, message: "unknown field" });
        }
        break;
      case "pattern":
        issues.push({
          field,
          message: patternMessage(String(params.pattern), valueAt(value, error.instancePath)),
        });
        break;
      default:
        issues.push({ field, message: error.message });
    }
  }
  return issues;
}

function patternMessage(pattern: string, value: unknown): string {
  if (pattern === PATTERNS.scope || pattern === PATTERNS.resourceId) {
    try {
      if (pattern === PATTERNS.scope) parseScope(String(value));
      else parseResourceId(String(value));
    } catch (error) {
      if (error instanceof ArmIdError) return error.reason;
    }
    return pattern === PATTERNS.scope ? "must be an ARM scope" : "must be an ARM resource id";
  }
  const label = PATTERN_LABELS.get(pattern);
  return label ? `must be ${label}` : `must match ${pattern}`;
}

function valueAt(root: unknown, pointer: string): unknown {
  let value = root;
  for (const part of pointer.split("/").slice(1)) {
    value = (value as Record<string, unknown> | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return value;
}

type Json = Record<string, unknown>;

function display(path: (string | number)[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === "number" ? `${text}[${part}]` : text ? `${text}.${part}` : part),
    "",
  );
}

/** Walks schema and value together: list-type uniqueness, then the CEL mirrors at every node. */
function walk(
  schema: TSchema,
  value: unknown,
  old: unknown,
  path: (string | number)[],
  issues: ValidationIssue[],
) {
  if (value === undefined) return;
  const node = schema as Json;
  if (Array.isArray(value)) {
    const items = node.items as TSchema | undefined;
    checkListType(node, value, path, issues);
    const keys = node["x-kubernetes-list-map-keys"] as string[] | undefined;
    value.forEach((item, index) => {
      // Transition rules see the old item only where Kubernetes correlates them: map lists, by key.
      const previous =
        keys && Array.isArray(old)
          ? old.find((candidate) => keys.every((key) => candidate?.[key] === (item as Json)?.[key]))
          : undefined;
      if (items) walk(items, item, previous, [...path, index], issues);
    });
  } else if (typeof value === "object" && value !== null) {
    const record = value as Json;
    const properties = (node.properties ?? {}) as Record<string, TSchema>;
    for (const [name, child] of Object.entries(properties)) {
      walk(child, record[name], (old as Json | undefined)?.[name], [...path, name], issues);
    }
    const map = (node.patternProperties as Record<string, TSchema> | undefined)?.["^.*$"];
    if (map) {
      for (const [name, child] of Object.entries(record)) {
        walk(map, child, (old as Json | undefined)?.[name], [...path, name], issues);
      }
    }
  }
  for (const rule of (node["x-kubernetes-validations"] ?? []) as CelRule[]) {
    const transition = rule.rule.includes("oldSelf");
    if (transition && old === undefined) continue;
    if (!rule.check(value, old)) {
      const field = rule.fieldPath ? `${display(path)}${rule.fieldPath}` : display(path);
      issues.push({ field: field.replace(/^\./, ""), message: rule.message });
    }
  }
}

function checkListType(node: Json, list: unknown[], path: (string | number)[], issues: ValidationIssue[]) {
  const type = node["x-kubernetes-list-type"];
  const keys = node["x-kubernetes-list-map-keys"] as string[] | undefined;
  if (type !== "set" && type !== "map") return;
  const seen = new Set<string>();
  list.forEach((item, index) => {
    const identity = JSON.stringify(type === "map" ? keys?.map((key) => (item as Json)?.[key]) : item);
    if (seen.has(identity)) {
      const what = type === "map" ? `${keys?.join("+")} ${identity}` : identity;
      issues.push({ field: display([...path, index]), message: `duplicate value: ${what}` });
    }
    seen.add(identity);
  });
}

/**
 * Role assignments declared twice: the same role at the same scope, however it is written (a
 * built-in role by name or by id). Azure holds one assignment per principal, role and scope, so a
 * second item could only fight the first (over its condition, say). The API server cannot see it
 * (the items have no required keys to make the list a map, and a CEL rule comparing every pair
 * costs more than the API server allows), so azid refuses it as the API server refuses a duplicate
 * key of a map list; the controller reports it as InvalidSpec and writes nothing.
 */
function duplicateRoleAssignments(resource: AzidResource): ValidationIssue[] {
  const items =
    (resource.spec as { roleAssignments?: RoleAssignmentSpec[] } | undefined)?.roleAssignments ?? [];
  const firstIndex = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  items.forEach((item, index) => {
    const key = `${armIdKey(item.scope)}|${roleIdentity(item)}`;
    const first = firstIndex.get(key);
    if (first === undefined) {
      firstIndex.set(key, index);
      return;
    }
    issues.push({
      field: `spec.roleAssignments[${index}]`,
      message: `duplicate value: the same role at the same scope as spec.roleAssignments[${first}] (Azure holds one assignment per principal, role and scope)`,
    });
  });
  return issues;
}

function roleIdentity(item: RoleAssignmentSpec): string {
  if (item.customRoleRef) return `CustomRole/${item.customRoleRef.name}`;
  if (item.roleDefinitionId) return roleDefinitionGuid(item.roleDefinitionId);
  const name = item.role ?? "";
  return builtinRoleByName(name)?.guid ?? `role/${name.toLowerCase()}`;
}

/** An explicit federated credential must not take the name azid keeps for a ServiceAccount. */
function credentialNameClashes(resource: AzidResource): ValidationIssue[] {
  if (resource.kind !== "UserAssignedIdentity") return [];
  const explicit = resource.spec.federatedCredentials ?? [];
  const issues: ValidationIssue[] = [];
  for (const [index, account] of (resource.spec.serviceAccounts ?? []).entries()) {
    const derived = serviceAccountCredentialName(account.name);
    const clash = explicit.findIndex((credential) => credential.name.toLowerCase() === derived.toLowerCase());
    if (clash >= 0) {
      issues.push({
        field: `spec.federatedCredentials[${clash}].name`,
        message: `${derived} is the name azid keeps for serviceAccounts[${index}] (${account.name}): rename this credential`,
      });
    }
  }
  return issues;
}
