import { resourceTypeInfo } from "../catalog.js";
import { apiVersion, type Ctx } from "../context.js";
import { ArmError } from "../errors.js";
import type { ResourceGroup, Subscription } from "../store.js";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function subscriptionOfCtx(ctx: Ctx): Subscription {
  if (!ctx.subscription) throw new Error("route without a subscription");
  return ctx.subscription;
}

export function requireGroup(ctx: Ctx, resourceGroupName: string): ResourceGroup {
  const sub = subscriptionOfCtx(ctx);
  const group = ctx.em.store.resourceGroup(sub.subscriptionId, resourceGroupName);
  if (!group)
    throw new ArmError(
      404,
      "ResourceGroupNotFound",
      `Resource group '${resourceGroupName}' could not be found.`,
    );
  return group;
}

/** 400 as ARM answers an api-version the resource type does not serve. */
export function checkApiVersion(ctx: Ctx, namespace: string, type: string): void {
  const info = resourceTypeInfo(namespace, type);
  const version = apiVersion(ctx);
  if (!info || info.apiVersions.includes(version)) return;
  if (namespace.toLowerCase() === "microsoft.resources")
    throw new ArmError(
      400,
      "InvalidApiVersionParameter",
      `The api-version '${version}' is invalid. The supported versions are '${[...info.apiVersions].reverse().join(",")}'.`,
    );
  throw new ArmError(
    400,
    "NoRegisteredProviderFound",
    `No registered resource provider found for location 'global' and API version '${version}' for type '${type}'. The supported api-versions are '${info.apiVersions.join(", ")}'.`,
  );
}

export function resourceNotFound(type: string, name: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    "ResourceNotFound",
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

export function tagsOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (
    typeof value !== "object" ||
    Array.isArray(value) ||
    Object.values(value).some((v) => typeof v !== "string")
  )
    throw new ArmError(
      400,
      "InvalidRequestContent",
      "The request content was invalid: 'tags' must map names to strings.",
    );
  return { ...(value as Record<string, string>) };
}

export function locationOf(body: Record<string, unknown>): string {
  const location = body.location;
  if (typeof location !== "string" || location.trim() === "")
    throw new ArmError(400, "LocationRequired", "The location property is required for this definition.");
  return location;
}

/** ARM compares locations without case and spaces: "East US" is "eastus". */
export const sameLocation = (a: string, b: string) =>
  a.replace(/\s/g, "").toLowerCase() === b.replace(/\s/g, "").toLowerCase();
