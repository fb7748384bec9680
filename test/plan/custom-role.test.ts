import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { customRoleGuid } from "../../src/api/names.js";
import type { CustomRole } from "../../src/api/schemas/custom-role.js";
import type { PutRoleDefinition } from "../../src/plan/actions.js";
import { customRoleDefinitionId } from "../../src/plan/custom-role.js";
import { condition, context, customRole, customRolePlan } from "./support/resources.js";
import { SUB, World } from "./support/world.js";

function converge(world: World, resource: CustomRole) {
  const run = world.converge(customRolePlan(resource, context()), resource.status);
  return { run, resource: { ...resource, status: run.final.status } };
}

describe("CustomRole planner", () => {
  test("creates the definition under its deterministic GUID, then writes nothing on resync", () => {
    const world = new World();
    const { run, resource } = converge(world, customRole());
    const guid = customRoleGuid(SUB, "team-a", "orders-reader");
    const put = run.steps.find((s) => s.action.kind === "PutRoleDefinition")?.action as PutRoleDefinition;
    assert.equal(put.guid, guid);
    assert.deepEqual(put.assignableScopes, [`/subscriptions/${SUB}`]);
    assert.equal(world.definitions.get(guid)?.roleName, "Orders Reader");
    assert.equal(run.final.status.roleDefinitionId, customRoleDefinitionId(resource));
    assert.equal(condition(run.final.status, "Ready")?.status, "True");
    const writes = world.writes();
    converge(world, resource);
    assert.equal(world.writes(), writes);
  });

  test("permissions compare as sets, ignoring case and order", () => {
    const world = new World();
    const { resource } = converge(
      world,
      customRole({ permissions: [{ actions: ["Microsoft.Storage/storageAccounts/read", "*/read"] }] }),
    );
    const writes = world.writes();
    converge(world, {
      ...resource,
      spec: {
        ...resource.spec,
        permissions: [{ actions: ["*/READ", "Microsoft.Storage/storageAccounts/read"] }],
      },
    });
    assert.equal(world.writes(), writes);
  });

  test("a changed role is updated in place; a re-created one (after a tenant move) gets the same GUID", () => {
    const world = new World();
    const { resource } = converge(world, customRole());
    const guid = customRoleGuid(SUB, "team-a", "orders-reader");
    converge(world, { ...resource, spec: { ...resource.spec, description: "reads orders" } });
    assert.equal(world.definitions.get(guid)?.description, "reads orders");
    world.moveTenant();
    assert.equal(world.definitions.size, 0);
    converge(world, resource);
    assert.ok(world.definitions.has(guid));
  });

  test("deletion removes the definition (Delete) or leaves it (Orphan)", () => {
    for (const policy of ["Delete", "Orphan"] as const) {
      const world = new World();
      const { resource } = converge(world, customRole({ deletionPolicy: policy }));
      const { run } = converge(world, {
        ...resource,
        metadata: { ...resource.metadata, deletionTimestamp: "2026-11-27T11:00:00Z" },
      });
      assert.equal(world.definitions.size, policy === "Delete" ? 0 : 1, policy);
      assert.equal(run.final.deleted, true);
    }
  });
});
