import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as build from "../../src/plan/build.js";
import { bucketFloorSeconds, floorOf } from "../../src/plan/limits.js";
import { identityIdOf, RG } from "./support/world.js";

const owner = { kind: "UserAssignedIdentity" as const, namespace: "a", name: "b" };
const times = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));

describe("ARM bucket floors", () => {
  test("a bucket lets its burst through at once, then refills", () => {
    assert.equal(bucketFloorSeconds(200, { burst: 200, perSecond: 10 }), 0);
    assert.equal(bucketFloorSeconds(300, { burst: 200, perSecond: 10 }), 10);
  });

  test("the plan's floor is its binding bucket's", () => {
    const creates = times(100, (i) => build.createIdentity(owner, identityIdOf(`id-${i}`), "westeurope", {}));
    const floor = floorOf(creates);
    // 100 creates: writes 200/10 allow them at once; identity creation (80 per 20 s) takes (100-80)/4 s.
    assert.equal(floor.seconds, 5);
    assert.deepEqual(
      floor.byClass.map((c) => [c.class, c.calls, c.floorSeconds]),
      [
        ["write", 100, 0],
        ["identityCreate", 100, 5],
      ],
    );
  });

  test("identity creation is bucketed per region", () => {
    const creates = times(100, (i) =>
      build.createIdentity(owner, identityIdOf(`id-${i}`), i % 2 ? "westeurope" : "northeurope", {}),
    );
    assert.equal(floorOf(creates).seconds, 0);
  });

  test("federated credentials are bucketed per identity at 0.25 per second", () => {
    const puts = times(5, (i) =>
      build.putFederatedCredential(owner, identityIdOf("one"), {
        name: `f${i}`,
        issuer: "https://i",
        subject: `s${i}`,
        audiences: ["a"],
      }),
    );
    // One identity: 5 writes through a bucket of 1 refilled every 4 s.
    assert.equal(floorOf(puts).seconds, 16);
  });

  test("writes and deletes are separate buckets", () => {
    const writes = times(300, (i) =>
      build.putRoleAssignment(owner, { scope: RG, name: `n${i}`, roleDefinitionId: "r", principalId: "p" }),
    );
    const deletes = times(300, (i) =>
      build.deleteRoleAssignment(owner, { id: `${RG}/x/${i}`, scope: RG, principalId: "p" }, "cleanup"),
    );
    const floor = floorOf([...writes, ...deletes]);
    assert.equal(floor.seconds, 10);
    assert.deepEqual(floor.byClass.map((c) => c.class).sort(), ["delete", "write"]);
  });
});
