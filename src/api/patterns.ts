// Regular expressions shared by the schemas (CRD `pattern`s, CLI validation) and the ARM id
// parser, so that both accept exactly the same strings. They are written for the common
// subset of ECMAScript and Go RE2 (the API server): no lookaround, no inline flags, ASCII only.

/** `[sS][uU]...`: a keyword matched case-insensitively without the (?i) flag JavaScript lacks. */
function anyCase(word: string): string {
  return [...word]
    .map((c) => (/[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c === "." ? "\\." : c))
    .join("");
}

const HEX = "[0-9a-fA-F]";
export const GUID = `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`;

/** Resource group: 1-90 of letters, digits, `-_.()`, not ending with a period (ASCII subset). */
const RESOURCE_GROUP = "[-A-Za-z0-9_.()]{0,89}[-A-Za-z0-9_()]";

/** User-assigned identity: 3-128, letters, digits, `-` and `_`, starting with a letter or digit. */
const IDENTITY_NAME = "[A-Za-z0-9][A-Za-z0-9_-]{2,127}";

/** Federated identity credential: 3-120, the swagger's `^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$`. */
const FEDERATED_CREDENTIAL_NAME = "[A-Za-z0-9][A-Za-z0-9_-]{2,119}";

/**
 * Any other resource name inside an ARM id: letters, digits and `-_.()~`, never starting or
 * ending with a period. This rules out everything that could change what a URL addresses:
 * `/`, `\`, `?`, `#`, `%`, whitespace, control characters and the dot segments `.` and `..`.
 */
const RESOURCE_NAME = "[A-Za-z0-9_()~-](?:[A-Za-z0-9_.()~-]*[A-Za-z0-9_()~-])?";

/** A resource provider namespace such as `Microsoft.Compute`. */
const PROVIDER_NAMESPACE = "[A-Za-z][A-Za-z0-9]*(?:\\.[A-Za-z][A-Za-z0-9]*)+";

/** A resource type segment such as `virtualMachines`. */
const RESOURCE_TYPE = "[A-Za-z][A-Za-z0-9]*";

/** A management group name. */
const MANAGEMENT_GROUP = "[A-Za-z0-9_().-]{0,89}[A-Za-z0-9_()-]";

const KW_SUBSCRIPTIONS = anyCase("subscriptions");
const KW_RESOURCE_GROUPS = anyCase("resourceGroups");
const KW_PROVIDERS = anyCase("providers");
const MG_PREFIX = `/${KW_PROVIDERS}/${anyCase("Microsoft.Management")}/${anyCase("managementGroups")}/`;
const ROLE_DEFINITIONS = `/${KW_PROVIDERS}/${anyCase("Microsoft.Authorization")}/${anyCase("roleDefinitions")}/`;

const PROVIDER_BLOCK = `/${KW_PROVIDERS}/${PROVIDER_NAMESPACE}/${RESOURCE_TYPE}/${RESOURCE_NAME}(?:/${RESOURCE_TYPE}/${RESOURCE_NAME})*`;
const SUBSCRIPTION_SCOPE = `/${KW_SUBSCRIPTIONS}/${GUID}`;

/** Anchors a fragment for use as a schema `pattern`. */
const whole = (fragment: string) => `^(?:${fragment})$`;

export const PATTERNS = {
  guid: whole(GUID),
  resourceGroup: whole(RESOURCE_GROUP),
  identityName: whole(IDENTITY_NAME),
  federatedCredentialName: whole(FEDERATED_CREDENTIAL_NAME),
  /** An ARM resource (in a resource group or at subscription level, extension resources too). */
  resourceId: whole(
    `${SUBSCRIPTION_SCOPE}(?:/${KW_RESOURCE_GROUPS}/${RESOURCE_GROUP})?(?:${PROVIDER_BLOCK})+`,
  ),
  /** A role assignment scope: management group, subscription, resource group or resource. */
  scope: whole(
    `${MG_PREFIX}${MANAGEMENT_GROUP}|${SUBSCRIPTION_SCOPE}(?:/${KW_RESOURCE_GROUPS}/${RESOURCE_GROUP})?(?:${PROVIDER_BLOCK})*`,
  ),
  /** A role definition: its GUID, or its id at tenant or subscription level. */
  roleDefinitionId: whole(`${GUID}|(?:${SUBSCRIPTION_SCOPE})?${ROLE_DEFINITIONS}${GUID}`),
  /** Azure region names as ARM prints them (`westeurope`) or as people type them (`West Europe`). */
  location: whole("[A-Za-z0-9](?:[A-Za-z0-9 ]{0,62}[A-Za-z0-9])?"),
  /** Federated credential issuers are HTTPS URLs. */
  httpsUrl: whole("https://[^\\s/?#]+(?:/[^\\s?#]*)?"),
} as const;

/** Compiled once: the parser tests segments with these. */
export const SEGMENT = {
  guid: new RegExp(whole(GUID)),
  resourceGroup: new RegExp(whole(RESOURCE_GROUP)),
  resourceName: new RegExp(whole(RESOURCE_NAME)),
  providerNamespace: new RegExp(whole(PROVIDER_NAMESPACE)),
  resourceType: new RegExp(whole(RESOURCE_TYPE)),
  managementGroup: new RegExp(whole(MANAGEMENT_GROUP)),
} as const;
