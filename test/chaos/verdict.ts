// What a chaos scenario found, and the one line it prints: `<scenario>: runs=N converged=N
// duplicates=N lost=N`. The end state is read with the exact-state check of the tenant-move tests
// (every identity, credential, attachment, assignment, custom role and app role of the
// subscription against the declaration) and its differences sorted into duplicates (something in
// Azure twice, or not declared at all: an orphan), lost (declared but missing) and the rest.
import type { DeclaredResource } from "../e2e/tenant-move-world.js";

export interface Verdict {
  scenario: string;
  /** What the scenario drove through its faults (resources, or attempts for bad input). */
  runs: number;
  /** Of those, how many ended as they must (Ready and exact, or refused). */
  converged: number;
  duplicates: number;
  lost: number;
  /** Differences that are neither (a wrong principal, a status naming another tenant...). */
  mismatches: string[];
  /** Sizes, faults injected, what was seen: printed under the summary line. */
  notes: string[];
  seconds: number;
  error?: string;
}

export const passed = (verdict: Verdict): boolean =>
  verdict.error === undefined &&
  verdict.runs > 0 &&
  verdict.converged === verdict.runs &&
  verdict.duplicates === 0 &&
  verdict.lost === 0 &&
  verdict.mismatches.length === 0;

export const summaryLine = (v: Verdict): string =>
  `${v.scenario}: runs=${v.runs} converged=${v.converged} duplicates=${v.duplicates} lost=${v.lost}`;

/** Sorts the exact-state check's differences (see src/cli/demo/exact-state.ts for their wording). */
export function classify(differences: readonly string[]): {
  duplicates: string[];
  lost: string[];
  mismatches: string[];
} {
  const duplicates: string[] = [];
  const lost: string[] = [];
  const mismatches: string[] = [];
  for (const line of differences) {
    const copies = /: (\d+) identities at /.exec(line)?.[1];
    if (copies !== undefined) (Number(copies) === 0 ? lost : duplicates).push(line);
    else if (/ missing( \d+ times)?: /.test(line)) lost.push(line);
    else if (/not declared|none is declared/.test(line)) duplicates.push(line);
    else mismatches.push(line);
  }
  return { duplicates, lost, mismatches };
}

/**
 * Resources that converged: Ready, and named by no difference (by reference, or through their
 * principal id or identity name in an assignment, attachment or credential line).
 */
export function convergedResources(
  resources: ReadonlyArray<
    DeclaredResource | { kind: string; metadata: { namespace?: string; name: string } }
  >,
  differences: readonly string[],
): number {
  return resources.filter((resource) => {
    const status = (resource as { status?: { conditions?: Array<{ type: string; status: string }> } }).status;
    if (status?.conditions?.find((c) => c.type === "Ready")?.status !== "True") return false;
    const principal = (resource as DeclaredResource).status?.principalId?.toLowerCase();
    const { kind, metadata } = resource;
    const marks = [`${kind} ${metadata.namespace ?? ""}/${metadata.name}`];
    if (principal) marks.push(principal);
    if (kind === "UserAssignedIdentity") marks.push(`/userassignedidentities/${metadata.name}`);
    const roleName = (resource as { spec?: { roleName?: string } }).spec?.roleName;
    if (kind === "CustomRole" && roleName) marks.push(`"${roleName}"`);
    return !differences.some((line) => marks.some((mark) => line.toLowerCase().includes(mark.toLowerCase())));
  }).length;
}
