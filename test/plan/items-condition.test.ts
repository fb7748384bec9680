// A detail condition counts the declared items; those no longer declared that azid still removes
// are said apart (after a re-creation, the old principal's grants are removed while the new
// principal's are made).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Reason } from "../../src/api/conditions.js";
import { type ItemOutcome, itemsCondition } from "../../src/plan/conditions.js";

const item = (state: ItemOutcome["state"], message = ""): ItemOutcome =>
  ({ state, reason: Reason.Progressing, message }) as ItemOutcome;

test("itemsCondition counts declared items, and removals apart", () => {
  const cases: Array<[ItemOutcome[], string, string]> = [
    [[], "True", "no role assignments declared"],
    [[item("Ready"), item("Ready")], "True", "2 role assignments as declared"],
    [
      [item("Pending", "grant Reader"), item("Pending"), item("Removing"), item("Removing")],
      "False",
      "2 of 2 role assignments not ready; 2 no longer declared, being removed: grant Reader",
    ],
    [
      [item("Ready"), item("Removing", "revoke Reader of the old principal")],
      "False",
      "1 role assignment as declared; 1 no longer declared, being removed: revoke Reader of the old principal",
    ],
  ];
  for (const [items, status, message] of cases) {
    const condition = itemsCondition("RolesGranted", items, "role assignments");
    assert.equal(condition.status, status, message);
    assert.equal(condition.message, message);
  }
});
