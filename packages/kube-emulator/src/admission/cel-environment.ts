// The CEL environment of ValidatingAdmissionPolicy expressions (apiserver/pkg/admission/plugin/
// cel/compile.go): `object` and `oldObject` (dyn), `request` (kubernetes.AdmissionRequest, typed as
// BuildRequestType declares it), `namespaceObject`, `params` only when the policy has a paramKind,
// and `variables` (kubernetes.variables, one field per variable, composition.go).
//
// Differences: `namespaceObject` is dyn here (the engine cannot hold null in a declared object
// type), so a misspelt field under it fails at evaluation rather than compilation; `authorizer`
// is not declared (the emulator has no authorizer), so expressions using it do not compile.
import type { Environment } from "@marcbachmann/cel-js";
import type { JsonObject, JsonValue } from "../json.js";
import { createCelEnvironment, toCelValue } from "../schema/index.js";

export const VARIABLES_TYPE = "kubernetes.variables";

class GroupVersionKind {}
class GroupVersionResource {}
class UserInfoValue {}
class AdmissionRequestValue {}

let base: Environment | undefined;

/** The shared part of every policy's environment, made once. */
function baseEnvironment(): Environment {
  if (base) return base;
  const env = createCelEnvironment();
  env.registerType("kubernetes.GroupVersionKind", {
    ctor: GroupVersionKind,
    fields: { group: "string", version: "string", kind: "string" },
  });
  env.registerType("kubernetes.GroupVersionResource", {
    ctor: GroupVersionResource,
    fields: { group: "string", version: "string", resource: "string" },
  });
  env.registerType("kubernetes.UserInfo", {
    ctor: UserInfoValue,
    fields: { username: "string", uid: "string", groups: "list<string>", extra: "map<string, list<string>>" },
  });
  env.registerType("kubernetes.AdmissionRequest", {
    ctor: AdmissionRequestValue,
    fields: {
      kind: "kubernetes.GroupVersionKind",
      resource: "kubernetes.GroupVersionResource",
      subResource: "string",
      requestKind: "kubernetes.GroupVersionKind",
      requestResource: "kubernetes.GroupVersionResource",
      requestSubResource: "string",
      name: "string",
      namespace: "string",
      operation: "string",
      userInfo: "kubernetes.UserInfo",
      dryRun: "bool",
      options: "dyn",
    },
  });
  env.registerVariable("request", "kubernetes.AdmissionRequest");
  env.registerVariable("namespaceObject", "dyn");
  base = env;
  return env;
}

/** Declared types of `object`/`oldObject` and `params` for type checking against schemas. */
export interface PolicyTyping {
  objectType: string;
  /** Undefined: `params` is not declared (no paramKind, or its schema is unknown). */
  paramsType: string | undefined;
  /** Registers the object types those names refer to. */
  register(env: Environment): void;
}

export interface PolicyEnvironmentOptions {
  hasParams: boolean;
  variablesClass: new () => object;
  /** The variables declared so far: name -> CEL type. */
  variableTypes: Record<string, string>;
  /** Absent at admission, where objects and params are dyn. */
  typing?: PolicyTyping;
}

/** An environment for one policy's expressions. */
export function policyEnvironment(options: PolicyEnvironmentOptions): Environment {
  const env = baseEnvironment().clone();
  const { typing } = options;
  typing?.register(env);
  env.registerVariable("object", typing?.objectType ?? "dyn");
  env.registerVariable("oldObject", typing?.objectType ?? "dyn");
  if (typing ? typing.paramsType !== undefined : options.hasParams) {
    env.registerVariable("params", typing?.paramsType ?? "dyn");
  }
  env.registerType(VARIABLES_TYPE, { ctor: options.variablesClass, fields: options.variableTypes });
  env.registerVariable("variables", VARIABLES_TYPE);
  return env;
}

export interface GroupVersionKindJson {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResourceJson {
  group: string;
  version: string;
  resource: string;
}

/** admission/v1 AdmissionRequest without uid, object and oldObject (CreateAdmissionRequest). */
export interface AdmissionRequestJson {
  kind: GroupVersionKindJson;
  resource: GroupVersionResourceJson;
  subResource: string;
  requestKind: GroupVersionKindJson;
  requestResource: GroupVersionResourceJson;
  requestSubResource: string;
  name: string;
  namespace: string;
  operation: string;
  userInfo: { username: string; uid?: string; groups: string[]; extra: Record<string, string[]> };
  dryRun: boolean;
  options: JsonObject;
}

/** Fields Go omits when empty (`omitempty`) are absent, so reading them is "no such key" as upstream. */
function assignPresent(target: object, values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) {
    const empty =
      value === "" ||
      (Array.isArray(value) && value.length === 0) ||
      (value instanceof Map && value.size === 0);
    if (!empty) (target as Record<string, unknown>)[key] = value;
  }
}

function gvk(value: GroupVersionKindJson): GroupVersionKind {
  return Object.assign(new GroupVersionKind(), value);
}

function gvr(value: GroupVersionResourceJson): GroupVersionResource {
  return Object.assign(new GroupVersionResource(), value);
}

/** The CEL value of `request`. */
export function requestValue(request: AdmissionRequestJson): unknown {
  const userInfo = new UserInfoValue();
  assignPresent(userInfo, {
    username: request.userInfo.username,
    uid: request.userInfo.uid ?? "",
    groups: request.userInfo.groups,
    extra: new Map(Object.entries(request.userInfo.extra)),
  });
  const value = new AdmissionRequestValue();
  Object.assign(value, {
    kind: gvk(request.kind),
    resource: gvr(request.resource),
    requestKind: gvk(request.requestKind),
    requestResource: gvr(request.requestResource),
    operation: request.operation,
    userInfo,
    dryRun: request.dryRun,
    options: toCelValue(request.options as JsonValue),
  });
  assignPresent(value, {
    subResource: request.subResource,
    requestSubResource: request.requestSubResource,
    name: request.name,
    namespace: request.namespace,
  });
  return value;
}
