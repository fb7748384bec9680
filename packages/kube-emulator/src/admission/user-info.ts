// Who makes a request. The emulator has no authentication: a request acts as a fixed cluster
// administrator unless it impersonates someone with the headers kubectl's --as, --as-group and
// --as-uid send (apiserver/pkg/endpoints/filters/impersonation.go, without the authorization
// check: anyone may impersonate anyone here).
import { badRequest } from "../errors.js";

/** authentication/v1 UserInfo, as admission sees it. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** Every request without impersonation acts as this user (a kubeadm cluster's admin certificate). */
export const ADMIN_USER: UserInfo = {
  username: "kubernetes-admin",
  groups: ["system:masters", "system:authenticated"],
  extra: {},
};

/** The API server's own loopback user (CRD status, the namespaces it creates). */
export const APISERVER_USER: UserInfo = {
  username: "system:apiserver",
  groups: ["system:authenticated", "system:masters"],
  extra: {},
};

const AUTHENTICATED = "system:authenticated";
const UNAUTHENTICATED = "system:unauthenticated";
const ANONYMOUS = "system:anonymous";
const EXTRA_PREFIX = "impersonate-extra-";
const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The user of a control-plane component that writes through the API as a service account. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: [...serviceAccountGroups(namespace), AUTHENTICATED],
    extra: {},
  };
}

function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
}

/**
 * The request's user: the impersonated one, or ADMIN_USER. `headers` are the request's headers
 * with repeated ones kept apart (IncomingMessage.headersDistinct). Throws 400 for impersonated
 * groups, uid or extras without an impersonated user.
 */
export function requestUser(headers: NodeJS.Dict<string[]>): UserInfo {
  const username = single(headers["impersonate-user"]);
  const uid = single(headers["impersonate-uid"]);
  const requestedGroups = all(headers["impersonate-group"]);
  const extra: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(EXTRA_PREFIX)) continue;
    extra[decodeURIComponent(name.slice(EXTRA_PREFIX.length))] = all(value);
  }
  if (username === undefined) {
    if (requestedGroups.length > 0 || uid !== undefined || Object.keys(extra).length > 0) {
      throw badRequest(`requested ${describe(requestedGroups, uid, extra)} without impersonating a user`);
    }
    return ADMIN_USER;
  }
  let groups = requestedGroups;
  const serviceAccount = SERVICE_ACCOUNT.exec(username);
  if (serviceAccount && groups.length === 0) groups = serviceAccountGroups(serviceAccount[1]!);
  if (username === ANONYMOUS) {
    if (!groups.includes(UNAUTHENTICATED)) groups = [...groups, UNAUTHENTICATED];
  } else if (!groups.includes(AUTHENTICATED) && !groups.includes(UNAUTHENTICATED)) {
    groups = [...groups, AUTHENTICATED];
  }
  const user: UserInfo = { username, groups, extra };
  if (uid !== undefined) user.uid = uid;
  return user;
}

function single(values: string[] | undefined): string | undefined {
  const first = values?.[0];
  return first === undefined || first === "" ? undefined : first;
}

function all(values: string[] | undefined): string[] {
  return (values ?? []).filter((v) => v !== "");
}

function describe(groups: string[], uid: string | undefined, extra: Record<string, string[]>): string {
  const parts = groups.map((group) => `Group ${group}`);
  if (uid !== undefined) parts.push(`UID ${uid}`);
  for (const [key, values] of Object.entries(extra))
    for (const v of values) parts.push(`UserExtra ${key}=${v}`);
  return `[${parts.join(" ")}]`;
}
