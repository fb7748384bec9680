import { createHash, randomUUID } from "node:crypto";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const newGuid = (): string => randomUUID();
export const isGuid = (value: unknown): value is string => typeof value === "string" && GUID.test(value);

/** A stable GUID derived from a text (for ids that must be the same across restarts). */
export function guidFrom(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** ARM ids and scopes compare case-insensitively; this is the key every index uses. */
export const key = (id: string): string => id.toLowerCase();

/** `/a//b/` -> `/a/b`: ARM tolerates doubled and trailing slashes (the SDK sends `//` for an empty parent path). */
export function normalizePath(path: string): string {
  const collapsed = `/${path.split("/").filter(Boolean).join("/")}`;
  return collapsed;
}

/** True when `scope` is `ancestor` or lies below it. The root scope `/` contains everything. */
export function isAtOrBelow(scope: string, ancestor: string): boolean {
  if (ancestor === "/") return true;
  const s = key(scope);
  const a = key(ancestor);
  return s === a || s.startsWith(`${a}/`);
}

/** The subscription id in a scope or resource id, if any. */
export function subscriptionOf(id: string): string | undefined {
  const match = /^\/subscriptions\/([^/]+)/i.exec(id);
  return match?.[1];
}

/** The resource group name in a scope or resource id, if any. */
export function resourceGroupOf(id: string): string | undefined {
  const match = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)/i.exec(id);
  return match?.[1];
}

export interface ParsedResourceId {
  subscriptionId: string;
  resourceGroup: string;
  namespace: string;
  /** `virtualMachines` or `sites/slots` */
  type: string;
  /** The last name segment. */
  name: string;
  /** `Microsoft.Compute/virtualMachines` */
  fullType: string;
}

/** Parses `/subscriptions/s/resourceGroups/rg/providers/Ns/type/name[/type/name]*`. */
export function parseResourceId(id: string): ParsedResourceId | undefined {
  const parts = normalizePath(id).split("/").slice(1);
  if (parts.length < 8 || parts.length % 2 !== 0) return undefined;
  if (
    key(parts[0]!) !== "subscriptions" ||
    key(parts[2]!) !== "resourcegroups" ||
    key(parts[4]!) !== "providers"
  )
    return undefined;
  const rest = parts.slice(6);
  const types: string[] = [];
  for (let i = 0; i < rest.length; i += 2) types.push(rest[i]!);
  const namespace = parts[5]!;
  return {
    subscriptionId: parts[1]!,
    resourceGroup: parts[3]!,
    namespace,
    type: types.join("/"),
    name: rest[rest.length - 1]!,
    fullType: `${namespace}/${types.join("/")}`,
  };
}

export const subscriptionScope = (subscriptionId: string): string => `/subscriptions/${subscriptionId}`;
export const resourceGroupScope = (subscriptionId: string, resourceGroup: string): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;

/** Random base64url text, e.g. for Graph appRoleAssignment ids. */
export function randomToken(bytes: number): string {
  return createHash("sha256").update(randomUUID()).digest().subarray(0, bytes).toString("base64url");
}
