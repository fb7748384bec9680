// What Azure Workload Identity fixes about a ServiceAccount's federated credential: the subject
// the API server puts in its tokens, and the name azid gives the credential it keeps for a
// `spec.serviceAccounts[]` entry. Pure; shared by validation, the planner and the policy.
import { DEFAULT_FEDERATED_AUDIENCE } from "./schemas/common.js";

export const WORKLOAD_IDENTITY_AUDIENCE = DEFAULT_FEDERATED_AUDIENCE;
const SUBJECT_PREFIX = "system:serviceaccount:";

/** The `sub` of a ServiceAccount's tokens (kube-apiserver's serviceaccount.MakeUsername). */
export function serviceAccountSubject(namespace: string, name: string): string {
  return `${SUBJECT_PREFIX}${namespace}:${name}`;
}

/** The namespace a `system:serviceaccount:` subject names, or undefined for any other subject. */
export function subjectNamespace(subject: string): string | undefined {
  if (!subject.startsWith(SUBJECT_PREFIX)) return undefined;
  const rest = subject.slice(SUBJECT_PREFIX.length);
  const colon = rest.indexOf(":");
  return colon < 0 ? rest : rest.slice(0, colon);
}

const NAME_PREFIX = "sa-";
const HASH_LENGTH = 8;
/** Azure's limit on a federated credential's name. */
const MAX_NAME = 120;

/**
 * The name of the credential azid keeps for a ServiceAccount: `sa-<name>-<hash>`, dots turned
 * into dashes and the name cut so the whole fits 120 characters. The hash of the exact name keeps
 * `a.b` and `a-b` (or two long names sharing a prefix) apart; the same name always gives the
 * same credential name, so a restart or a tenant move finds it again.
 */
export function serviceAccountCredentialName(serviceAccount: string): string {
  const room = MAX_NAME - NAME_PREFIX.length - 1 - HASH_LENGTH;
  const readable = serviceAccount.replace(/\./g, "-").slice(0, room).replace(/-+$/, "");
  return `${NAME_PREFIX}${readable}-${fnv1a(serviceAccount)}`;
}

/** 32-bit FNV-1a as 8 hex digits: stable across runs and platforms, no I/O. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(HASH_LENGTH, "0");
}

/**
 * Glob match of a subject against a policy's pattern: `*` stands for any run of characters
 * (colons and slashes included), everything else matches itself, case-sensitively as Entra
 * compares subjects.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === subject;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (!subject.startsWith(first) || subject.length < first.length + last.length) return false;
  if (!subject.endsWith(last)) return false;
  let at = first.length;
  const end = subject.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = subject.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/** Issuers compare as Entra compares them: exactly, except that a trailing slash is not significant here. */
export function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

/**
 * The cluster's service-account issuer as azid resolved it at start: from configuration
 * (--service-account-issuer, the chart's serviceAccountIssuer) or from the API server's
 * discovery document; or why it is unknown, which identities that need it report.
 */
export type ClusterIssuer =
  | { url: string; source: "configuration" | "discovery" }
  | { url?: undefined; problem: string };
