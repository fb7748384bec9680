// azid export --subscription S [--resource-group RG] [-o DIR]: an inventory of a subscription's
// managed identities and their grants, written as azid manifests: a snapshot to apply after a
// tenant move (`azid remediate`), or the start of a GitOps folder.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { stringify } from "yaml";
import { parseResourceId } from "../../api/arm-id.js";
import { kindDefinition } from "../../api/kinds.js";
import { PATTERNS } from "../../api/patterns.js";
import { validateResource } from "../../api/validate.js";
import { pool } from "../../util/pool.js";
import { type AzureFlags, type AzureSession, openAzureSession } from "../azure-session.js";
import { CliError, EXIT, type ExitCode } from "../exit-codes.js";
import {
  type AzureInventory,
  type ExportedManifest,
  exportManifests,
  type GrantedAppRole,
} from "../export-manifests.js";
import {
  azureFlagsOf,
  type OutputFlags,
  withAzureFlags,
  withOutputFlags,
  withRequiredFlag,
} from "../flags.js";
import { type CommandContext, runAction } from "../run.js";
import { readSubscription } from "../subscriptions.js";

type Flags = OutputFlags &
  AzureFlags & {
    subscription: string;
    resourceGroup?: string;
    outDir?: string;
    namespace: string;
    deletionPolicy: "Delete" | "Orphan";
  };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_GROUP = new RegExp(PATTERNS.resourceGroup);
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function registerExportCommand(program: Command): void {
  const command = withRequiredFlag(
    program
      .command("export")
      .description(
        "write a subscription's user-assigned identities, system-assigned identities, their role " +
          "assignments (and the custom roles they use), federated credentials, attachments and Graph " +
          "app roles as azid manifests (YAML on stdout, or files with -o)",
      ),
    "--subscription <id>",
    "the subscription to export",
  )
    .option("--resource-group <name>", "only the identities of this resource group")
    .option("-o, --out-dir <dir>", "write one file per manifest under this folder")
    .option("--namespace <name>", "namespace of the manifests", "default")
    .addOption(
      new Option(
        "--deletion-policy <policy>",
        "deletionPolicy of the manifests: Orphan (default) leaves Azure alone if a manifest is later deleted",
      )
        .choices(["Delete", "Orphan"])
        .default("Orphan"),
    );
  withOutputFlags(withAzureFlags(command)).action(runAction(exportCommand));
}

async function exportCommand(flags: Flags, context: CommandContext): Promise<ExitCode> {
  if (!GUID.test(flags.subscription)) {
    throw new CliError(
      `--subscription: expected a subscription id (a GUID), got ${flags.subscription}`,
      "Usage",
    );
  }
  if (flags.resourceGroup !== undefined && !RESOURCE_GROUP.test(flags.resourceGroup)) {
    throw new CliError(`--resource-group: not a resource group name: ${flags.resourceGroup}`, "Usage");
  }
  if (!NAMESPACE.test(flags.namespace) || flags.namespace.length > 63) {
    throw new CliError(`--namespace: not a namespace name: ${flags.namespace}`, "Usage");
  }
  const subscriptionId = flags.subscription.toLowerCase();
  const session = openAzureSession(azureFlagsOf(flags), context.logger);
  await readSubscription(session.inventory, subscriptionId);
  const inventory = await readInventory(session, subscriptionId, flags.resourceGroup, (message) =>
    context.say(`azid: warning: ${message}`),
  );
  const manifests = exportManifests(inventory, {
    namespace: flags.namespace,
    deletionPolicy: flags.deletionPolicy,
    ...(flags.resourceGroup ? { resourceGroup: flags.resourceGroup } : {}),
  });
  // What export writes must be what validate accepts; say so loudly if Azure holds something azid cannot express.
  const invalid = manifests.flatMap((m) => {
    const result = validateResource(m);
    return result.ok
      ? []
      : [`${m.kind} ${m.metadata.name}: ${result.issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`];
  });
  for (const problem of invalid)
    context.say(`azid: warning: exported manifest does not validate: ${problem}`);

  if (flags.outDir) {
    const files = writeFiles(flags.outDir, manifests);
    if (context.output === "json")
      context.printJson({ ok: invalid.length === 0, files, counts: counts(manifests) });
    else context.print(`exported ${describeCounts(manifests)} to ${flags.outDir} (${files.length} files)`);
  } else if (context.output === "json") {
    context.printJson({ apiVersion: "v1", kind: "List", items: manifests });
  } else {
    context.print(manifests.map((m) => stringify(m)).join("---\n"));
    context.say(`azid: exported ${describeCounts(manifests)}`);
  }
  return invalid.length === 0 ? EXIT.ok : EXIT.invalid;
}

