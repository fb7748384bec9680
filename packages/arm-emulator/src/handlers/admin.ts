// The admin API under /_sandbox/: everything a test, a demo or a user may set or read, in JSON.
// Each endpoint calls the same Emulator method that the in-process handle exposes.
import type { Ctx, Handler } from "../context.js";
import { SandboxConfigError } from "../errors.js";
import type { Router } from "../router.js";
import { mergeSettings, parseFaults } from "../settings.js";
import type { PrincipalKind } from "../store.js";
import { subscriptionBody } from "./resource-manager.js";

function body(ctx: Ctx): Record<string, unknown> {
  const b = ctx.body ?? {};
  if (typeof b !== "object" || Array.isArray(b))
    throw new SandboxConfigError("the body must be a JSON object");
  return b as Record<string, unknown>;
}

function stringField(b: Record<string, unknown>, name: string, required: true): string;
function stringField(b: Record<string, unknown>, name: string, required?: false): string | undefined;
function stringField(b: Record<string, unknown>, name: string, required = false): string | undefined {
  const value = b[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string") throw new SandboxConfigError(`'${name}' must be a string`);
  return value;
}

export interface AdminInfo {
  tenantId: string;
  subscriptionId: string;
}

export function registerAdmin(router: Router<Handler>, info: AdminInfo): void {
  router
    .add("GET", "/_sandbox/info", (ctx) => ({
      status: 200,
      body: {
        arm: ctx.em.baseUrl,
        graph: ctx.em.baseUrl,
        authorityHost: ctx.em.baseUrl,
        tenantId: info.tenantId,
        subscriptionId: info.subscriptionId,
        timeScale: ctx.em.timeScale,
      },
    }))
    .add("PUT", "/_sandbox/subscriptions/{subscriptionId}", (ctx) => {
      const b = body(ctx);
      ctx.em.addSubscription(
        ctx.params.subscriptionId!,
        stringField(b, "tenantId", true),
        stringField(b, "displayName"),
      );
      return { status: 200, body: subscriptionBody(ctx.em.store.subscription(ctx.params.subscriptionId!)!) };
    })
    .add("POST", "/_sandbox/subscriptions/{subscriptionId}/move", (ctx) => ({
      status: 200,
      body: ctx.em.moveSubscription(ctx.params.subscriptionId!, stringField(body(ctx), "tenantId", true)),
    }))
    .add("PUT", "/_sandbox/tenants/{tenantId}", (ctx) => {
      ctx.em.addTenant(ctx.params.tenantId!);
      return { status: 200, body: { tenantId: ctx.params.tenantId } };
    })
    .add("PUT", "/_sandbox/tenants/{tenantId}/principals/{objectId}", (ctx) => {
      const b = body(ctx);
      if (b.replicating !== undefined && typeof b.replicating !== "boolean")
        throw new SandboxConfigError("'replicating' must be true or false");
      const object = ctx.em.addPrincipal(ctx.params.tenantId!, ctx.params.objectId!, {
        kind: stringField(b, "kind") as PrincipalKind | undefined,
        displayName: stringField(b, "displayName"),
        appId: stringField(b, "appId"),
        clientSecret: stringField(b, "clientSecret"),
        replicating: b.replicating as boolean | undefined,
      });
      const { clientSecret: _secret, appRoles: _roles, ...shown } = object;
      return { status: 200, body: shown };
    })
    .add("GET", "/_sandbox/faults", (ctx) => ({ status: 200, body: ctx.em.faults.get() }))
    .add("PUT", "/_sandbox/faults", (ctx) => {
      ctx.em.faults.set(parseFaults(body(ctx)));
      return { status: 200, body: ctx.em.faults.get() };
    })
    .add("DELETE", "/_sandbox/faults", (ctx) => {
      ctx.em.faults.set({});
      return { status: 204 };
    })
    .add("GET", "/_sandbox/stats", (ctx) => ({ status: 200, body: ctx.em.stats.snapshot() }))
    .add("POST", "/_sandbox/stats/reset", (ctx) => {
      ctx.em.stats.reset();
      return { status: 204 };
    })
    .add("POST", "/_sandbox/throttling/reset", (ctx) => {
      ctx.em.resetThrottling();
      return { status: 204 };
    })
    .add("GET", "/_sandbox/policies", (ctx) => ({ status: 200, body: ctx.em.policies }))
    .add("PUT", "/_sandbox/policies", (ctx) => {
      ctx.em.setPolicies(ctx.body);
      return { status: 200, body: ctx.em.policies };
    })
    .add("GET", "/_sandbox/callers", (ctx) => ({ status: 200, body: { restricted: [...ctx.em.restricted] } }))
    .add("PUT", "/_sandbox/callers/{oid}", (ctx) => {
      const restricted = body(ctx).restricted;
      if (typeof restricted !== "boolean") throw new SandboxConfigError("'restricted' must be true or false");
      ctx.em.setRestricted(ctx.params.oid!, restricted);
      return { status: 200, body: { oid: ctx.params.oid, restricted } };
    })
    .add("GET", "/_sandbox/settings", (ctx) => ({ status: 200, body: ctx.em.settings }))
    .add("PATCH", "/_sandbox/settings", (ctx) => {
      ctx.em.settings = mergeSettings(ctx.em.settings, body(ctx));
      ctx.em.changed();
      return { status: 200, body: ctx.em.settings };
    })
    .add("POST", "/_sandbox/tokens", (ctx) => {
      const b = body(ctx);
      const lifetime = b.lifetimeSeconds;
      if (lifetime !== undefined && (typeof lifetime !== "number" || lifetime <= 0))
        throw new SandboxConfigError("'lifetimeSeconds' must be a positive number");
      const issued = ctx.em.issueToken({
        tenantId: stringField(b, "tenantId") ?? info.tenantId,
        oid: stringField(b, "oid"),
        appId: stringField(b, "appId"),
        audience: stringField(b, "audience"),
        lifetimeSeconds: lifetime as number | undefined,
      });
      return { status: 200, body: { accessToken: issued.token, claims: issued.claims } };
    });
}
