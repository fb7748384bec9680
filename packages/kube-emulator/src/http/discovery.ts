// Discovery documents (/version, /api, /apis, /apis/{group}, /api/v1, /apis/{group}/{version})
// in the plain, unaggregated form that kubectl and client-node fall back to.
import { createHash } from "node:crypto";
import type { Registry } from "../api/registry.js";
import { groupVersion } from "../api/resource-type.js";
import type { JsonObject } from "../json.js";

export const KUBERNETES_VERSION = { major: "1", minor: "36", gitVersion: "v1.36.0" };

export function versionInfo(): JsonObject {
  return {
    major: KUBERNETES_VERSION.major,
    minor: KUBERNETES_VERSION.minor,
    emulationMajor: KUBERNETES_VERSION.major,
    emulationMinor: KUBERNETES_VERSION.minor,
    minCompatibilityMajor: KUBERNETES_VERSION.major,
    minCompatibilityMinor: String(Number(KUBERNETES_VERSION.minor) - 1),
    gitVersion: `${KUBERNETES_VERSION.gitVersion}+azid-emulator`,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.25.0",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]): JsonObject {
  const entries = versions.map((version) => ({ groupVersion: groupVersion(name, version), version }));
  return { name, versions: entries, preferredVersion: entries[0]! };
}

export function apiGroupList(registry: Registry): JsonObject {
  const groups = registry
    .groups()
    .filter((g) => g.group !== "")
    .map((g) => apiGroup(g.group, g.versions));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

export function apiGroupDocument(registry: Registry, group: string): JsonObject | undefined {
  const found = registry.groups().find((g) => g.group === group && group !== "");
  return found ? { kind: "APIGroup", apiVersion: "v1", ...apiGroup(found.group, found.versions) } : undefined;
}

/** The APIResourceList of a group-version, with x/status subresources; undefined when nothing is served there. */
export function apiResourceList(registry: Registry, group: string, version: string): JsonObject | undefined {
  const served = registry.resourcesIn(group, version);
  if (served.length === 0) return undefined;
  const resources: JsonObject[] = [];
  for (const { type } of served) {
    const resource: JsonObject = {
      name: type.resource,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: [...type.verbs],
    };
    if (type.group !== "" && type.group !== group) resource.group = type.group;
    if (type.shortNames.length > 0) resource.shortNames = [...type.shortNames];
    if (type.categories.length > 0) resource.categories = [...type.categories];
    resource.storageVersionHash = createHash("sha256")
      .update(`${type.group}/${type.storageVersion}/${type.kind}`)
      .digest("base64")
      .slice(0, 11);
    resources.push(resource);
    if (type.statusSubresource) {
      resources.push({
        name: `${type.resource}/status`,
        singularName: "",
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: ["get", "patch", "update"],
      });
    }
    if (type.scale) {
      resources.push({
        name: `${type.resource}/scale`,
        singularName: "",
        namespaced: type.namespaced,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "patch", "update"],
      });
    }
    if (type.kind === "ServiceAccount" && type.group === "") {
      resources.push({
        name: "serviceaccounts/token",
        singularName: "",
        namespaced: true,
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenRequest",
        verbs: ["create"],
      });
    }
    if (type.kind === "Namespace" && type.group === "") {
      resources.push({
        name: "namespaces/finalize",
        singularName: "",
        namespaced: false,
        kind: "Namespace",
        verbs: ["update"],
      });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: groupVersion(group, version), resources };
}