async function readInventory(
  session: AzureSession,
  subscriptionId: string,
  resourceGroup: string | undefined,
  warn: (message: string) => void,
): Promise<AzureInventory> {
  const { inventory } = session;
  const [identities, resources, roleAssignments, customRoles] = await Promise.all([
    inventory.identities(subscriptionId, resourceGroup),
    // Attachments of the group's identities may be on resources in other groups: list them all.
    inventory.identityBearingResources(subscriptionId),
    inventory.roleAssignments(subscriptionId),
    inventory.customRoles(subscriptionId),
  ]);
  // Access-policy entries: without Key Vault read the export goes on, and says what it lacks.
  const vaults = await inventory.vaults(subscriptionId).catch((error: Error) => {
    warn(
      `could not list the subscription's Key Vaults (${error.message}): no keyVaultAccessPolicies exported`,
    );
    return [];
  });
  const credentials = new Map(
    await pool(identities, 8, async (identity) => {
      const group = parseResourceId(identity.id).resourceGroup as string;
      return [
        identity.id.toLowerCase(),
        await inventory.federatedCredentials(subscriptionId, group, identity.name),
      ] as const;
    }),
  );
  const principals = [
    ...identities.map((i) => i.principalId),
    ...resources.flatMap((r) => (r.identity.principalId ? [r.identity.principalId] : [])),
  ];
  const apis = new Map<string, Promise<{ appId: string; roles: Map<string, string | undefined> }>>();
  const api = (objectId: string) => {
    let found = apis.get(objectId);
    if (!found) {
      found = inventory.servicePrincipal(subscriptionId, objectId).then((sp) => ({
        appId: sp.appId,
        roles: new Map((sp.appRoles ?? []).map((role) => [role.id.toLowerCase(), role.value])),
      }));
      apis.set(objectId, found);
    }
    return found;
  };
  const appRoles: GrantedAppRole[] = (
    await pool(principals, 8, async (principalId) => {
      const granted = await inventory.appRoleAssignments(subscriptionId, principalId);
      return pool(granted, 4, async (grant) => {
        const resource = await api(grant.resourceId);
        const value = resource.roles.get(grant.appRoleId.toLowerCase());
        return {
          principalId,
          resourceAppId: resource.appId,
          appRoleId: grant.appRoleId,
          ...(value ? { appRoleValue: value } : {}),
        };
      });
    })
  ).flat();
  return {
    subscriptionId,
    identities,
    credentials,
    resources,
    roleAssignments,
    customRoles,
    appRoles,
    vaults,
  };
}

function writeFiles(dir: string, manifests: readonly ExportedManifest[]): string[] {
  return manifests.map((manifest) => {
    const folder = join(dir, kindDefinition(manifest.kind)?.plural ?? manifest.kind.toLowerCase());
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `${manifest.metadata.name}.yaml`);
    writeFileSync(file, stringify(manifest));
    return file;
  });
}

function counts(manifests: readonly ExportedManifest[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const m of manifests) result[m.kind] = (result[m.kind] ?? 0) + 1;
  return result;
}

function describeCounts(manifests: readonly ExportedManifest[]): string {
  const text = Object.entries(counts(manifests))
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  return text || "nothing (no identity found)";
}
