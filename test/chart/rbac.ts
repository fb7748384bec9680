// The controller's permissions as the chart grants them (charts/azid/files/rbac-rules.yaml), for
// the chart tests and for the integration test that compares them with the calls the controller makes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CHART_DIR } from "./helm.js";

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface ChartRbacRules {
  /** The ClusterRole's rules. */
  clusterRules: PolicyRule[];
  /** The leader-election Role's rules, in the release namespace. */
  leaderElectionRules: PolicyRule[];
}

export function chartRbacRules(): ChartRbacRules {
  return parseYaml(readFileSync(join(CHART_DIR, "files", "rbac-rules.yaml"), "utf8"));
}

/** Rules as sorted `group/resource[/subresource]:verb` grants, the unit an authorizer checks ("" is the core group). */
export function grants(rules: PolicyRule[]): string[] {
  return rules
    .flatMap((rule) =>
      rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource}:${verb}`)),
      ),
    )
    .sort();
}
