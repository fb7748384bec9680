// What a role definition's permissions allow, as far as escalation is concerned.

export interface Permission {
  actions?: readonly string[];
  notActions?: readonly string[];
  dataActions?: readonly string[];
  notDataActions?: readonly string[];
}

/** The action that lets a principal grant roles, and so grant itself anything. */
export const ROLE_ASSIGNMENT_WRITE = "Microsoft.Authorization/roleAssignments/write";

/** ARM action wildcards: `*` matches any run of characters, comparison ignores case. */
export function actionMatches(pattern: string, action: string): boolean {
  const parts = pattern.toLowerCase().split("*");
  const text = action.toLowerCase();
  if (parts.length === 1) return parts[0] === text;
  let position = 0;
  for (const [index, part] of parts.entries()) {
    if (index === 0) {
      if (!text.startsWith(part)) return false;
      position = part.length;
    } else if (index === parts.length - 1) {
      return text.length - part.length >= position && text.endsWith(part);
    } else {
      const found = text.indexOf(part, position);
      if (found < 0) return false;
      position = found + part.length;
    }
  }
  return true;
}

/**
 * Privileged: some action pattern covers `Microsoft.Authorization/roleAssignments/write`
 * (`*`, `Microsoft.Authorization/*`, `*\/write` ...). notActions are deliberately ignored:
 * `*` minus a few exclusions (Contributor) is still a role Microsoft counts as privileged,
 * and a custom role's exclusions are too easy to get wrong to be trusted here.
 */
export function isPrivileged(permissions: readonly Permission[]): boolean {
  return permissions.some((permission) =>
    (permission.actions ?? []).some((action) => actionMatches(action, ROLE_ASSIGNMENT_WRITE)),
  );
}

/**
 * Whether permissions allow an action: some entry's actions match it and none of that entry's
 * notActions do. `/*\/` also matches a single `/`, so that Managed Identity Operator's
 * `userAssignedIdentities/*\/assign/action` covers `userAssignedIdentities/assign/action`.
 */
export function permits(permissions: readonly Permission[], action: string): boolean {
  const matches = (pattern: string) =>
    actionMatches(pattern, action) ||
    (pattern.includes("/*/") && actionMatches(pattern.replaceAll("/*/", "/"), action));
  return permissions.some((p) => (p.actions ?? []).some(matches) && !(p.notActions ?? []).some(matches));
}
