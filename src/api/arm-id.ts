// ARM resource ids and scopes: strict parsing of everything that will reach a URL, canonical
// formatting, and the case-insensitive comparisons ARM itself applies.
import { AzidError } from "../util/errors.js";
import { SEGMENT } from "./patterns.js";

/** Longest ARM id or scope azid accepts (the schemas' maxLength). */
export const MAX_ARM_ID_LENGTH = 1024;

export class ArmIdError extends AzidError {
  override readonly name = "ArmIdError";
  readonly errorCode = "api.InvalidArmId";
  readonly code = "InvalidArmId";
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(
      `invalid ARM id ${JSON.stringify(input.length > 200 ? `${input.slice(0, 200)}...` : input)}: ${reason}`,
    );
  }
}

export interface ResourceSegment {
  type: string;
  name: string;
}

/** `/providers/{namespace}/{type}/{name}[/{type}/{name}]...`; a second block is an extension resource. */
export interface ProviderBlock {
  namespace: string;
  segments: ResourceSegment[];
}

export type ArmScope =
  | { kind: "managementGroup"; managementGroup: string }
  | { kind: "subscription"; subscriptionId: string }
  | { kind: "resourceGroup"; subscriptionId: string; resourceGroup: string }
  | ResourceScope;

export interface ResourceScope {
  kind: "resource";
  subscriptionId: string;
  resourceGroup?: string;
  providers: ProviderBlock[];
}

