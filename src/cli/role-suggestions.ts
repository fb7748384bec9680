// Which built-in roles grant a set of missing actions: the roles Microsoft documents for managed
// identities first (the narrowest that fit), then, for what they do not cover (write on a
// target resource), the built-in role with the fewest permissions that grants it. Read from
// spec/azure-api/authorization/builtin-roles.json (shipped beside dist in the image).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Permission } from "../api/role-permissions.js";
import { permits } from "../api/role-permissions.js";
import { PACKAGE_ROOT } from "../util/paths.js";

interface BuiltinRoleDefinition {
  roleName: string;
  permissions: Permission[];
}

/**
 * Managed Identity Contributor, Operator, Key Vault Contributor (vault reads and access-policy
 * writes, no data-plane access), then the grant-only role before the full one.
 */
const DOCUMENTED = [
  "Managed Identity Contributor",
  "Managed Identity Operator",
  "Key Vault Contributor",
  "Role Based Access Control Administrator",
  "User Access Administrator",
];

let catalog: BuiltinRoleDefinition[] | null | undefined;

function builtinRoles(): BuiltinRoleDefinition[] | undefined {
  if (catalog === undefined) {
    const file = join(PACKAGE_ROOT, "spec", "azure-api", "authorization", "builtin-roles.json");
    catalog = existsSync(file)
      ? (JSON.parse(readFileSync(file, "utf8")) as Array<{ properties: BuiltinRoleDefinition }>).map((r) => ({
          roleName: r.properties.roleName,
          permissions: r.properties.permissions,
        }))
      : null;
  }
  return catalog ?? undefined;
}

/** How broad a role is: a bare `*` is broadest; otherwise the number of action patterns. */
function breadth(role: BuiltinRoleDefinition): number {
  const actions = role.permissions.flatMap((p) => p.actions ?? []);
  return actions.includes("*") ? Number.MAX_SAFE_INTEGER : actions.length;
}

/**
 * Lower for a role made for the action's resource type (`Microsoft.Compute/virtualMachines/*`)
 * or its provider (`Microsoft.Web/*`), and for one named after the type: Virtual Machine
 * Contributor rather than some narrower role that happens to include a VM write.
 */
function madeFor(role: BuiltinRoleDefinition, action: string): number {
  const parts = action.toLowerCase().split("/");
  const type = `${parts.slice(0, -1).join("/")}/*`;
  const provider = `${parts[0]}/*`;
  const patterns = role.permissions.flatMap((p) => p.actions ?? []).map((a) => a.toLowerCase());
  const fit = patterns.includes(type) ? 0 : patterns.includes(provider) ? 2 : 4;
  // Named after the type too (Virtual Machine Contributor, Website Contributor): the natural pick.
  const typeName = (parts.at(-2) ?? "").replace(/s$/, "");
  return fit + (role.roleName.toLowerCase().replace(/\s+/g, "").includes(typeName) ? 0 : 1);
}

/**
 * Built-in roles that together grant `actions`: the documented roles by how much of what is
 * missing each covers, then the narrowest role for anything left, then without any role the
 * others make redundant. Undefined without the catalog.
 */
export function rolesGranting(actions: readonly string[]): string[] | undefined {
  const roles = builtinRoles();
  if (!roles) return undefined;
  const byName = new Map(roles.map((role) => [role.roleName, role]));
  const grantedBy = (role: BuiltinRoleDefinition, among: readonly string[]) =>
    among.filter((action) => permits(role.permissions, action));
  let left = [...actions];
  const chosen: BuiltinRoleDefinition[] = [];
  const documented = DOCUMENTED.flatMap((name) => byName.get(name) ?? []);
  while (left.length > 0) {
    let best: BuiltinRoleDefinition | undefined;
    let bestCount = 0;
    for (const role of documented) {
      const count = grantedBy(role, left).length;
      if (count > bestCount) {
        best = role;
        bestCount = count;
      }
    }
    if (!best) break;
    chosen.push(best);
    left = left.filter((action) => !permits((best as BuiltinRoleDefinition).permissions, action));
  }
  while (left.length > 0) {
    const action = left[0] as string;
    const fit = (role: BuiltinRoleDefinition) => madeFor(role, action);
    const role = roles
      .filter((candidate) => permits(candidate.permissions, action))
      .sort((a, b) => fit(a) - fit(b) || breadth(a) - breadth(b) || a.roleName.localeCompare(b.roleName))[0];
    if (!role) break;
    chosen.push(role);
    left = left.filter((action) => !permits(role.permissions, action));
  }
  const covered = actions.filter((action) => !left.includes(action));
  const kept = [...chosen];
  for (const role of chosen) {
    const others = kept.filter((other) => other !== role);
    if (covered.every((action) => others.some((other) => permits(other.permissions, action)))) {
      kept.splice(kept.indexOf(role), 1);
    }
  }
  return kept.map((role) => role.roleName);
}
