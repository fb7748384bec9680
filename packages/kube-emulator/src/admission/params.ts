// A binding's params (policy/generic/policy_dispatcher.go CollectParams): the object its paramRef
// names, or those its selector selects, of the policy's paramKind; none found is an error only
// with parameterNotFoundAction Deny.
import type { Registry } from "../api/registry.js";
import { type ResourceType, type ResourceVersion, versionOf } from "../api/resource-type.js";
import type { JsonObject } from "../json.js";
import { metaOf, objectKey } from "../objects.js";
import { fromStorage } from "../rest/scope.js";
import { matchesLabels } from "../selectors.js";
import type { Storage } from "../storage/storage.js";
import { selectorRequirements } from "./matching.js";
import type { ParamKind, ParamRef } from "./policy-types.js";

/** A configuration error of a policy or binding; failurePolicy decides what it does to the request. */
export class PolicyConfigurationError extends Error {
  readonly code = "POLICY_CONFIGURATION";
}

export interface ParamSource {
  type: ResourceType;
  version: ResourceVersion;
}

/** The served resource of a paramKind; throws PolicyConfigurationError when nothing serves it. */
export function resolveParamKind(registry: Registry, paramKind: ParamKind): ParamSource {
  const apiVersion = paramKind.apiVersion ?? "";
  const parts = apiVersion.split("/");
  if (parts.length > 2) {
    throw new PolicyConfigurationError(
      `failed to parse paramKind APIVersion: unexpected GroupVersion string: ${apiVersion}`,
    );
  }
  const [group, version] = parts.length === 2 ? [parts[0]!, parts[1]!] : ["", parts[0]!];
  const kind = paramKind.kind ?? "";
  for (const type of registry.all()) {
    const served = type.group === group && type.kind === kind ? versionOf(type, version) : undefined;
    if (served) return { type, version: served };
  }
  throw new PolicyConfigurationError(
    `failed to find resource referenced by paramKind: '${group}/${version}, Kind=${kind}'`,
  );
}

/**
 * The params to evaluate a binding with: [null] when the policy or binding uses none, [] when none
 * were found and that is allowed. Throws PolicyConfigurationError.
 */
export function collectParams(
  storage: Storage,
  source: ParamSource | undefined,
  paramRef: ParamRef | undefined,
  requestNamespace: string,
): (JsonObject | null)[] {
  if (!source || !paramRef) return [null];
  const { type } = source;
  let namespace = "";
  if (type.namespaced) {
    namespace = paramRef.namespace || requestNamespace;
    if (namespace === "") {
      throw new PolicyConfigurationError(
        "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources",
      );
    }
  } else if (paramRef.namespace) {
    throw new PolicyConfigurationError(
      "paramRef.namespace must not be provided for a cluster-scoped `paramKind`",
    );
  }
  const store = storage.store(type.storeId, type.namespaced);
  let found: JsonObject[];
  if (paramRef.name) {
    const stored = store.get(objectKey(namespace, paramRef.name));
    found = stored ? [stored.object] : [];
  } else if (paramRef.selector) {
    const requirements = selectorRequirements(paramRef.selector);
    found = [...store.scan(namespace || undefined)]
      .map((stored) => stored.object)
      .filter((object) => matchesLabels(requirements, metaOf(object).labels));
  } else {
    throw new PolicyConfigurationError("one of name or selector must be provided");
  }
  if (found.length === 0 && paramRef.parameterNotFoundAction === "Deny") {
    throw new PolicyConfigurationError(
      "no params found for policy binding with `Deny` parameterNotFoundAction",
    );
  }
  return found.map((object) => fromStorage(source, object));
}
