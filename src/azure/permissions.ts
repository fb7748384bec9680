// What azid's own credential may do at a scope: Microsoft.Authorization/permissions, the caller's
// effective actions there (role assignments at and above the scope, minus notActions).
import { createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import { parseScope, resourceNameOf } from "../api/arm-id.js";
import type { Permission } from "../api/role-permissions.js";
import type { AzureClients } from "./clients.js";
import { toAzureError } from "./errors.js";

const API_VERSION = "2022-04-01";

/**
 * The caller's permissions at `scope`: through the SDK's operations for a resource group and a
 * resource; for a subscription or management group (which the SDK has no operation for, while
 * ARM serves them the same way) with a GET through the same client's pipeline.
 */
export async function callerPermissions(
  clients: AzureClients,
  subscriptionId: string,
  armEndpoint: string,
  scope: string,
): Promise<Permission[]> {
  const parsed = parseScope(scope);
  const authorization = clients.forSubscription(subscriptionId).authorization;
  try {
    const found: Permission[] = [];
    if (parsed.kind === "resourceGroup") {
      for await (const p of authorization.permissions.listForResourceGroup(parsed.resourceGroup)) {
        found.push(p);
      }
      return found;
    }
    const block = parsed.kind === "resource" ? parsed.providers : undefined;
    if (parsed.kind === "resource" && parsed.resourceGroup && block?.length === 1) {
      const { namespace, segments } = block[0] as (typeof block)[number];
      const last = segments.at(-1) as (typeof segments)[number];
      const parent = segments
        .slice(0, -1)
        .map((segment) => `${segment.type}/${segment.name}`)
        .join("/");
      for await (const p of authorization.permissions.listForResource(
        parsed.resourceGroup,
        namespace,
        parent,
        last.type,
        resourceNameOf(parsed),
      )) {
        found.push(p);
      }
      return found;
    }
    let url: string | undefined =
      `${armEndpoint.replace(/\/$/, "")}${scope}/providers/Microsoft.Authorization/permissions?api-version=${API_VERSION}`;
    while (url) {
      const request = createPipelineRequest({ url, method: "GET" });
      const response = await authorization.sendRequest(request);
      const body = response.bodyAsText ? JSON.parse(response.bodyAsText) : {};
      if (response.status >= 400) {
        throw new RestError(body?.error?.message ?? `permissions at ${scope}: ${response.status}`, {
          statusCode: response.status,
          code: body?.error?.code,
          request,
          response,
        });
      }
      found.push(...((body.value ?? []) as Permission[]));
      // A nextLink is followed only on ARM itself: the bearer token must not travel elsewhere.
      const next: string | undefined = body.nextLink || undefined;
      url = next?.startsWith(armEndpoint) ? next : undefined;
    }
    return found;
  } catch (error) {
    throw toAzureError(error);
  }
}
