// Azure RBAC evaluation: an action is allowed at a scope when a role assignment of the caller
// at or above that scope has a permission whose actions match it and whose notActions do not.

export interface Permission {
  actions?: string[];
  notActions?: string[];
  dataActions?: string[];
  notDataActions?: string[];
  condition?: string;
  conditionVersion?: string;
}

const patterns = new Map<string, RegExp>();

/**
 * Compiles an action pattern. `*` matches any text; a `/*\/` segment also matches nothing, so that
 * `Microsoft.ManagedIdentity/userAssignedIdentities/*\/assign/action` (Managed Identity Operator)
 * grants `Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`, as it does in Azure.
 */
function compile(pattern: string): RegExp {
  let regex = patterns.get(pattern);
  if (!regex) {
    const source = pattern
      .split("/*/")
      .map((part) =>
        part
          .split("*")
          .map((text) => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join(".*"),
      )
      .join("/(?:.*/)?");
    regex = new RegExp(`^${source}$`, "i");
    patterns.set(pattern, regex);
  }
  return regex;
}

export const actionMatches = (pattern: string, action: string): boolean => compile(pattern).test(action);

/** True when one of the permissions grants `action` (actions minus notActions of the same entry). */
export function permits(permissions: readonly Permission[], action: string): boolean {
  return permissions.some(
    (p) =>
      (p.actions ?? []).some((a) => actionMatches(a, action)) &&
      !(p.notActions ?? []).some((a) => actionMatches(a, action)),
  );
}

/** What an unrestricted caller holds: everything, like Owner. */
export const UNRESTRICTED: Permission[] = [
  { actions: ["*"], notActions: [], dataActions: [], notDataActions: [] },
];
