// Reading a request path the way the API server's RequestInfoFactory does.

export interface ResourceRequest {
  group: string;
  version: string;
  /** "" for cluster-scoped requests and cluster-wide lists. */
  namespace: string;
  resource: string;
  name: string;
  subresource: string;
}

/** Subresources of a namespace, which are not resources inside it. */
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/** Parses /api/v1/... and /apis/{group}/{version}/...; undefined for any other path. */
export function parseResourcePath(pathname: string): ResourceRequest | undefined {
  const parts = pathname
    .split("/")
    .filter((part) => part !== "")
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace = "";
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  const [resource, name = "", subresource = "", ...extra] = rest;
  if (!resource || extra.length > 0) return undefined;
  // A namespace itself (/api/v1/namespaces/{name}) is cluster-scoped.
  if (resource === "namespaces" && group === "") namespace = "";
  return { group, version, namespace, resource, name, subresource };
}
