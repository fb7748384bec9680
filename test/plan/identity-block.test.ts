import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  attachChange,
  changeFor,
  detachChange,
  disableSystemChange,
  enableSystemChange,
  hasUserAssigned,
  lacksDefaultIdentity,
} from "../../src/plan/identity-block.js";
import type { ResourceIdentity } from "../../src/plan/observed.js";

const A = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a";
const B = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/b";
const system: ResourceIdentity = { type: "SystemAssigned", principalId: "p", tenantId: "t" };

describe("identity block changes", () => {
  const cases: Array<{
    name: string;
    change: () => ReturnType<typeof attachChange>;
    identity: ReturnType<typeof attachChange>["identity"];
    expectedType: string;
  }> = [
    {
      name: "attach to a resource without identity",
      change: () => attachChange(undefined, A),
      identity: { type: "UserAssigned", userAssignedIdentities: { [A]: {} } },
      expectedType: "UserAssigned",
    },
    {
      name: "attach next to a system-assigned identity keeps it",
      change: () => attachChange(system, A),
      identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [A]: {} } },
      expectedType: "SystemAssigned, UserAssigned",
    },
    {
      name: "attach next to another user-assigned identity sends only the new one",
      change: () => attachChange({ type: "UserAssigned", userAssignedIdentities: { [B]: {} } }, A),
      identity: { type: "UserAssigned", userAssignedIdentities: { [A]: {} } },
      expectedType: "UserAssigned",
    },
    {
      name: "detach one of two sends null for it",
      change: () =>
        detachChange({ type: "UserAssigned", userAssignedIdentities: { [A]: {}, [B]: {} } }, A.toUpperCase()),
      identity: { type: "UserAssigned", userAssignedIdentities: { [A.toUpperCase()]: null } },
      expectedType: "UserAssigned",
    },
    {
      name: "detach the last one with a system-assigned identity: type SystemAssigned",
      change: () =>
        detachChange(
          { ...system, type: "SystemAssigned,UserAssigned", userAssignedIdentities: { [A]: {} } },
          A,
        ),
      identity: { type: "SystemAssigned" },
      expectedType: "SystemAssigned",
    },
    {
      name: "detach the last one alone: type None",
      change: () => detachChange({ type: "UserAssigned", userAssignedIdentities: { [A]: {} } }, A),
      identity: { type: "None" },
      expectedType: "None",
    },
    {
      name: "enable system-assigned keeps user-assigned identities",
      change: () => enableSystemChange({ type: "UserAssigned", userAssignedIdentities: { [A]: {} } }),
      identity: { type: "SystemAssigned, UserAssigned" },
      expectedType: "SystemAssigned, UserAssigned",
    },
    {
      name: "disable system-assigned keeps user-assigned identities",
      change: () =>
        disableSystemChange({
          ...system,
          type: "SystemAssigned, UserAssigned",
          userAssignedIdentities: { [A]: {} },
        }),
      identity: { type: "UserAssigned" },
      expectedType: "UserAssigned",
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const change = c.change();
      assert.deepEqual(change.identity, c.identity);
      assert.equal(change.expected.type, c.expectedType);
    });
  }

  test("ids compare ignoring case", () => {
    assert.ok(
      hasUserAssigned({ type: "UserAssigned", userAssignedIdentities: { [A.toUpperCase()]: {} } }, A),
    );
    assert.ok(
      !hasUserAssigned({ type: "None", userAssignedIdentities: { [A]: {} } }, A),
      "type None means none",
    );
  });

  test("IMDS has no default identity with several user-assigned identities and no system-assigned one", () => {
    assert.ok(lacksDefaultIdentity({ type: "UserAssigned", userAssignedIdentities: { [A]: {}, [B]: {} } }));
    assert.ok(!lacksDefaultIdentity({ type: "UserAssigned", userAssignedIdentities: { [A]: {} } }));
    assert.ok(
      !lacksDefaultIdentity({
        ...system,
        type: "SystemAssigned, UserAssigned",
        userAssignedIdentities: { [A]: {}, [B]: {} },
      }),
    );
  });
});

describe("a PATCH's intent rebased on the block as it is now", () => {
  const both: ResourceIdentity = { type: "UserAssigned", userAssignedIdentities: { [A]: {}, [B]: {} } };

  test("detaching A when B arrived since keeps B (no type None)", () => {
    const planned = detachChange({ type: "UserAssigned", userAssignedIdentities: { [A]: {} } }, A);
    assert.deepEqual(planned.identity, { type: "None" }, "planned from the old read, it would remove B too");
    const rebased = changeFor(planned.intent, both);
    assert.deepEqual(rebased?.identity, { type: "UserAssigned", userAssignedIdentities: { [A]: null } });
  });

  test("an intent already met needs no PATCH", () => {
    assert.equal(changeFor({ attach: A }, both), undefined);
    assert.equal(
      changeFor({ detach: A }, { type: "UserAssigned", userAssignedIdentities: { [B]: {} } }),
      undefined,
    );
    assert.equal(changeFor({ systemAssigned: true }, system), undefined);
  });

  test("turning the system-assigned identity off keeps the user-assigned ones attached since", () => {
    const rebased = changeFor({ systemAssigned: false }, { ...both, type: "SystemAssigned, UserAssigned" });
    assert.deepEqual(rebased?.identity, { type: "UserAssigned" });
    assert.deepEqual(Object.keys(rebased?.expected.userAssignedIdentities ?? {}), [A, B]);
  });

  test("every change says what it is for", () => {
    assert.deepEqual(attachChange(undefined, A).intent, { attach: A });
    assert.deepEqual(detachChange(both, B).intent, { detach: B });
    assert.deepEqual(enableSystemChange(undefined).intent, { systemAssigned: true });
    assert.deepEqual(disableSystemChange(system).intent, { systemAssigned: false });
  });
});