const FORBIDDEN = /[?#%\\\s]/;

function fail(input: string, reason: string): never {
  throw new ArmIdError(input, reason);
}

/** Splits and checks the characters and segments every ARM id must respect. */
function segmentsOf(input: string): string[] {
  if (typeof input !== "string") fail(String(input), "not a string");
  if (input.length === 0) fail(input, "empty");
  if (input.length > MAX_ARM_ID_LENGTH) fail(input, `longer than ${MAX_ARM_ID_LENGTH} characters`);
  for (const char of input) {
    const code = char.codePointAt(0) as number;
    if (code < 0x20 || code === 0x7f) fail(input, "contains a control character");
    if (code > 0x7e) fail(input, "contains a non-ASCII character");
  }
  const forbidden = FORBIDDEN.exec(input);
  if (forbidden) fail(input, `contains ${JSON.stringify(forbidden[0])}`);
  if (!input.startsWith("/")) fail(input, "must start with /");
  if (input.endsWith("/") && input !== "/") fail(input, "must not end with /");
  const segments = input.split("/").slice(1);
  for (const segment of segments) {
    if (segment === "") fail(input, "contains an empty segment (//)");
    if (segment === "." || segment === "..")
      fail(input, `contains the dot segment ${JSON.stringify(segment)}`);
  }
  return segments;
}

const lower = (s: string | undefined) => (s ?? "").toLowerCase();

function expect(input: string, value: string | undefined, test: RegExp, what: string): string {
  if (value === undefined) fail(input, `${what} is missing`);
  if (!test.test(value)) fail(input, `${what} ${JSON.stringify(value)} is not valid`);
  return value;
}

/** Parses a management group, subscription, resource group or resource scope. Throws ArmIdError. */
export function parseScope(input: string): ArmScope {
  const segments = segmentsOf(input);
  const first = lower(segments[0]);
  if (first === "providers") {
    if (
      segments.length !== 4 ||
      lower(segments[1]) !== "microsoft.management" ||
      lower(segments[2]) !== "managementgroups"
    ) {
      fail(input, "only management groups may be addressed from /providers");
    }
    return {
      kind: "managementGroup",
      managementGroup: expect(input, segments[3], SEGMENT.managementGroup, "management group name"),
    };
  }
  if (first !== "subscriptions") fail(input, "must start with /subscriptions/ or a management group");
  const subscriptionId = expect(input, segments[1], SEGMENT.guid, "subscription id").toLowerCase();
  let i = 2;
  let resourceGroup: string | undefined;
  if (lower(segments[i]) === "resourcegroups") {
    resourceGroup = expect(input, segments[i + 1], SEGMENT.resourceGroup, "resource group name");
    i += 2;
  }
  const providers: ProviderBlock[] = [];
  while (i < segments.length) {
    if (lower(segments[i]) !== "providers") {
      fail(input, `expected /providers/ at segment ${i + 1}, found ${JSON.stringify(segments[i])}`);
    }
    const block: ProviderBlock = {
      namespace: expect(input, segments[i + 1], SEGMENT.providerNamespace, "provider namespace"),
      segments: [],
    };
    i += 2;
    do {
      block.segments.push({
        type: expect(input, segments[i], SEGMENT.resourceType, "resource type"),
        name: expect(input, segments[i + 1], SEGMENT.resourceName, "resource name"),
      });
      i += 2;
    } while (i < segments.length && !startsExtension(segments, i));
    providers.push(block);
  }
  if (providers.length > 0) return { kind: "resource", subscriptionId, resourceGroup, providers };
  if (resourceGroup !== undefined) return { kind: "resourceGroup", subscriptionId, resourceGroup };
  return { kind: "subscription", subscriptionId };
}

/**
 * `providers/{namespace}/{type}/{name}` after a resource starts an extension resource; any
 * other `providers` segment is an ordinary child type. Either reading accepts the same strings
 * (so the schemas' patterns and this parser agree); this one gives ARM's structure.
 */
function startsExtension(segments: string[], i: number): boolean {
  return (
    lower(segments[i]) === "providers" &&
    SEGMENT.providerNamespace.test(segments[i + 1] ?? "") &&
    i + 3 < segments.length
  );
}

/** Parses an id that must name a resource (not a subscription, group or management group). */
export function parseResourceId(input: string): ResourceScope {
  const scope = parseScope(input);
  if (scope.kind !== "resource") fail(input, `is a ${scope.kind}, not a resource`);
  return scope;
}

/** True when parseScope accepts the text. */
export function isValidScope(input: string): boolean {
  try {
    parseScope(input);
    return true;
  } catch {
    return false;
  }
}

export function isValidResourceId(input: string): boolean {
  try {
    parseResourceId(input);
    return true;
  } catch {
    return false;
  }
}

/** Canonical text: ARM's keyword casing, lowercase subscription id, names as given. */
export function formatScope(scope: ArmScope): string {
  switch (scope.kind) {
    case "managementGroup":
      return `/providers/Microsoft.Management/managementGroups/${scope.managementGroup}`;
    case "subscription":
      return subscriptionScope(scope.subscriptionId);
    case "resourceGroup":
      return resourceGroupScope(scope.subscriptionId, scope.resourceGroup);
    case "resource": {
      const parent =
        scope.resourceGroup === undefined
          ? subscriptionScope(scope.subscriptionId)
          : resourceGroupScope(scope.subscriptionId, scope.resourceGroup);
      const blocks = scope.providers.map(
        (block) =>
          `/providers/${block.namespace}${block.segments.map((s) => `/${s.type}/${s.name}`).join("")}`,
      );
      return parent + blocks.join("");
    }
  }
}

/** Parses and re-formats; throws ArmIdError. */
export function canonicalScope(input: string): string {
  return formatScope(parseScope(input));
}

/**
 * The comparison key of an id (ARM ids are case-insensitive). Lenient on purpose: ids that
 * Azure returns are compared with it without being re-validated.
 */
export function armIdKey(id: string): string {
  const key = id.toLowerCase();
  return key.length > 1 && key.endsWith("/") ? key.slice(0, -1) : key;
}

/**
 * Whether two Azure identifiers (resource ids, GUIDs, names ARM keys on) are the same, as ARM
 * compares them: ignoring case. An absent one is the same as nothing.
 */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/** True when `scope` is `ancestor` or lies beneath it, on segment boundaries. */
export function isWithin(scope: string, ancestor: string): boolean {
  const s = armIdKey(scope);
  const a = armIdKey(ancestor);
  return s === a || s.startsWith(`${a}/`);
}

/** `Microsoft.Compute/virtualMachines` (child types joined; the last provider block for extensions). */
export function resourceTypeOf(resource: ResourceScope): string {
  const block = resource.providers[resource.providers.length - 1] as ProviderBlock;
  return [block.namespace, ...block.segments.map((s) => s.type)].join("/");
}

export function resourceNameOf(resource: ResourceScope): string {
  const block = resource.providers[resource.providers.length - 1] as ProviderBlock;
  return (block.segments[block.segments.length - 1] as ResourceSegment).name;
}

export function subscriptionScope(subscriptionId: string): string {
  return `/subscriptions/${subscriptionId.toLowerCase()}`;
}

export function resourceGroupScope(subscriptionId: string, resourceGroup: string): string {
  return `${subscriptionScope(subscriptionId)}/resourceGroups/${resourceGroup}`;
}

export function userAssignedIdentityId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${resourceGroupScope(subscriptionId, resourceGroup)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

/** The subscription a scope belongs to, or undefined for a management group. */
export function subscriptionOfScope(scope: ArmScope): string | undefined {
  return scope.kind === "managementGroup" ? undefined : scope.subscriptionId;
}

/**
 * Where the role assignments of a principal are listed for a scope: the scope's subscription
 * (one list call covers every scope in it), or the management group itself.
 */
export function listingScopeOf(scope: ArmScope): string {
  return scope.kind === "managementGroup" ? formatScope(scope) : subscriptionScope(scope.subscriptionId);
}

const ROLE_DEFINITION_ID =
  /^(?:\/subscriptions\/([0-9a-f-]{36}))?\/providers\/microsoft\.authorization\/roledefinitions\/([0-9a-f-]{36})$/;

/** The GUID of a role definition given as GUID or full id (at tenant or subscription level). */
export function roleDefinitionGuid(idOrGuid: string): string {
  const text = idOrGuid.toLowerCase();
  if (SEGMENT.guid.test(text)) return text;
  const match = ROLE_DEFINITION_ID.exec(text);
  if (!match || !SEGMENT.guid.test(match[2] as string)) {
    throw new ArmIdError(idOrGuid, "is neither a role definition GUID nor a role definition id");
  }
  return match[2] as string;
}

/**
 * The role definition id that a role assignment at `scope` refers to: subscription-level for
 * scopes in a subscription (as ARM returns it there), tenant-level for management groups.
 */
export function roleDefinitionIdFor(scope: ArmScope, guid: string): string {
  const subscriptionId = subscriptionOfScope(scope);
  const path = `/providers/Microsoft.Authorization/roleDefinitions/${guid.toLowerCase()}`;
  return subscriptionId === undefined ? path : subscriptionScope(subscriptionId) + path;
}

export function roleAssignmentId(scope: string, name: string): string {
  return `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
}
